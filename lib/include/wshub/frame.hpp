// Server-to-client WebSocket frames (RFC 6455 section 5.2): unmasked, so the bytes of a broadcast
// are the same for every receiver and are encoded once.
#pragma once

#include "wshub/message.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wshub {

enum class opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA
};

// RFC 6455 section 7.4.1 codes wshub sends.
enum class close_status : std::uint16_t {
    normal = 1000,
    going_away = 1001,
    protocol_error = 1002,
    bad_payload = 1007,
    policy_violation = 1008,
    too_big = 1009,
    // wshub's own, in the range for applications (4000-4999, RFC 6455 section 7.4.2):
    token_expired = 4001, // the JWT the session was admitted with has expired
    disconnected = 4002,  // POST /api/disconnect closed the user's connections
};

// Bytes of the header of an unmasked frame carrying `payload_size` bytes.
constexpr std::size_t frame_header_size(std::size_t payload_size) noexcept {
    return payload_size < 126 ? 2 : payload_size <= 0xFFFF ? 4 : 10;
}

// Appends one final (FIN) unmasked frame to `out`; `compressed` sets RSV1, which marks the
// payload as compressed with permessage-deflate (RFC 7692 section 6).
void append_frame(std::string& out, opcode op, std::string_view payload, bool compressed = false);

inline opcode opcode_for(payload_kind k) noexcept {
    return k == payload_kind::text ? opcode::text : opcode::binary;
}

// Frames encoded once by the sender and shared, read-only, by every client's queue.
struct frame_batch {
    std::string bytes; // whole frames, back to back, in the hub's order
    // One per message: where its frame is in `bytes`, its numbers, and whom it is for.
    struct frame {
        std::size_t begin = 0;
        std::size_t size = 0;
        std::uint8_t header = 0; // bytes of frame header before the payload
        payload_kind kind = payload_kind::text;
        std::uint64_t order = 0; // the hub's number, across every stream
        std::uint64_t seq = 0;   // its number in its stream (target.channel's, or the all-clients one)
        message_target target;
        std::string_view payload(const std::string& in) const noexcept {
            return std::string_view(in).substr(begin + header, size - header);
        }
    };
    std::vector<frame> frames;
    // No message names users or a channel: the batch goes out as one run of bytes to everyone.
    bool for_everyone = true;
    // From the Redis bus: the epoch of the numbering (empty when this node numbers alone), and
    // right after a subscription every stream's last seq ("*" the all-clients stream).
    std::string epoch;
    std::vector<std::pair<std::string, std::uint64_t>> positions;
    // The messages were delivered before: Redis's history of each stream, which a node that
    // adopts the epoch records (shard.cpp); nobody receives them now.
    bool from_history = false;
    // When the sender numbered it: how old its messages are, for the history's --history-ttl.
    std::chrono::steady_clock::time_point numbered_at;
    // When set (some message's publisher waits for the answer), each message's count of the
    // connections it was queued to, added up by the shards in parallel.
    std::unique_ptr<std::atomic<std::size_t>[]> delivered;

    // The same messages as JSON envelopes ({"seq","channel","data"}, envelope.hpp), for the
    // clients that asked for them: encoded once, by the first shard that needs them, and then
    // shared like `bytes`. `ranges[i]` is message i's frame in `bytes`, as begin and size.
    struct enveloped {
        std::string bytes;
        std::vector<std::pair<std::size_t, std::size_t>> ranges;
    };
    const enveloped& envelope() const;

    // The same messages (raw, or as envelopes when `as_envelope`) for the clients that negotiated
    // permessage-deflate (permessage_deflate.hpp): each message of at least `min_size` bytes in a
    // frame with RSV1 and its payload compressed on its own (server_no_context_takeover), so
    // this one copy is right for every such client; smaller ones, and those that deflate does
    // not shrink, as they are. Built once, by the first shard that needs it (with its thread's
    // deflater); `min_size` must be the same on every call (it is --compression-min-size).
    const enveloped& deflated(bool as_envelope, std::size_t min_size) const;

  private:
    mutable std::once_flag envelope_once_;
    mutable enveloped envelope_;
    mutable std::array<std::once_flag, 2> deflated_once_; // [as_envelope]
    mutable std::array<enveloped, 2> deflated_;
};
using frame_batch_ptr = std::shared_ptr<const frame_batch>;

} // namespace wshub

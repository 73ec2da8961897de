// Server-to-client WebSocket frames (RFC 6455 section 5.2): unmasked, so the bytes of a broadcast
// are the same for every receiver and are encoded once.
#pragma once

#include "wshub/message.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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

// Appends one final (FIN) unmasked frame to `out`.
void append_frame(std::string& out, opcode op, std::string_view payload);

inline opcode opcode_for(payload_kind k) noexcept {
    return k == payload_kind::text ? opcode::text : opcode::binary;
}

// Frames encoded once by the sender and shared, read-only, by every client's queue.
struct frame_batch {
    std::string bytes; // whole frames, back to back, in seq order
    // Each message's frame in `bytes` and whom it is for; empty when every message in the batch
    // is for everyone, so that a broadcast goes out as one run of bytes per client.
    struct routed_frame {
        std::size_t begin = 0;
        std::size_t size = 0;
        std::uint64_t seq = 0;
        message_target target;
    };
    std::vector<routed_frame> routed;
    std::size_t messages = 0;
    std::uint64_t last_seq = 0; // seq of the last message in the batch
    // When set (some message's publisher waits for the answer), each message's count of the
    // connections it was queued to, added up by the shards in parallel.
    std::unique_ptr<std::atomic<std::size_t>[]> delivered;
};
using frame_batch_ptr = std::shared_ptr<const frame_batch>;

} // namespace wshub

// What one shard keeps of every stream for recovery (since=): the last --history-size messages of
// each stream, at most --history-bytes of them, none older than --history-ttl, as references into the batches
// they came in (the bytes are the ones the clients' queues share, not copies). Each shard keeps its own and
// only its thread touches it, so a connection's join point is exact: where its shard's history stood when it
// joined, between two batches.
#pragma once

#include "wshub/frame.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wshub {

class stream_history {
  public:
    // Each stream keeps at most `size` messages and `bytes` bytes of frames (0: nothing, every
    // resume is a gap), none older than `ttl`.
    stream_history(std::size_t size, std::size_t bytes, std::chrono::seconds ttl);

    // A stretch of a stream that never reached this node (the Redis bus was down, or the node
    // had just subscribed): the messages after `since` and before `next`.
    struct hole {
        std::string channel;
        std::uint64_t since = 0;
        std::uint64_t next = 0;
    };

    // Records the batch's messages in their streams (the shard's thread, as it delivers them).
    // A stream whose numbers jump (only with the bus) loses what it kept (a replay across the
    // hole would skip it silently); the jump is added to `holes`.
    void record(const frame_batch_ptr& batch, std::vector<hole>* holes = nullptr);

    // Redis says the stream's last seq is `seq`: those after ours never reached this node (a
    // hole, added to `holes` when given).
    void advance(std::string_view channel, std::uint64_t seq, std::vector<hole>* holes);

    // Forgets every stream: a new numbering (epoch) begins.
    void clear();

    // The last seq of a stream ("" is the all-clients stream); 0 before its first message.
    std::uint64_t last(std::string_view channel) const noexcept;

    // One kept message: message `index` of `batch`.
    struct kept {
        frame_batch_ptr batch;
        std::size_t index = 0;
        const frame_batch::frame& frame() const noexcept { return batch->frames[index]; }
    };
    // Whether the stream still holds every message after a position, and the first seq it holds.
    struct coverage {
        bool covered = true;
        std::uint64_t oldest = 0; // the first seq kept (last + 1 when none is)
    };
    // Appends to `out` what the stream keeps after `since`, as of `now`, in order. Not covered
    // when a message after `since` is gone, or `since` is past the last seq: `out` then gets all
    // that is kept.
    coverage after(std::string_view channel, std::uint64_t since, std::chrono::steady_clock::time_point now,
                   std::vector<kept>& out);

    // Drops what is older than the ttl from every stream (the shard's periodic sweep).
    void expire(std::chrono::steady_clock::time_point now);

  private:
    struct stream {
        std::deque<kept> messages;
        std::uint64_t last = 0;
        std::uint64_t dropped_through = 0; // the last seq no longer kept
        std::size_t bytes = 0;             // of the kept messages' frames
    };
    static void drop_oldest(stream& s);
    stream& stream_of(std::string_view channel);
    static void skip_to(stream& s, std::string_view channel, std::uint64_t last, std::uint64_t next,
                        std::vector<hole>* holes);
    void drop_expired(stream& s, std::chrono::steady_clock::time_point now);

    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::size_t size_;
    std::size_t bytes_;
    std::chrono::steady_clock::duration ttl_;
    stream all_clients_;
    // A channel's stream stays once it has had a message: its last seq is the join point of every
    // later subscriber.
    std::unordered_map<std::string, stream, hash, std::equal_to<>> channels_;
};

} // namespace wshub

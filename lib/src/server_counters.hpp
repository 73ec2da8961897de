// What the server counts for GET /metrics. Whatever the fan-out or a client's I/O adds to is kept
// per shard (written by that shard's thread only), so those paths take no shared cache line; a
// scrape sums the shards, never walks the connections.
#pragma once

#include "wshub/disconnect_reason.hpp"
#include "wshub/metrics.hpp"
#include "wshub/metrics_counters.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wshub {

// One shard's counters, on a cache line of their own; only the shard's thread writes them.
struct alignas(64) shard_counters {
    owned_counter messages_in;  // messages its clients sent
    owned_counter bytes_in;     // bytes read from its clients' sockets
    owned_counter messages_out; // messages handed to its clients, one per recipient (per batch)
    owned_counter bytes_out;    // bytes written to its clients' sockets
    owned_counter queued_bytes; // a gauge: bytes in its clients' outboxes
};

struct server_counters {
    explicit server_counters(std::size_t shards)
        : per_shard(shards) {}

    std::atomic<std::size_t> sessions{0};            // open WebSocket sessions
    std::atomic<std::uint64_t> connects{0};          // sessions opened
    std::atomic<std::uint64_t> overflow_closes{0};   // clients closed for a full outbox
    std::atomic<std::uint64_t> rate_limit_closes{0}; // clients closed for sending too much
    std::atomic<std::uint64_t> idle_closes{0};       // clients dropped after --idle-timeout
    std::array<std::atomic<std::uint64_t>, disconnect_reason_count> disconnects{}; // by reason
    api_request_counts api_requests;
    alignas(64) latency_histogram fan_out_latency; // written by the hub's sender only
    std::vector<shard_counters> per_shard;         // indexed by shard::index()

    void count_disconnect(disconnect_reason why) noexcept {
        disconnects[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
    }

    // Every counter, read now. Any thread.
    metrics_snapshot snapshot() const;
};

} // namespace wshub

// What every shard and session of one server shares: the configuration, the hub, and counters.
#pragma once

#include "wshub/config.hpp"

#include <atomic>
#include <cstdint>
#include <functional>

namespace wshub {

class hub;

struct server_counters {
    std::atomic<std::size_t> sessions{0};            // open WebSocket sessions
    std::atomic<std::uint64_t> sessions_total{0};    // accepted since start
    std::atomic<std::uint64_t> messages_in{0};       // messages clients sent
    std::atomic<std::uint64_t> overflow_closes{0};   // clients closed for a full outbox
    std::atomic<std::uint64_t> rejected_upgrades{0}; // 4xx answers to /im
};

struct server_state {
    explicit server_state(config c)
        : cfg(std::move(c)) {}

    const config cfg;
    hub* the_hub = nullptr;
    server_counters counters;
    // Called (from any shard thread) when the last open session ends; set during shutdown.
    std::function<void()> on_all_sessions_closed;
};

} // namespace wshub

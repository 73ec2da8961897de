// The server's counters as Prometheus text (exposition format 0.0.4): what GET /metrics answers.
// Names carry the wshub_ prefix, counters end in _total, and no label names a user or a
// connection, so a scrape costs the same at 100,000 connections as at ten.
#pragma once

#include <cstdint>
#include <string>

namespace wshub {

struct metrics_snapshot {
    std::uint64_t connections = 0;       // open WebSocket sessions
    std::uint64_t messages_received = 0; // messages clients sent
    // Sessions the server closed, by reason.
    std::uint64_t slow_consumer_closes = 0;
    std::uint64_t rate_limit_closes = 0;
    std::uint64_t idle_closes = 0;
};

std::string prometheus_text(const metrics_snapshot& m);

} // namespace wshub

// The server's counters as Prometheus text (exposition format 0.0.4): what GET /metrics answers.
// Names carry the wshub_ prefix, counters end in _total, units are base units (bytes, seconds),
// and no label names a user or a connection, so a scrape costs the same at 100,000 connections
// as at ten. The families and their labels are listed in README.md ("Metrics").
#pragma once

#include "wshub/disconnect_reason.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wshub {

struct histogram_snapshot {
    std::vector<double> bounds;        // the buckets' upper bounds (le), ascending
    std::vector<std::uint64_t> counts; // per bucket, not cumulative; the last is over every bound
    double sum = 0;
};

// wshub_api_requests_total{endpoint, status}.
struct api_request_sample {
    std::string_view endpoint; // "publish", "disconnect", "presence", "unknown"
    std::string status;        // "200", "401", ..., "other"
    std::uint64_t count = 0;
};

struct metrics_snapshot {
    std::uint64_t connections = 0;                                    // open WebSocket connections
    std::uint64_t connects = 0;                                       // WebSocket connections opened
    std::array<std::uint64_t, disconnect_reason_count> disconnects{}; // by disconnect_reason
    std::uint64_t messages_received = 0;                              // messages clients sent
    std::uint64_t received_bytes = 0;                                 // bytes read from clients' connections
    std::uint64_t messages_sent = 0; // messages handed to clients, one per recipient
    std::uint64_t sent_bytes = 0;    // bytes written to clients' sockets
    std::uint64_t queued_bytes = 0;  // bytes waiting in clients' outbound queues
    std::vector<api_request_sample> api_requests;
    // Sessions the server closed, by reason, counted when it decides to close them.
    std::uint64_t slow_consumer_closes = 0;
    std::uint64_t rate_limit_closes = 0;
    std::uint64_t idle_closes = 0;
    histogram_snapshot fan_out_latency; // seconds
    // With --redis: whether the bus works (subscribed, and the last publish went through), and
    // how often a Redis connection was lost.
    struct bus_state {
        bool up = false;
        std::uint64_t connections_lost = 0;
    };
    std::optional<bus_state> bus;
};

std::string prometheus_text(const metrics_snapshot& m);

} // namespace wshub

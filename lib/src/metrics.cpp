#include "wshub/metrics.hpp"

#include <fmt/format.h>
#include <iterator>

namespace wshub {

namespace {

class exposition {
  public:
    // Every family starts with its HELP and TYPE lines.
    void family(std::string_view name, std::string_view type, std::string_view help) {
        fmt::format_to(out(), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    void sample(std::string_view name, std::uint64_t value) { fmt::format_to(out(), "{} {}\n", name, value); }
    void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
        fmt::format_to(out(), "{}{{{}}} {}\n", name, labels, value);
    }
    void counter(std::string_view name, std::string_view help, std::uint64_t value) {
        family(name, "counter", help);
        sample(name, value);
    }
    void gauge(std::string_view name, std::string_view help, std::uint64_t value) {
        family(name, "gauge", help);
        sample(name, value);
    }
    // Cumulative buckets ending at +Inf, then _sum and _count (the +Inf bucket's count).
    void histogram(std::string_view name, std::string_view help, const histogram_snapshot& h) {
        family(name, "histogram", help);
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.bounds.size(); ++i) {
            cumulative += i < h.counts.size() ? h.counts[i] : 0;
            fmt::format_to(out(), "{}_bucket{{le=\"{}\"}} {}\n", name, h.bounds[i], cumulative);
        }
        for (std::size_t i = h.bounds.size(); i < h.counts.size(); ++i)
            cumulative += h.counts[i];
        fmt::format_to(out(), "{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
        fmt::format_to(out(), "{}_sum {}\n", name, h.sum);
        fmt::format_to(out(), "{}_count {}\n", name, cumulative);
    }

    std::string take() { return std::move(text_); }

  private:
    std::back_insert_iterator<std::string> out() { return std::back_inserter(text_); }
    std::string text_;
};

} // namespace

std::string prometheus_text(const metrics_snapshot& m) {
    exposition e;
    e.gauge("wshub_connections", "Open WebSocket connections.", m.connections);
    e.counter("wshub_connects_total", "WebSocket connections opened (upgrades accepted).", m.connects);

    e.family("wshub_disconnects_total", "counter",
             "WebSocket connections ended, by reason: client_close, client_gone (end of file or reset "
             "without a close frame), protocol_error, slow_consumer, rate_limit, idle, token_expired, "
             "disconnected (POST /api/disconnect), shutdown, write_error, server_error.");
    for (std::size_t i = 0; i < disconnect_reason_count; ++i)
        e.sample("wshub_disconnects_total",
                 fmt::format("reason=\"{}\"", label_of(static_cast<disconnect_reason>(i))), m.disconnects[i]);

    e.counter("wshub_messages_received_total", "Messages received from clients.", m.messages_received);
    e.counter("wshub_received_bytes_total",
              "Bytes read from clients' WebSocket connections (frames as sent, headers included).",
              m.received_bytes);
    e.counter("wshub_messages_sent_total",
              "Messages handed to clients (written to the socket or queued), one per recipient.",
              m.messages_sent);
    e.counter("wshub_sent_bytes_total",
              "Bytes written to clients' sockets: frames, control frames and the handshake's response.",
              m.sent_bytes);
    e.gauge("wshub_queued_bytes", "Bytes waiting in clients' outbound queues, summed over all clients.",
            m.queued_bytes);

    e.family("wshub_api_requests_total", "counter",
             "Calls of the HTTP API (/api/*) by endpoint and answered status, refusals included.");
    for (const auto& r : m.api_requests)
        e.sample("wshub_api_requests_total",
                 fmt::format("endpoint=\"{}\",status=\"{}\"", r.endpoint, r.status), r.count);

    e.family("wshub_server_closes_total", "counter",
             "Connections the server decided to close, by reason: slow_consumer, rate_limit, idle.");
    e.sample("wshub_server_closes_total", "reason=\"slow_consumer\"", m.slow_consumer_closes);
    e.sample("wshub_server_closes_total", "reason=\"rate_limit\"", m.rate_limit_closes);
    e.sample("wshub_server_closes_total", "reason=\"idle\"", m.idle_closes);
    if (m.bus) {
        e.gauge("wshub_bus_up", "1 while the Redis bus works (subscribed, last publish through), else 0.",
                m.bus->up ? 1 : 0);
        e.counter("wshub_bus_connections_lost_total",
                  "Redis connections of the bus that failed or were lost.", m.bus->connections_lost);
    }

    e.histogram("wshub_fan_out_latency_seconds",
                "Seconds from when a message was handed to the hub (a wait for room in a full inbox "
                "included) to when the fan-out of its batch had handed it to every recipient's socket or "
                "outbound queue, on every shard. With --redis, this node's own messages only, the trip "
                "through Redis included.",
                m.fan_out_latency);
    return e.take();
}

} // namespace wshub

#include "server_counters.hpp"

namespace wshub {

metrics_snapshot server_counters::snapshot() const {
    metrics_snapshot m;
    m.connections = sessions.load(std::memory_order_relaxed);
    m.connects = connects.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < disconnects.size(); ++i)
        m.disconnects[i] = disconnects[i].load(std::memory_order_relaxed);
    for (const auto& s : per_shard) {
        m.messages_received += s.messages_in.value();
        m.received_bytes += s.bytes_in.value();
        m.messages_sent += s.messages_out.value();
        m.sent_bytes += s.bytes_out.value();
        m.queued_bytes += s.queued_bytes.value();
    }
    m.api_requests = api_requests.snapshot();
    m.slow_consumer_closes = overflow_closes.load(std::memory_order_relaxed);
    m.rate_limit_closes = rate_limit_closes.load(std::memory_order_relaxed);
    m.idle_closes = idle_closes.load(std::memory_order_relaxed);
    m.fan_out_latency = fan_out_latency.snapshot();
    return m;
}

} // namespace wshub

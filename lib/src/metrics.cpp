#include "wshub/metrics.hpp"

#include <fmt/format.h>

namespace wshub {

std::string prometheus_text(const metrics_snapshot& m) {
    std::string out;
    auto family = [&out](std::string_view name, std::string_view type, std::string_view help) {
        fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    family("wshub_connections", "gauge", "Open WebSocket connections.");
    fmt::format_to(std::back_inserter(out), "wshub_connections {}\n", m.connections);
    family("wshub_messages_received_total", "counter", "Messages received from clients.");
    fmt::format_to(std::back_inserter(out), "wshub_messages_received_total {}\n", m.messages_received);
    family("wshub_server_closes_total", "counter", "Connections the server closed, by reason.");
    fmt::format_to(std::back_inserter(out),
                   "wshub_server_closes_total{{reason=\"slow_consumer\"}} {}\n"
                   "wshub_server_closes_total{{reason=\"rate_limit\"}} {}\n"
                   "wshub_server_closes_total{{reason=\"idle\"}} {}\n",
                   m.slow_consumer_closes, m.rate_limit_closes, m.idle_closes);
    return out;
}

} // namespace wshub

// Why a WebSocket connection ended, as a small fixed set: the reason label of
// wshub_disconnects_total. connection_state derives it from who closed the connection and how.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wshub {

enum class disconnect_reason : std::uint8_t {
    client_close,   // the client's close frame came first
    client_gone,    // the client's end of file or a reset, without a close frame
    protocol_error, // the client broke the protocol (we closed with 1002, 1007 or 1009)
    slow_consumer,  // its outbound queue overflowed (1008)
    rate_limit,     // it sent more than its rate limits allow (1008)
    idle,           // it stayed silent past --idle-timeout
    token_expired,  // its token expired (4001)
    disconnected,   // POST /api/disconnect closed it (4002)
    shutdown,       // the server's drain (1001)
    write_error,    // a write to its socket failed
    server_error,   // the server closed its socket at once after an error
};

inline constexpr std::size_t disconnect_reason_count = 11;

// The label value, as it appears in /metrics.
constexpr std::string_view label_of(disconnect_reason r) noexcept {
    constexpr std::array<std::string_view, disconnect_reason_count> labels{
        "client_close",  "client_gone",  "protocol_error", "slow_consumer", "rate_limit",  "idle",
        "token_expired", "disconnected", "shutdown",       "write_error",   "server_error"};
    return labels[static_cast<std::size_t>(r)];
}

} // namespace wshub

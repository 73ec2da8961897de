// The server's side of the WebSocket opening handshake (RFC 6455 section 4.2), without I/O: checks
// the Sec-WebSocket-* fields of an upgrade request and writes the 101 response.
#pragma once

#include "wshub/http_routes.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace wshub {

// The request fields the handshake depends on (method, HTTP version, Upgrade and Connection were
// already checked by route()).
struct websocket_handshake_request {
    bool has_host = false;
    std::string_view key;     // Sec-WebSocket-Key
    std::string_view version; // Sec-WebSocket-Version
};

// The 101 response completing the handshake, or why the request is refused: 400 for a missing
// field, 426 (with "Sec-WebSocket-Version: 13") for a version other than 13.
std::variant<std::string, http_reply> accept_websocket_handshake(const websocket_handshake_request& req);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string websocket_accept_key(std::string_view key);

} // namespace wshub

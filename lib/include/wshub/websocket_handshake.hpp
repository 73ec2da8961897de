// The server's side of the WebSocket opening handshake (RFC 6455 section 4.2), without I/O: checks
// the Sec-WebSocket-* fields of an upgrade request and writes the 101 response.
#pragma once

#include "wshub/envelope.hpp"
#include "wshub/http_routes.hpp"

#include <array>
#include <boost/beast/http/message.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace wshub {

// The subprotocols (Sec-WebSocket-Protocol) wshub speaks, most preferred first: wshub.json, the
// JSON envelope. A client that offers only others is refused, since a 101 that names none of
// them fails its handshake anyway.
inline constexpr std::array<std::string_view, 1> supported_subprotocols{envelope_subprotocol};

// The request fields the handshake depends on (method, HTTP version, Upgrade and Connection were
// already checked by route()).
struct websocket_handshake_request {
    bool has_host = false;
    std::string_view key;     // Sec-WebSocket-Key
    std::string_view version; // Sec-WebSocket-Version
    // The Sec-WebSocket-Protocol values of every line of the field, joined by commas; empty when
    // the client offers none.
    std::string offered_subprotocols;
    // The Sec-WebSocket-Extensions values, joined the same way (permessage_deflate.hpp reads them).
    std::string offered_extensions{};
    // When permessage-deflate was negotiated, the 101's Sec-WebSocket-Extensions
    // (permessage_deflate_answer); empty otherwise.
    std::string_view permessage_deflate{};
};

// The handshake's fields of an HTTP request.
websocket_handshake_request websocket_handshake_fields(const boost::beast::http::request_header<>& req);

// Whether the request asks for a WebSocket upgrade: an HTTP/1.1 GET whose Connection lists
// "upgrade" and whose Upgrade lists "websocket", without regard to case. A field's values are one
// comma-separated list across all its lines (RFC 9110 section 5.3): "Connection: keep-alive" and
// "Connection: Upgrade" on two lines ask for the upgrade.
bool is_websocket_upgrade(const boost::beast::http::request_header<>& req);

// Whether `key` is the base64 encoding of 16 bytes, as RFC 6455 section 4.1 requires: 24
// characters, the last two "==".
bool is_valid_websocket_key(std::string_view key);

// The first subprotocol the client offers (a comma-separated list) that is in `supported`;
// nothing when none is.
std::optional<std::string_view> select_subprotocol(std::string_view offered,
                                                   std::span<const std::string_view> supported);

// The 101 response completing the handshake, or why the request is refused: 400 for a missing or
// malformed field or when the client offers only subprotocols outside `supported`, 426 (with
// "Sec-WebSocket-Version: 13") for a version other than 13. The 101 names the subprotocol chosen,
// and permessage-deflate when `req.permessage_deflate` is not empty.
std::variant<std::string, http_reply>
accept_websocket_handshake(const websocket_handshake_request& req,
                           std::span<const std::string_view> supported = supported_subprotocols);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string websocket_accept_key(std::string_view key);

} // namespace wshub

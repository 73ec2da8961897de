// Admission: the checks between a routed upgrade request and a session (handshake fields, origin,
// token, connection limits), as a function of the request and the server's policy. No I/O: the
// peer address and the time are passed in, so every refusal is testable without a socket.
#pragma once

#include "wshub/auth.hpp"
#include "wshub/connection_limits.hpp"
#include "wshub/http_routes.hpp"
#include "wshub/origin_policy.hpp"
#include "wshub/upgrade_rate_limit.hpp"

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace wshub {

// The header fields of an upgrade request that admission reads (route() already read the target),
// and the address the client is counted under. Empty views stand for missing fields.
struct upgrade_fields {
    bool has_host = false;
    std::string_view sec_websocket_key;
    std::string_view sec_websocket_version;
    std::string_view origin;
    std::string_view authorization;
    boost::asio::ip::address peer;    // the client's address (behind a trusted proxy, the forwarded one)
    std::string offered_subprotocols; // Sec-WebSocket-Protocol, all its lines joined by commas
    std::string offered_extensions{}; // Sec-WebSocket-Extensions, the same way
};

// What admission consults: the server's policy and its shared connection counters.
struct admission_policy {
    const origin_policy& origins;
    const jwt_verifier* jwt = nullptr; // null: no authentication
    connection_limits& limits;
    // Upgrades per second per address, counted for upgrades with a token to check (null: none).
    upgrade_rate_limit* upgrade_rate = nullptr;
    // --compression on: an acceptable permessage-deflate offer is accepted.
    bool compression = false;
};

// An admitted upgrade: the session's user, the connection slot it holds, the 101 to send, and
// when its token expires.
struct admission {
    std::string user_id;
    connection_limits::slot slot;
    std::string handshake_response;
    // With a token: Unix seconds after which the session must end (exp plus the leeway).
    std::optional<std::int64_t> valid_until;
    std::vector<std::string> channels;        // what it subscribes to, from the route
    bool envelope = false;                    // envelope=json, or the subprotocol wshub.json
    std::optional<resume_positions> resume{}; // since= and epoch=
    bool permessage_deflate = false;          // negotiated: the 101 says so
};

// Cheapest refusal first: the handshake's fields (400, 426), origin (403), with authentication the
// address's upgrade rate (429, before any signature is checked), token (401, or 403 when the URL
// names another user than the token's subject), then a connection slot (503; 429 when the user
// already has --max-connections-per-user sessions). `now_unix` is the time tokens are checked
// against, `now` the time the upgrade rate is counted at.
std::variant<admission, http_reply> admit(const admission_policy& policy, upgrade_request upgrade,
                                          const upgrade_fields& fields, std::int64_t now_unix,
                                          upgrade_rate_limit::time_point now = {});

// The 503 for a connection over the limits on connections that have not upgraded
// (--max-http-connections, --max-http-connections-per-ip).
http_reply refuse_http_connection(connection_limits::refusal why);

} // namespace wshub

// Decides what an HTTP request gets, from its method, target and upgrade headers alone (no I/O),
// so every path and error reason is testable without a socket.
#pragma once

#include "wshub/resume_positions.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace wshub {

struct http_request_view {
    std::string_view method;         // "GET", ...
    std::string_view target;         // origin-form, e.g. "/im?user_id=7"
    bool websocket_upgrade = false;  // Connection: upgrade + Upgrade: websocket
    bool user_id_from_token = false; // authentication is on: user_id may be omitted
    bool draining = false;           // the shutdown has begun: /readyz answers 503
    bool bus_down = false;           // Redis is unreachable: /readyz answers 503
};

// Answer the request with this status and a one-line plain-text body.
struct http_reply {
    unsigned status = 200;
    std::string body;
    bool upgrade_required = false;  // add "Upgrade: websocket" (426)
    bool allow_get = false;         // add "Allow: GET" (405)
    bool bearer_challenge = false;  // add "WWW-Authenticate: Bearer" (401)
    bool websocket_version = false; // add "Sec-WebSocket-Version: 13" (426)
    bool allow_post = false;        // add "Allow: POST" (405)
    bool json = false;              // the body is JSON (the API's answers)
    bool prometheus = false;        // the body is Prometheus text (/metrics)
    // A file of the binary's (the demo page, the JavaScript client): its content type, and
    // "Cache-Control: no-cache" so that a browser revalidates it after an upgrade of wshub.
    std::string_view static_content_type{};
};

// An upgrade request to /im for this user, still to pass admission (handshake, origin, token, limits).
struct upgrade_request {
    std::string user_id;                      // empty only when user_id_from_token
    std::string token;                        // the decoded token= parameter, if any
    std::vector<std::string> channels;        // from channels=a,b: validated, without duplicates
    bool envelope = false;                    // envelope=json: messages as JSON with their seq
    std::optional<resume_positions> resume{}; // since= (and epoch=): replay what the client missed
};

// At most this many channels in one connection's channels= parameter.
inline constexpr std::size_t max_channels_per_connection = 64;

// A call of the publish API, still to pass its bearer-token check; POST calls carry a JSON body.
struct api_call {
    enum class endpoint { publish, disconnect, presence } what;
    std::string channel; // presence: the channel= parameter, if any
};

// GET /metrics: the server's counters, which only the server has.
struct metrics_scrape {};

using route_decision = std::variant<http_reply, upgrade_request, api_call, metrics_scrape>;

route_decision route(const http_request_view& req);

// What a request's header says of its framing, checked before its body is read.
struct http_request_framing {
    unsigned version = 11;       // 10 or 11
    std::size_t host_fields = 0; // how many Host fields it has
    bool transfer_encoding = false;
    std::string_view transfer_codings; // the Transfer-Encoding fields' values, joined with ","
};

// RFC 9112: an HTTP/1.1 request has exactly one Host field (section 3.2), and a body's length is
// known only when its transfer codings end with chunked, applied once, in HTTP/1.1 (section 6).
// The answer to a request that breaks these (it ends the connection), or nothing.
std::optional<http_reply> check_request_framing(const http_request_framing& r);

// A refusal of the API: `status` with {"error": "<reason>"} as its JSON body.
http_reply api_error_reply(unsigned status, std::string_view reason);

} // namespace wshub

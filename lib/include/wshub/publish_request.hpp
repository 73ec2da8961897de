// The bodies of the publish API (POST /api/publish, POST /api/disconnect) as values: parsed and
// checked without I/O, so every 400 and 413 and its reason is testable without a socket.
#pragma once

#include "wshub/message.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace wshub {

// A refusal: the HTTP status and the one-line reason that goes out as {"error": reason}.
struct api_error {
    unsigned status = 400;
    std::string reason;
};

struct publish_item {
    payload_kind kind = payload_kind::text;
    std::string payload; // decoded: base64 undone for binary items
    message_target target;
};

struct publish_request {
    std::vector<publish_item> items;
    bool batch = false; // the body was an array: the answer is an array, in the same order
};

struct publish_limits {
    std::size_t max_message_size = 0; // decoded payload bytes per item (413 over it)
    std::size_t max_batch = 0;        // items in one array body (413 over it)
};

// {"data": "...", "binary": false, "user_ids": ["a"], "channel": "news"}, or an array of them.
std::variant<publish_request, api_error> parse_publish_request(std::string_view body,
                                                               const publish_limits& limits);

// {"user_id": "..."}: whose connections POST /api/disconnect closes.
std::variant<std::string, api_error> parse_disconnect_request(std::string_view body);

// {"error": "<reason>"}, the body of every refusal of the API.
std::string api_error_body(std::string_view reason);

// What a user id may be wherever one is named (the /im query, the publish API): 1 to 256 bytes.
inline constexpr std::size_t max_user_id_size = 256;

} // namespace wshub

// What travels over the Redis bus, without I/O. A node sends each message as an opaque body
// (encode_bus_body) with its stream's name to the publish script, which numbers it and publishes
// the whole batch as one Redis message:
//   "W1 <epoch> <node> <batch id> <count>\n" then, per message, "<seq> <body size>\n<body>"
// and every node decodes it (decode_bus_batch); each "<seq> <body size>\n<body>" is also kept in
// the stream's history list (decode_bus_entry). A body is
//   "<t|b> <channel size> <user count> <payload size>\n<channel>" then per user
//   "<size>\n<user id>", then the payload.
#pragma once

#include "wshub/message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wshub {

// The all-clients stream's name in Redis (no channel name holds '*').
inline constexpr std::string_view all_clients_stream_key = "*";

std::string encode_bus_body(const message& m);

struct bus_message {
    std::uint64_t seq = 0;
    payload_kind kind = payload_kind::text;
    message_target target;
    std::string payload;
};

struct bus_batch {
    std::string epoch;
    // Only in the announcement after a subscription: each stream's last seq in Redis.
    std::vector<std::pair<std::string, std::uint64_t>> positions;
    // In the announcement: its messages are what Redis keeps of each stream, delivered before,
    // for the history of a node that starts (or, for one that runs, to be ignored).
    bool history = false;
    std::string node;
    std::uint64_t batch_id = 0;
    std::vector<bus_message> messages;
};

// nullopt for anything that is not a well-formed batch (another program's message on the
// channel, a truncated one): it is logged and skipped.
std::optional<bus_batch> decode_bus_batch(std::string_view published);

// One message of a stream's history in Redis: "<seq> <body size>\n<body>", as in a batch.
std::optional<bus_message> decode_bus_entry(std::string_view entry);

} // namespace wshub

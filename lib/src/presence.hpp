// Who is connected: the answer of GET /api/presence, summed over the shards and, with the bus,
// over the nodes (each node's part travels as the same JSON the API answers).
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace wshub {

// With the bus: how many nodes Redis delivered a question to, and how many answered in time.
struct node_count {
    std::size_t answered = 0;
    std::size_t asked = 0;
};

struct presence {
    std::size_t connections = 0;
    std::map<std::string, std::size_t> users; // user id -> connections, in name order
    std::optional<node_count> nodes;          // with the bus

    void add(const presence& other) {
        connections += other.connections;
        for (const auto& [user, n] : other.users)
            users[user] += n;
    }
};

struct disconnect_result {
    std::size_t disconnected = 0;
    std::optional<node_count> nodes; // with the bus
};

// {"connections": N, "users": {"id": n, ...}} and, with the bus, "nodes" (those that answered)
// and "nodes_unanswered" (when some did not).
boost::json::object presence_json(const presence& p);
// A node's part, as presence_json() wrote it; nullopt if it is not.
std::optional<presence> presence_from_json(const boost::json::value& v);
// Adds "nodes" and "nodes_unanswered" as presence_json() does.
void add_node_count(boost::json::object& answer, const std::optional<node_count>& nodes);

} // namespace wshub

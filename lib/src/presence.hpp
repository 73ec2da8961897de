// Who is connected: the answer of GET /api/presence, summed over the shards.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace wshub {

struct presence {
    std::size_t connections = 0;
    std::map<std::string, std::size_t> users; // user id -> connections, in name order

    void add(const presence& other) {
        connections += other.connections;
        for (const auto& [user, n] : other.users)
            users[user] += n;
    }
};

} // namespace wshub

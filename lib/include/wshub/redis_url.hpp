// --redis redis://[[user]:password@]host[:port][/db]: where the bus's Redis is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace wshub {

struct redis_endpoint {
    std::string host;
    std::uint16_t port = 6379;
    std::string user;     // for AUTH user password (Redis 6 ACLs); empty: AUTH password
    std::string password; // empty: no AUTH
    unsigned db = 0;      // SELECT db when not 0

    // host:port, for log lines (never the password).
    std::string describe() const;
};

// The endpoint, or a one-line reason the URL is not one.
std::variant<redis_endpoint, std::string> parse_redis_url(std::string_view url);

} // namespace wshub

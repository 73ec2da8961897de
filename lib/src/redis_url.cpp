#include "wshub/redis_url.hpp"

#include <boost/url/parse.hpp>
#include <charconv>
#include <fmt/format.h>

namespace wshub {

std::string redis_endpoint::describe() const {
    return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                               : fmt::format("{}:{}", host, port);
}

std::variant<redis_endpoint, std::string> parse_redis_url(std::string_view text) {
    auto parsed = boost::urls::parse_absolute_uri(text);
    if (!parsed) return std::string("--redis must be a URL: redis://[:password@]host[:port][/db]");
    const auto& url = *parsed;
    if (url.scheme() != "redis") return std::string("--redis: the scheme must be redis://");
    if (url.has_query() || url.has_fragment()) return std::string("--redis: no query or fragment");
    redis_endpoint ep;
    ep.host = url.host_address();
    if (ep.host.empty()) return std::string("--redis: the URL names no host");
    if (url.has_port()) {
        const auto port = url.port_number();
        if (port == 0) return std::string("--redis: the port must be 1 to 65535");
        ep.port = port;
    }
    if (url.has_userinfo()) {
        ep.user = url.user();
        ep.password = url.password();
    }
    std::string_view path = url.encoded_path();
    if (!path.empty() && path != "/") {
        path.remove_prefix(1);
        const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), ep.db);
        if (ec != std::errc{} || end != path.data() + path.size() || ep.db > 15)
            return std::string("--redis: the path must be a database number, /0 to /15");
    }
    return ep;
}

} // namespace wshub

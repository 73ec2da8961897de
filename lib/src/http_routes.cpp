#include "wshub/http_routes.hpp"

#include <boost/url/parse.hpp>

namespace wshub {

namespace {

http_reply reply(unsigned status, std::string body) {
    return http_reply{status, std::move(body) + "\n"};
}

} // namespace

route_decision route(const http_request_view& req) {
    auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed) return reply(400, "bad request target");
    const auto& url = *parsed;
    const auto path = url.encoded_path();
    const bool read_only = req.method == "GET" || req.method == "HEAD";

    if (path == "/ping") {
        if (!read_only) {
            auto r = reply(405, "method not allowed: /ping takes GET");
            r.allow_get = true;
            return r;
        }
        return http_reply{200, "pong"};
    }
    if (path == "/im") {
        if (req.method != "GET") {
            auto r = reply(405, "method not allowed: /im takes a GET WebSocket upgrade");
            r.allow_get = true;
            return r;
        }
        if (!req.websocket_upgrade) {
            auto r = reply(426, "upgrade required: /im is a WebSocket endpoint");
            r.upgrade_required = true;
            return r;
        }
        auto params = url.params(); // percent-decoded
        upgrade_request upgrade;
        if (auto it = params.find("user_id"); it != params.end() && (*it).has_value)
            upgrade.user_id = (*it).value;
        if (auto it = params.find("token"); it != params.end() && (*it).has_value)
            upgrade.token = (*it).value;
        if (upgrade.user_id.empty() && !req.user_id_from_token)
            return reply(400, "missing user_id: connect to /im?user_id=ID");
        if (upgrade.user_id.size() > 256) return reply(400, "user_id is longer than 256 bytes");
        return upgrade;
    }
    return reply(404, "not found");
}

} // namespace wshub

#include "wshub/http_routes.hpp"

#include "wshub/channel_name.hpp"
#include "wshub/publish_request.hpp"
#include "wshub/static_files.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <fmt/format.h>

namespace wshub {

namespace {

http_reply reply(unsigned status, std::string body) {
    return http_reply{status, std::move(body) + "\n"};
}

// 405 for a path that takes GET (and HEAD) only.
http_reply get_only(std::string_view path) {
    auto r = reply(405, fmt::format("method not allowed: {} takes GET", path));
    r.allow_get = true;
    return r;
}

// channels=a,b,a -> {a, b}; empty or absent -> {}.
std::variant<std::vector<std::string>, http_reply> parse_channels(std::string_view list) {
    std::vector<std::string> channels;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto name = list.substr(0, comma);
        if (!is_valid_channel_name(name))
            return reply(400, fmt::format("bad channels=: a channel name is {}", channel_name_rule));
        if (std::find(channels.begin(), channels.end(), name) == channels.end()) channels.emplace_back(name);
        if (channels.size() > max_channels_per_connection)
            return reply(400,
                         fmt::format("bad channels=: more than {} channels", max_channels_per_connection));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
        if (list.empty()) return reply(400, "bad channels=: a channel name is empty");
    }
    return channels;
}

route_decision route_api(const http_request_view& req, std::string_view path,
                         const boost::urls::url_view& url) {
    const auto method_not_allowed = [](std::string_view what, bool post) {
        auto r =
            api_error_reply(405, fmt::format("method not allowed: {} takes {}", what, post ? "POST" : "GET"));
        (post ? r.allow_post : r.allow_get) = true;
        return r;
    };
    if (path == "/api/publish" || path == "/api/disconnect") {
        if (req.method != "POST") return method_not_allowed(path, true);
        return api_call{path == "/api/publish" ? api_call::endpoint::publish : api_call::endpoint::disconnect,
                        {}};
    }
    if (path == "/api/presence") {
        if (req.method != "GET" && req.method != "HEAD") return method_not_allowed(path, false);
        api_call call{api_call::endpoint::presence, {}};
        auto params = url.params();
        if (params.count("channel") > 1) return api_error_reply(400, "channel= is given twice");
        if (auto it = params.find("channel"); it != params.end() && (*it).has_value) {
            call.channel = (*it).value;
            if (!is_valid_channel_name(call.channel))
                return api_error_reply(400,
                                       fmt::format("bad channel=: a channel name is {}", channel_name_rule));
        }
        return call;
    }
    return api_error_reply(404, "no such API endpoint");
}

} // namespace

http_reply api_error_reply(unsigned status, std::string_view reason) {
    http_reply r{status, api_error_body(reason) + "\n"};
    r.json = true;
    return r;
}

std::optional<http_reply> check_request_framing(const http_request_framing& r) {
    if (r.version >= 11 && r.host_fields == 0)
        return reply(400, "bad request: an HTTP/1.1 request needs a Host field");
    if (r.host_fields > 1) return reply(400, "bad request: more than one Host field");
    if (!r.transfer_encoding) return std::nullopt;
    if (r.version < 11) return reply(400, "bad request: Transfer-Encoding in an HTTP/1.0 request");
    // The codings in the order they were applied; a list may hold empty elements.
    std::vector<std::string_view> codings;
    for (std::string_view rest = r.transfer_codings; !rest.empty();) {
        const auto comma = rest.find(',');
        auto coding = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        const auto first = coding.find_first_not_of(" \t");
        if (first == std::string_view::npos) continue;
        coding = coding.substr(first, coding.find_last_not_of(" \t") + 1 - first);
        codings.push_back(coding);
    }
    const auto is_chunked = [](std::string_view coding) {
        return std::equal(coding.begin(), coding.end(), std::string_view("chunked").begin(),
                          std::string_view("chunked").end(),
                          [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    };
    if (codings.empty() || !is_chunked(codings.back()))
        return reply(400, "bad request: the transfer codings do not end with chunked");
    codings.pop_back();
    if (std::any_of(codings.begin(), codings.end(), is_chunked))
        return reply(400, "bad request: chunked is applied more than once");
    if (!codings.empty()) return reply(501, "not implemented: wshub takes no transfer coding but chunked");
    return std::nullopt;
}

route_decision route(const http_request_view& req) {
    auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed) return reply(400, "bad request target");
    const auto& url = *parsed;
    const std::string_view path(url.encoded_path().data(), url.encoded_path().size());
    const bool read_only = req.method == "GET" || req.method == "HEAD";

    if (path == "/ping") {
        if (!read_only) return get_only(path);
        return http_reply{200, "pong"};
    }
    if (path == "/healthz" || path == "/readyz") {
        if (!read_only) return get_only(path);
        if (path == "/readyz" && req.draining) return reply(503, "not ready: shutting down");
        if (path == "/readyz" && req.bus_down)
            return reply(503, "not ready: the message bus (Redis) is unreachable or refusing messages");
        return reply(200, path == "/healthz" ? "ok" : "ready");
    }
    if (path.starts_with("/api/")) return route_api(req, path, url);
    if (path == "/metrics") {
        if (!read_only) return get_only(path);
        return metrics_scrape{};
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
        // A parameter given twice is refused rather than one of the two picked: a proxy or an
        // authorization layer in front that read the other one would have checked another request.
        for (const std::string_view name : {"user_id", "token", "channels", "envelope", "since", "epoch"})
            if (params.count(name) > 1)
                return reply(400, fmt::format("bad request: {}= is given twice", name));
        upgrade_request upgrade;
        if (auto it = params.find("user_id"); it != params.end() && (*it).has_value)
            upgrade.user_id = (*it).value;
        if (auto it = params.find("token"); it != params.end() && (*it).has_value)
            upgrade.token = (*it).value;
        if (upgrade.user_id.empty() && !req.user_id_from_token)
            return reply(400, "missing user_id: connect to /im?user_id=ID");
        if (upgrade.user_id.size() > max_user_id_size)
            return reply(400, fmt::format("user_id is longer than {} bytes", max_user_id_size));
        if (auto it = params.find("channels"); it != params.end() && (*it).has_value) {
            auto channels = parse_channels((*it).value);
            if (auto* refused = std::get_if<http_reply>(&channels)) return std::move(*refused);
            upgrade.channels = std::get<std::vector<std::string>>(std::move(channels));
        }
        if (auto it = params.find("envelope"); it != params.end()) {
            if (!(*it).has_value || (*it).value != "json")
                return reply(400, "bad envelope=: the one envelope is json");
            upgrade.envelope = true;
        }
        if (auto it = params.find("since"); it != params.end()) {
            auto resume = parse_since((*it).has_value ? std::string_view((*it).value) : "", upgrade.channels);
            if (auto* why = std::get_if<std::string>(&resume)) return reply(400, std::move(*why));
            upgrade.resume = std::get<resume_positions>(std::move(resume));
            if (auto e = params.find("epoch"); e != params.end() && (*e).has_value) {
                const std::string epoch = (*e).value;
                if (epoch.empty() || epoch.size() > 64 ||
                    !std::all_of(epoch.begin(), epoch.end(),
                                 [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
                    return reply(400, "bad epoch=: up to 64 hexadecimal digits");
                upgrade.resume->epoch = epoch;
            }
        }
        return upgrade;
    }
    if (const auto* file = find_static_file(path)) {
        if (!read_only) return get_only(path);
        http_reply r{200, std::string(file->body)};
        r.static_content_type = file->content_type;
        return r;
    }
    return reply(404, "not found");
}

} // namespace wshub

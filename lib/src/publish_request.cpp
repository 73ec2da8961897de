#include "wshub/publish_request.hpp"

#include "wshub/channel_name.hpp"

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <optional>

namespace json = boost::json;

namespace wshub {

namespace {

api_error bad(std::string reason) {
    return api_error{400, std::move(reason)};
}

// Strict, padded base64 (RFC 4648 section 4), as JSON carries binary data.
std::optional<std::string> decode_base64(std::string_view text) {
    namespace base64 = boost::beast::detail::base64;
    if (text.size() % 4 != 0) return std::nullopt;
    // Up to two '=' pad the last group; the decoder stops at the first one.
    std::size_t digits = text.size();
    for (int pad = 0; pad < 2 && digits > 0 && text[digits - 1] == '='; ++pad)
        --digits;
    std::string out(base64::decoded_size(text.size()), '\0');
    const auto [written, read] = base64::decode(out.data(), text.data(), digits);
    if (read != digits) return std::nullopt;
    out.resize(written);
    return out;
}

// One publish object; `where` names it in reasons ("" for a lone object, "item 3: " in a batch).
std::variant<publish_item, api_error> parse_item(const json::value& v, const publish_limits& limits,
                                                 const std::string& where) {
    const auto* obj = v.if_object();
    if (!obj) return bad(where + "a message must be a JSON object");
    publish_item item;
    bool has_data = false;
    for (const auto& [key, value] : *obj) {
        if (key == "data") {
            const auto* s = value.if_string();
            if (!s) return bad(where + "\"data\" must be a string");
            item.payload.assign(s->data(), s->size());
            has_data = true;
        } else if (key == "binary") {
            if (!value.is_bool()) return bad(where + "\"binary\" must be true or false");
            item.kind = value.get_bool() ? payload_kind::binary : payload_kind::text;
        } else if (key == "user_ids") {
            const auto* a = value.if_array();
            if (!a) return bad(where + "\"user_ids\" must be an array of strings");
            if (a->empty()) return bad(where + "\"user_ids\" is empty: leave it out to reach everyone");
            for (const auto& u : *a) {
                const auto* s = u.if_string();
                if (!s || s->empty() || s->size() > max_user_id_size)
                    return bad(where + fmt::format("\"user_ids\" must hold user ids of 1 to {} bytes",
                                                   max_user_id_size));
                item.target.user_ids.emplace_back(s->data(), s->size());
            }
        } else if (key == "channel") {
            const auto* s = value.if_string();
            if (!s || !is_valid_channel_name(*s))
                return bad(where + fmt::format("\"channel\" must be {}", channel_name_rule));
            item.target.channel.assign(s->data(), s->size());
        } else {
            return bad(where + fmt::format("unknown field \"{}\"", std::string_view(key)));
        }
    }
    if (!has_data) return bad(where + "\"data\" is missing");
    if (item.kind == payload_kind::binary) {
        auto decoded = decode_base64(item.payload);
        if (!decoded) return bad(where + "\"data\" is not base64, as \"binary\": true requires");
        item.payload = std::move(*decoded);
    }
    if (item.payload.size() > limits.max_message_size)
        return api_error{413, where + fmt::format("the message is over --max-message-size ({} bytes)",
                                                  limits.max_message_size)};
    return item;
}

std::optional<json::value> parse_json(std::string_view body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec) return std::nullopt;
    return v;
}

} // namespace

std::variant<publish_request, api_error> parse_publish_request(std::string_view body,
                                                               const publish_limits& limits) {
    auto v = parse_json(body);
    if (!v) return bad("the body is not valid JSON");
    publish_request req;
    if (const auto* a = v->if_array()) {
        if (a->empty()) return bad("the batch is empty");
        if (a->size() > limits.max_batch)
            return api_error{413, fmt::format("the batch holds {} messages, over --max-publish-batch ({})",
                                              a->size(), limits.max_batch)};
        req.batch = true;
        req.items.reserve(a->size());
        for (std::size_t i = 0; i < a->size(); ++i) {
            auto item = parse_item((*a)[i], limits, fmt::format("message {}: ", i));
            if (auto* e = std::get_if<api_error>(&item)) return std::move(*e);
            req.items.push_back(std::get<publish_item>(std::move(item)));
        }
        return req;
    }
    auto item = parse_item(*v, limits, "");
    if (auto* e = std::get_if<api_error>(&item)) return std::move(*e);
    req.items.push_back(std::get<publish_item>(std::move(item)));
    return req;
}

std::variant<std::string, api_error> parse_disconnect_request(std::string_view body) {
    auto v = parse_json(body);
    if (!v) return bad("the body is not valid JSON");
    const auto* obj = v->if_object();
    if (!obj) return bad("the body must be a JSON object: {\"user_id\": \"...\"}");
    std::string user_id;
    for (const auto& [key, value] : *obj) {
        if (key != "user_id") return bad(fmt::format("unknown field \"{}\"", std::string_view(key)));
        const auto* s = value.if_string();
        if (!s || s->empty() || s->size() > max_user_id_size)
            return bad(fmt::format("\"user_id\" must be a string of 1 to {} bytes", max_user_id_size));
        user_id.assign(s->data(), s->size());
    }
    if (user_id.empty()) return bad("\"user_id\" is missing");
    return user_id;
}

std::string api_error_body(std::string_view reason) {
    json::object o;
    o["error"] = reason;
    return json::serialize(o);
}

} // namespace wshub

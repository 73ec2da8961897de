#include "presence.hpp"

namespace json = boost::json;

namespace wshub {

json::object presence_json(const presence& p) {
    json::object users;
    for (const auto& [user, n] : p.users)
        users[user] = n;
    json::object answer{{"connections", p.connections}, {"users", std::move(users)}};
    add_node_count(answer, p.nodes);
    return answer;
}

std::optional<presence> presence_from_json(const json::value& v) {
    const auto* o = v.if_object();
    if (!o) return std::nullopt;
    const auto* connections = o->if_contains("connections");
    const auto* users = o->if_contains("users");
    if (!connections || !users || !users->is_object()) return std::nullopt;
    presence p;
    boost::system::error_code ec;
    p.connections = connections->to_number<std::size_t>(ec);
    if (ec) return std::nullopt;
    for (const auto& [user, n] : users->get_object()) {
        const auto count = n.to_number<std::size_t>(ec);
        if (ec) return std::nullopt;
        p.users[std::string(user)] = count;
    }
    return p;
}

void add_node_count(json::object& answer, const std::optional<node_count>& nodes) {
    if (!nodes) return;
    answer["nodes"] = nodes->answered;
    if (nodes->answered < nodes->asked) answer["nodes_unanswered"] = nodes->asked - nodes->answered;
}

} // namespace wshub

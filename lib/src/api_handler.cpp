#include "api_handler.hpp"

#include "hub.hpp"
#include "publish_outcome.hpp"
#include "wshub/publish_request.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace asio = boost::asio;
namespace json = boost::json;

namespace wshub {

namespace {

http_reply json_reply(unsigned status, const json::value& v) {
    http_reply r{status, json::serialize(v) + "\n"};
    r.json = true;
    return r;
}

http_reply error_reply(const api_error& e) {
    return api_error_reply(e.status, e.reason);
}

http_reply bus_unreachable() {
    return error_reply({503, "the message bus (Redis) is unreachable or refusing messages; retry later"});
}

asio::awaitable<http_reply> publish(server_state& state, std::string_view body) {
    auto parsed = parse_publish_request(body, {state.cfg.max_message_size, state.cfg.max_publish_batch});
    if (auto* e = std::get_if<api_error>(&parsed)) co_return error_reply(*e);
    auto& req = std::get<publish_request>(parsed);
    // Through an unreachable bus the call would wait for Redis's return: the caller is better
    // told now, and retries.
    if (state.message_hub->bus_down()) co_return bus_unreachable();

    auto outcome = std::make_shared<publish_outcome>(co_await asio::this_coro::executor, req.items.size());
    for (std::size_t i = 0; i < req.items.size(); ++i) {
        auto& item = req.items[i];
        message m;
        m.kind = item.kind;
        m.payload = std::move(item.payload);
        m.target = std::move(item.target);
        m.outcome = outcome;
        m.outcome_index = i;
        if (!co_await state.message_hub->publish(std::move(m))) {
            // The hub stopped taking messages: those already taken are still delivered, but the
            // call as a whole did not go through.
            co_return error_reply({503, "server shutting down"});
        }
    }
    auto [ec] = co_await outcome->done.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return error_reply({503, "server shutting down"});
    // A message the bus lost was never numbered (seqs start at 1): Redis refused it, or it went
    // out while this node's subscription was down, so other nodes may have delivered it.
    const auto lost = std::count_if(outcome->results.begin(), outcome->results.end(),
                                    [](const publish_outcome::result& r) { return r.seq == 0; });
    if (lost > 0)
        co_return error_reply({503, fmt::format("the message bus lost {} of {} messages (see the log); some "
                                                "nodes may have delivered them",
                                                lost, outcome->results.size())});

    auto result = [](const publish_outcome::result& r) {
        return json::value{{"id", r.seq}, {"delivered", r.delivered}};
    };
    if (!req.batch) co_return json_reply(200, result(outcome->results.front()));
    json::array answers;
    answers.reserve(outcome->results.size());
    for (const auto& r : outcome->results)
        answers.push_back(result(r));
    co_return json_reply(200, answers);
}

// With the bus, disconnect and presence ask every node through Redis.
asio::awaitable<http_reply> disconnect(server_state& state, std::string_view body) {
    auto parsed = parse_disconnect_request(body);
    if (auto* e = std::get_if<api_error>(&parsed)) co_return error_reply(*e);
    if (state.message_hub->bus_down()) co_return bus_unreachable();
    disconnect_result result;
    try {
        result = co_await state.message_hub->disconnect_user(std::get<std::string>(std::move(parsed)));
    } catch (const std::exception&) {
        result.nodes = node_count{}; // Redis failed mid-call: nobody's answer counted
    }
    if (result.nodes && result.nodes->asked == 0) co_return bus_unreachable();
    json::object answer{{"disconnected", result.disconnected}};
    add_node_count(answer, result.nodes);
    co_return json_reply(200, answer);
}

asio::awaitable<http_reply> presence_of(server_state& state, const std::string& channel) {
    if (state.message_hub->bus_down()) co_return bus_unreachable();
    presence p;
    try {
        p = co_await state.message_hub->query_presence(channel);
    } catch (const std::exception&) {
        p.nodes = node_count{};
    }
    if (p.nodes && p.nodes->asked == 0) co_return bus_unreachable();
    auto answer = presence_json(p);
    if (!channel.empty()) answer["channel"] = channel;
    co_return json_reply(200, answer);
}

} // namespace

asio::awaitable<http_reply> answer_api_call(server_state& state, const api_call& call, std::string body) {
    switch (call.what) {
    case api_call::endpoint::publish:
        co_return co_await publish(state, body);
    case api_call::endpoint::disconnect:
        co_return co_await disconnect(state, body);
    case api_call::endpoint::presence:
        co_return co_await presence_of(state, call.channel);
    }
    co_return error_reply({500, "unknown endpoint"});
}

} // namespace wshub

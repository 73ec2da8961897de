// Two wshub nodes over a real redis-server (the --redis bus), clients on both, over loopback:
// broadcast, targeted push and channels across nodes, the same seq numbers on every node,
// presence and disconnect answered for every node, recovery on the other node, Redis killed
// and restarted mid-stream (what clients sent meanwhile published once the node is subscribed
// again), and Redis refusing batches for a while (they wait) or for good (the call gets 503).
#include "http_client.hpp"
#include "json_frames.hpp"
#include "raw_connection.hpp"
#include "redis_process.hpp"
#include "test_io.hpp"
#include "wshub_process.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using namespace wshub_test;

namespace {

struct two_nodes {
    two_nodes()
        : a(wshub_args(2, {"--redis=" + redis.url()}))
        , b(wshub_args(2, {"--redis=" + redis.url()})) {
        for (auto* node : {&a, &b})
            BOOST_REQUIRE(node->wait_for_log("bus: subscribed to Redis").has_value());
    }
    void teardown() {
        for (auto* node : {&a, &b}) {
            if (node->exited()) continue;
            node->terminate();
            BOOST_CHECK_MESSAGE(node->wait_exit() == 0, "a wshub node did not exit cleanly");
        }
    }

    test_io io;
    redis_process redis;
    wshub_process a;
    wshub_process b;
};

// One node on Redis, and a second one that the test starts later (start_second()), when Redis
// already keeps what the first published.
struct node_then_another {
    explicit node_then_another(std::vector<std::string> first_args = {})
        : a(node_args(std::move(first_args))) {
        BOOST_REQUIRE(a.wait_for_log("bus: subscribed to Redis").has_value());
    }
    wshub_process& start_second() {
        b.emplace(node_args({}));
        BOOST_REQUIRE(b->wait_for_log("bus: subscribed to Redis").has_value());
        return *b;
    }
    void teardown() {
        for (auto* node : {&a, b ? &*b : nullptr}) {
            if (!node) continue;
            node->terminate();
            BOOST_CHECK_MESSAGE(node->wait_exit() == 0, "a wshub node did not exit cleanly");
        }
    }

    test_io io;
    redis_process redis;
    wshub_process a;
    std::optional<wshub_process> b;

  private:
    std::vector<std::string> node_args(std::vector<std::string> extra) {
        extra.insert(extra.begin(), "--redis=" + redis.url());
        return wshub_args(2, std::move(extra));
    }
};

struct small_history_node : node_then_another {
    small_history_node()
        : node_then_another({"--history-bytes", "4096"}) {}
};

json::object publish(std::uint16_t port, const std::string& body) {
    return publish_api(port, body).as_object();
}

json::object answer_of(const http_response& r) {
    BOOST_TEST(r.result_int() == 200u);
    return json::parse(r.body()).as_object();
}

// Alice connects to `port`, sees one message and leaves: her position (epoch, seq).
std::pair<std::string, std::uint64_t> alice_sees_one_message(test_io& io, std::uint16_t port) {
    raw_connection c(io);
    c.upgrade_ok(port, "/im?user_id=alice&envelope=json");
    std::string epoch(read_json(c).at("epoch").as_string());
    publish(port, R"({"data": "seen"})");
    return {std::move(epoch), seq_of(read_json(c))};
}

std::int64_t number(const json::value& o, std::string_view key) {
    return o.as_object().at(key).to_number<std::int64_t>();
}

} // namespace

BOOST_AUTO_TEST_SUITE(bus)

BOOST_FIXTURE_TEST_CASE(a_client_message_reaches_both_nodes_once_and_in_order, two_nodes) {
    raw_connection on_a(io), on_b(io);
    on_a.upgrade_ok(a.port(), "/im?user_id=alice");
    on_b.upgrade_ok(b.port(), "/im?user_id=bob");
    std::string burst;
    std::vector<std::string> sent;
    for (int i = 0; i < 50; ++i) {
        sent.push_back("m" + std::to_string(i));
        burst += client_frame(op_text, sent.back());
    }
    on_a.send(burst);
    for (auto* c : {&on_a, &on_b})
        for (const auto& expect : sent)
            BOOST_REQUIRE_EQUAL(c->read_frame().payload, expect);
    // Nothing twice: after a publish that follows them, the next frame is that publish's.
    publish(a.port(), R"({"data": "last"})");
    for (auto* c : {&on_a, &on_b})
        BOOST_TEST(c->read_frame().payload == "last");
}

BOOST_FIXTURE_TEST_CASE(targeted_push_and_channels_cross_nodes_with_the_same_numbers, two_nodes) {
    raw_connection bob(io), news_a(io), news_b(io);
    bob.upgrade_ok(b.port(), "/im?user_id=bob&envelope=json");
    news_a.upgrade_ok(a.port(), "/im?user_id=n1&channels=news&envelope=json");
    news_b.upgrade_ok(b.port(), "/im?user_id=n2&channels=news&envelope=json");
    for (auto* c : {&bob, &news_a, &news_b})
        BOOST_TEST(read_json(*c).at("type").as_string() == "join");

    const auto to_bob = publish(a.port(), R"({"data": "for bob", "user_ids": ["bob"]})");
    const auto m = read_json(bob);
    BOOST_TEST(m.at("data").as_string() == "for bob");
    BOOST_TEST(seq_of(m) == to_bob.at("id").to_number<std::uint64_t>());

    const auto news = publish(b.port(), R"({"data": "headline", "channel": "news"})");
    for (auto* c : {&news_a, &news_b}) {
        const auto n = read_json(*c);
        BOOST_TEST(n.at("channel").as_string() == "news");
        BOOST_TEST(seq_of(n) == news.at("id").to_number<std::uint64_t>());
    }
    // Numbered once for the cluster: a second message on the other node follows on.
    const auto next = publish(a.port(), R"({"data": "second", "channel": "news"})");
    BOOST_TEST(next.at("id").to_number<std::uint64_t>() == news.at("id").to_number<std::uint64_t>() + 1);
    BOOST_TEST(payloads_before_pong(bob).empty());
}

BOOST_FIXTURE_TEST_CASE(presence_and_disconnect_answer_for_every_node, two_nodes) {
    raw_connection alice_a(io), alice_b(io), bob_b(io);
    alice_a.upgrade_ok(a.port(), "/im?user_id=alice&channels=news");
    alice_b.upgrade_ok(b.port(), "/im?user_id=alice");
    bob_b.upgrade_ok(b.port(), "/im?user_id=bob&channels=news");

    for (auto port : {a.port(), b.port()}) { // the same answer whichever node takes the call
        const auto all = answer_of(http_get(port, "/api/presence"));
        BOOST_TEST(number(all, "connections") == 3);
        BOOST_TEST(number(all.at("users"), "alice") == 2);
        BOOST_TEST(number(all.at("users"), "bob") == 1);
        BOOST_TEST(number(all, "nodes") == 2);
        BOOST_TEST(!all.contains("nodes_unanswered"));
        const auto news = answer_of(http_get(port, "/api/presence?channel=news"));
        BOOST_TEST(number(news, "connections") == 2);
        BOOST_TEST(number(news.at("users"), "alice") == 1);
        BOOST_TEST(number(news.at("users"), "bob") == 1);
    }

    // Called on node A, it closes alice's connections on both nodes, and only hers.
    const auto gone = answer_of(http_post(a.port(), "/api/disconnect", R"({"user_id": "alice"})"));
    BOOST_TEST(number(gone, "disconnected") == 2);
    BOOST_TEST(number(gone, "nodes") == 2);
    for (auto* c : {&alice_a, &alice_b}) {
        const auto f = c->read_frame();
        BOOST_TEST(f.opcode == op_close);
        BOOST_TEST(close_code(f) == 4002u);
    }
    BOOST_TEST(frames_before_pong(bob_b).empty());
}

BOOST_FIXTURE_TEST_CASE(a_node_that_does_not_answer_is_reported, two_nodes) {
    raw_connection bob_a(io);
    bob_a.upgrade_ok(a.port(), "/im?user_id=bob");
    // Node B is frozen: Redis still counts its subscription, but no answer comes.
    struct frozen {
        pid_t pid;
        ~frozen() { ::kill(pid, SIGCONT); }
    } b_frozen{b.pid()};
    BOOST_REQUIRE(::kill(b.pid(), SIGSTOP) == 0);
    const auto p = answer_of(http_get(a.port(), "/api/presence"));
    BOOST_TEST(number(p, "connections") == 1);
    BOOST_TEST(number(p, "nodes") == 1);
    BOOST_TEST(number(p, "nodes_unanswered") == 1);
}

BOOST_FIXTURE_TEST_CASE(a_client_recovers_on_the_other_node, two_nodes) {
    const auto [epoch, seen] = alice_sees_one_message(io, a.port());
    publish(a.port(), R"({"data": "missed 1"})");
    publish(b.port(), R"({"data": "missed 2", "user_ids": ["alice"]})");
    raw_connection c(io);
    c.upgrade_ok(b.port(),
                 "/im?user_id=alice&envelope=json&since=" + std::to_string(seen) + "&epoch=" + epoch);
    const auto join = read_json(c);
    BOOST_TEST(join.at("epoch").as_string() == epoch);
    BOOST_TEST(read_json(c).at("data").as_string() == "missed 1");
    BOOST_TEST(read_json(c).at("data").as_string() == "missed 2");
    BOOST_TEST(payloads_before_pong(c).empty());
}

BOOST_FIXTURE_TEST_CASE(a_node_that_starts_later_takes_its_history_from_redis, node_then_another) {
    const auto [epoch, seen] = alice_sees_one_message(io, a.port());
    publish(a.port(), R"({"data": "missed 1"})");
    publish(a.port(), R"({"data": "for bob", "user_ids": ["bob"]})");
    publish(a.port(), R"({"data": "missed 2", "channel": "news"})");
    publish(a.port(), R"({"data": "missed 3", "user_ids": ["alice"]})");

    // Node B starts after all of it, and still replays it from what Redis keeps, in the order it
    // was published across the streams.
    const auto& later = start_second();
    {
        raw_connection c(io);
        c.upgrade_ok(later.port(), "/im?user_id=alice&envelope=json&channels=news&since=" +
                                       std::to_string(seen) + ",news:0&epoch=" + epoch);
        const auto join = read_json(c);
        BOOST_TEST(join.at("epoch").as_string() == epoch);
        std::vector<std::string> replayed;
        for (int i = 0; i < 3; ++i) {
            const auto m = read_json(c);
            BOOST_REQUIRE_MESSAGE(m.contains("data"), "a gap notice instead of the replay");
            replayed.emplace_back(m.at("data").as_string());
        }
        BOOST_TEST(replayed == (std::vector<std::string>{"missed 1", "missed 2", "missed 3"}),
                   boost::test_tools::per_element());
        BOOST_TEST(payloads_before_pong(c).empty());
    }
}

BOOST_FIXTURE_TEST_CASE(a_node_that_starts_later_takes_nothing_older_than_the_ttl, node_then_another) {
    const auto [epoch, seen] = alice_sees_one_message(io, a.port());
    publish(a.port(), R"({"data": "stale-message"})");
    const auto fresh = publish(a.port(), R"({"data": "fresh-message"})").at("id").to_number<std::uint64_t>();

    // Kept entries are "<order> <time> <entry>": the stale one is made two hours old, past the
    // default --history-ttl (five minutes), as if it had been published then.
    const std::string list = "wshub:history:*";
    const auto kept = redis_command(redis.port(), {"LRANGE", list, "0", "-1"});
    bool aged = false;
    for (std::size_t i = 0; i < kept.elements.size(); ++i) {
        const auto& entry = kept.elements[i].text;
        if (entry.find("stale-message") == std::string::npos) continue;
        const auto order_end = entry.find(' ');
        const auto time_end = entry.find(' ', order_end + 1);
        const auto time = std::stoll(entry.substr(order_end + 1, time_end - order_end - 1));
        BOOST_REQUIRE_MESSAGE(time > 1'600'000'000, "no time in the kept entry: " << entry.substr(0, 40));
        const auto old =
            entry.substr(0, order_end + 1) + std::to_string(time - 7200) + entry.substr(time_end);
        BOOST_REQUIRE(!redis_command(redis.port(), {"LSET", list, std::to_string(i), old}).is_error());
        aged = true;
    }
    BOOST_REQUIRE(aged);

    const auto& later = start_second();
    {
        raw_connection c(io);
        c.upgrade_ok(later.port(),
                     "/im?user_id=alice&envelope=json&since=" + std::to_string(seen) + "&epoch=" + epoch);
        BOOST_TEST(read_json(c).at("epoch").as_string() == epoch);
        const auto gap = read_json(c);
        BOOST_REQUIRE_MESSAGE(gap.contains("type"),
                              "the stale message was replayed: " << json::serialize(gap));
        BOOST_TEST(gap.at("type").as_string() == "gap");
        BOOST_TEST(gap.at("oldest").to_number<std::uint64_t>() == fresh);
        BOOST_TEST(read_json(c).at("data").as_string() == "fresh-message");
        BOOST_TEST(payloads_before_pong(c).empty());
    }
}

BOOST_FIXTURE_TEST_CASE(redis_keeps_no_more_than_history_bytes_of_a_stream, small_history_node) {
    const std::string list = "wshub:history:*";
    auto kept_bytes = [&] {
        std::size_t total = 0;
        for (const auto& e : redis_command(redis.port(), {"LRANGE", list, "0", "-1"}).elements)
            total += e.text.size();
        return total;
    };
    const std::string kilobyte(1000, 'k');
    for (int i = 0; i < 10; ++i)
        publish(a.port(), R"({"data": ")" + kilobyte + R"("})");
    // Three entries of a kilobyte and their headers fit in 4096 bytes; the others were dropped,
    // oldest first.
    const auto length = redis_command(redis.port(), {"LLEN", list}).integer;
    BOOST_TEST(length == 3);
    BOOST_TEST(kept_bytes() <= 4096u);
    BOOST_TEST(redis_command(redis.port(), {"GET", "wshub:history-bytes:*"}).text ==
               std::to_string(kept_bytes()));
    // A message over the limit is not kept, nor what came before it: the list has no hole.
    publish(a.port(), R"({"data": ")" + std::string(5000, 'x') + R"("})");
    BOOST_TEST(redis_command(redis.port(), {"LLEN", list}).integer == 0);
    publish(a.port(), R"({"data": "small"})");
    BOOST_TEST(redis_command(redis.port(), {"LLEN", list}).integer == 1);
}

BOOST_FIXTURE_TEST_CASE(redis_killed_and_restarted_mid_stream_duplicates_nothing_and_reports_the_gap,
                        two_nodes) {
    raw_connection c(io);
    c.upgrade_ok(b.port(), "/im?user_id=alice&envelope=json");
    const std::string before_epoch(read_json(c).at("epoch").as_string());
    publish(a.port(), R"({"data": "before"})");
    BOOST_TEST(read_json(c).at("data").as_string() == "before");

    redis.kill();
    // Both nodes see the subscription go, and say so on /readyz; the API refuses at once.
    for (auto* node : {&a, &b})
        BOOST_REQUIRE(node->wait_for_log("bus: subscription to Redis").has_value());
    BOOST_TEST(http_get(a.port(), "/readyz").result_int() == 503u);
    BOOST_TEST(http_get(a.port(), "/metrics").body().find("\nwshub_bus_up 0\n") != std::string::npos);
    BOOST_TEST(http_post(a.port(), "/api/publish", R"({"data": "refused"})").result_int() == 503u);
    BOOST_TEST(http_get(a.port(), "/api/presence").result_int() == 503u);
    BOOST_TEST(http_post(a.port(), "/api/disconnect", R"({"user_id": "alice"})").result_int() == 503u);

    redis.restart();
    for (auto* node : {&a, &b})
        BOOST_REQUIRE(node->wait_for_log_count("bus: subscribed to Redis", 2, std::chrono::seconds(30)));
    BOOST_TEST(http_get(a.port(), "/readyz").result_int() == 200u);
    const auto metrics = http_get(a.port(), "/metrics").body();
    BOOST_TEST(metrics.find("\nwshub_bus_up 1\n") != std::string::npos);
    BOOST_TEST(metrics.find("\nwshub_bus_connections_lost_total 0\n") == std::string::npos);

    // Redis lost its counters: a new epoch, announced with a join frame, and a gap notice.
    const auto join = read_json(c);
    BOOST_TEST(join.at("type").as_string() == "join");
    BOOST_TEST(join.at("epoch").as_string() != before_epoch);
    const auto gap = read_json(c);
    BOOST_TEST(gap.at("type").as_string() == "gap");
    const auto after = publish(a.port(), R"({"data": "after"})");
    const auto m = read_json(c);
    BOOST_TEST(m.at("data").as_string() == "after");
    BOOST_TEST(seq_of(m) == after.at("id").to_number<std::uint64_t>());
    BOOST_TEST(payloads_before_pong(c).empty());
}

BOOST_FIXTURE_TEST_CASE(messages_sent_during_an_outage_come_back_when_redis_returns, two_nodes) {
    raw_connection c(io);
    c.upgrade_ok(a.port(), "/im?user_id=alice&envelope=json");
    BOOST_TEST(read_json(c).at("type").as_string() == "join");
    redis.kill();
    BOOST_REQUIRE(a.wait_for_log("bus: subscription to Redis").has_value());
    // They wait in the node's inbox, and go out once the node is subscribed again: published
    // before that, Redis would have sent them to nobody.
    std::string five;
    for (int i = 1; i <= 5; ++i)
        five += client_frame(op_text, "during " + std::to_string(i));
    c.send(five);
    redis.restart();
    std::vector<std::string> received;
    for (int frames = 0; received.size() < 5 && frames < 10; ++frames) {
        const auto f = c.read_frame();
        if (f.opcode != op_text) continue; // a keepalive ping while Redis restarts
        const auto o = json::parse(f.payload).as_object();
        if (o.contains("data")) received.emplace_back(o.at("data").as_string());
    }
    BOOST_TEST(received ==
                   (std::vector<std::string>{"during 1", "during 2", "during 3", "during 4", "during 5"}),
               boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_batch_redis_refuses_for_a_while_waits_and_is_published_when_it_takes_it,
                        two_nodes) {
    raw_connection c(io);
    c.upgrade_ok(b.port(), "/im?user_id=alice&envelope=json");
    BOOST_TEST(read_json(c).at("type").as_string() == "join");
    // Over maxmemory, Redis refuses the publish script ("OOM ..."): the bus is down, and the call
    // waits for Redis to take the message rather than answering for one that went nowhere.
    BOOST_REQUIRE(!redis_command(redis.port(), {"CONFIG", "SET", "maxmemory", "1"}).is_error());
    std::optional<http_response> answer; // written by the caller's thread, read after its join
    std::thread caller([&, port = a.port()] {
        try {
            answer = http_post(port, "/api/publish", R"({"data": "held"})");
        } catch (const std::exception&) { // no answer within the wait: checked below
        }
    });
    BOOST_TEST(a.wait_for_log("refuses to take messages (OOM").has_value());
    BOOST_TEST(http_get(a.port(), "/readyz").result_int() == 503u);
    BOOST_TEST(http_post(a.port(), "/api/publish", R"({"data": "refused"})").result_int() == 503u);
    BOOST_REQUIRE(!redis_command(redis.port(), {"CONFIG", "SET", "maxmemory", "0"}).is_error());
    caller.join();
    BOOST_REQUIRE(answer.has_value());
    BOOST_TEST(answer->result_int() == 200u);
    const auto m = read_json(c);
    BOOST_TEST(m.at("data").as_string() == "held");
    BOOST_TEST(seq_of(m) == json::parse(answer->body()).at("id").to_number<std::uint64_t>());
    BOOST_TEST(http_get(a.port(), "/readyz").result_int() == 200u);
}

BOOST_FIXTURE_TEST_CASE(a_batch_redis_refuses_for_good_gets_a_503_not_an_id, two_nodes) {
    // A key of another type where the counters live: the publish script fails, and would again.
    BOOST_REQUIRE(!redis_command(redis.port(), {"SET", "wshub:seq", "not a hash"}).is_error());
    const auto r = http_post(a.port(), "/api/publish", R"({"data": "lost"})");
    BOOST_TEST(r.result_int() == 503u);
    BOOST_TEST(r.body().find("lost 1 of 1 messages") != std::string::npos, r.body());
    BOOST_REQUIRE(!redis_command(redis.port(), {"DEL", "wshub:seq"}).is_error());
    BOOST_TEST(publish(a.port(), R"({"data": "taken"})").at("id").to_number<std::uint64_t>() >= 1u);
}

BOOST_AUTO_TEST_SUITE_END()

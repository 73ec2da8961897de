// Streams, the JSON envelope and recovery over loopback: per-stream seq numbers (the publish
// answer's id), the envelope mode (envelope=json or the subprotocol wshub.json) with its join
// frame, since= replay without gap or duplicate, the gap notice when the history no longer
// covers a position, and the exact join point while messages keep coming.
//
// "Nothing more arrives" is shown without a fixed wait, as in the publish_api suite: a ping sent
// after the publish answer comes back behind anything queued for the connection.
#include "http_client.hpp"
#include "json_frames.hpp"
#include "raw_connection.hpp"
#include "server_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace json = boost::json;
using namespace wshub_test;

namespace {

std::uint64_t publish(std::uint16_t port, const std::string& body) {
    return publish_api(port, body).at("id").to_number<std::uint64_t>();
}

struct history_server : server_fixture {
    history_server()
        : server_fixture(wshub_args(2, {"--history-size=3"})) {}
};

} // namespace

BOOST_AUTO_TEST_SUITE(recovery)

BOOST_FIXTURE_TEST_CASE(each_stream_numbers_its_messages_and_the_publish_id_is_the_seq, two_thread_server) {
    BOOST_TEST(publish(port(), R"({"data": "a"})") == 1u);
    BOOST_TEST(publish(port(), R"({"data": "n1", "channel": "news"})") == 1u);
    BOOST_TEST(publish(port(), R"({"data": "n2", "channel": "news"})") == 2u);
    BOOST_TEST(publish(port(), R"({"data": "s1", "channel": "sport"})") == 1u);
    // A message to users without a channel is in the all-clients stream.
    BOOST_TEST(publish(port(), R"({"data": "to bob", "user_ids": ["bob"]})") == 2u);
    BOOST_TEST(publish(port(), R"({"data": "n3 to bob", "channel": "news", "user_ids": ["bob"]})") == 3u);
    const auto batch =
        http_post(port(), "/api/publish", R"([{"data": "b"}, {"data": "n4", "channel": "news"}])");
    const auto ids = json::parse(batch.body());
    BOOST_TEST(ids.at(0).at("id").to_number<int>() == 3);
    BOOST_TEST(ids.at(1).at("id").to_number<int>() == 4);
}

BOOST_FIXTURE_TEST_CASE(the_envelope_carries_seq_and_channel_after_a_join_frame, two_thread_server) {
    publish(port(), R"({"data": "before", "channel": "news"})");
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=alice&channels=news&envelope=json");
    const auto join = read_json(c);
    BOOST_TEST(join.at("type").as_string() == "join");
    BOOST_TEST(join.at("epoch").as_string().size() == 16u);
    BOOST_TEST(join.at("seq").to_number<int>() == 0);
    BOOST_TEST(join.at("channels").at("news").to_number<int>() == 1);

    publish(port(), R"({"data": "hello \"you\""})");
    publish(port(), R"({"data": "AAEC/w==", "binary": true, "channel": "news"})");
    c.send(client_frame(op_text, "from alice"));
    auto m = read_json(c);
    BOOST_TEST(seq_of(m) == 1u);
    BOOST_TEST(m.at("channel").is_null());
    BOOST_TEST(m.at("data").as_string() == "hello \"you\"");
    BOOST_TEST(!m.contains("binary"));
    m = read_json(c);
    BOOST_TEST(seq_of(m) == 2u);
    BOOST_TEST(m.at("channel").as_string() == "news");
    BOOST_TEST(m.at("data").as_string() == "AAEC/w==");
    BOOST_TEST(m.at("binary").as_bool());
    m = read_json(c); // the client's own message, numbered in the all-clients stream
    BOOST_TEST(seq_of(m) == 2u);
    BOOST_TEST(m.at("channel").is_null());
    BOOST_TEST(m.at("data").as_string() == "from alice");
}

BOOST_FIXTURE_TEST_CASE(raw_and_envelope_clients_get_the_same_broadcast_each_in_its_form, two_thread_server) {
    raw_connection raw(io), enveloped(io);
    raw.upgrade_ok(port(), "/im?user_id=r");
    enveloped.upgrade_ok(port(), "/im?user_id=e&envelope=json");
    read_json(enveloped); // join
    BOOST_TEST(http_post(port(), "/api/publish", R"([{"data": "one"}, {"data": "two"}])").result_int() ==
               200u);
    BOOST_TEST(raw.read_frame().payload == "one");
    BOOST_TEST(raw.read_frame().payload == "two");
    BOOST_TEST(read_json(enveloped).at("data").as_string() == "one");
    BOOST_TEST(read_json(enveloped).at("data").as_string() == "two");
}

BOOST_FIXTURE_TEST_CASE(the_subprotocol_wshub_json_selects_the_envelope_and_is_named_in_the_101,
                        two_thread_server) {
    raw_connection c(io);
    const auto r = c.upgrade(port(), "/im?user_id=alice", "http://127.0.0.1",
                             {{"Sec-WebSocket-Protocol", "chat, wshub.json"}});
    BOOST_TEST(r.status == 101u);
    BOOST_TEST(r.field("Sec-WebSocket-Protocol") == "wshub.json");
    BOOST_TEST(read_json(c).at("type").as_string() == "join");
    publish(port(), R"({"data": "x"})");
    BOOST_TEST(read_json(c).at("data").as_string() == "x");
}

BOOST_FIXTURE_TEST_CASE(a_client_that_resumes_gets_what_it_missed_once_and_in_order, two_thread_server) {
    std::string epoch;
    std::uint64_t all = 0, news = 0;
    {
        raw_connection c(io);
        c.upgrade_ok(port(), "/im?user_id=alice&channels=news&envelope=json");
        epoch = std::string(read_json(c).at("epoch").as_string());
        publish(port(), R"({"data": "seen 1"})");
        publish(port(), R"({"data": "seen 2", "channel": "news"})");
        all = seq_of(read_json(c));
        news = seq_of(read_json(c));
    }
    // While alice is away: some for her, some not.
    publish(port(), R"({"data": "missed 1", "channel": "news"})");
    publish(port(), R"({"data": "not for alice", "user_ids": ["bob"]})");
    publish(port(), R"({"data": "missed 2", "user_ids": ["alice"]})");
    publish(port(), R"({"data": "not subscribed", "channel": "sport"})");
    publish(port(), R"({"data": "missed 3"})");

    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=alice&channels=news&envelope=json&since=" + std::to_string(all) +
                             ",news:" + std::to_string(news) + "&epoch=" + epoch);
    const auto join = read_json(c);
    BOOST_TEST(join.at("seq").to_number<int>() == 4); // seen 1, not for alice, missed 2, missed 3
    BOOST_TEST(join.at("channels").at("news").to_number<int>() == 2);
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i)
        got.emplace_back(read_json(c).at("data").as_string());
    BOOST_TEST(got == (std::vector<std::string>{"missed 1", "missed 2", "missed 3"}),
               boost::test_tools::per_element());
    // Then live, with nothing repeated in between.
    publish(port(), R"({"data": "live"})");
    const auto live = read_json(c);
    BOOST_TEST(live.at("data").as_string() == "live");
    BOOST_TEST(seq_of(live) == 5u);
}

BOOST_FIXTURE_TEST_CASE(a_bare_since_resumes_a_raw_client_too, two_thread_server) {
    for (int i = 1; i <= 4; ++i)
        publish(port(), R"({"data": ")" + std::to_string(i) + R"("})");
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=alice&since=2");
    BOOST_TEST(payloads_before_pong(c) == (std::vector<std::string>{"3", "4"}),
               boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_position_the_history_no_longer_covers_gets_a_gap_notice_first, history_server) {
    for (int i = 1; i <= 6; ++i)
        publish(port(), R"({"data": ")" + std::to_string(i) + R"("})");
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=alice&since=1");
    const auto gap = read_json(c);
    BOOST_TEST(gap.at("type").as_string() == "gap");
    BOOST_TEST(gap.at("channel").is_null());
    BOOST_TEST(gap.at("since").to_number<int>() == 1);
    BOOST_TEST(gap.at("oldest").to_number<int>() == 4);
    BOOST_TEST(payloads_before_pong(c) == (std::vector<std::string>{"4", "5", "6"}),
               boost::test_tools::per_element());

    // A position past the newest, and one from another epoch, are gaps too.
    raw_connection future(io), other_epoch(io);
    future.upgrade_ok(port(), "/im?user_id=alice&since=99");
    BOOST_TEST(read_json(future).at("oldest").to_number<int>() == 4);
    other_epoch.upgrade_ok(port(), "/im?user_id=alice&since=6&epoch=0123456789abcdef");
    BOOST_TEST(read_json(other_epoch).at("type").as_string() == "gap");
    BOOST_TEST(payloads_before_pong(other_epoch).size() == 3u);

    // A position the history covers exactly: no notice, nothing to replay.
    raw_connection current(io);
    current.upgrade_ok(port(), "/im?user_id=alice&since=6");
    BOOST_TEST(payloads_before_pong(current).empty());
}

BOOST_FIXTURE_TEST_CASE(bad_envelope_since_and_epoch_are_400_with_a_reason, two_thread_server) {
    const std::pair<const char*, const char*> cases[] = {
        {"/im?user_id=a&envelope=xml", "bad envelope=: the one envelope is json\n"},
        {"/im?user_id=a&since=abc", "bad since=: a position is SEQ or CHANNEL:SEQ, SEQ a number\n"},
        {"/im?user_id=a&since=news:1", "bad since=: a named channel must be among channels=\n"},
        {"/im?user_id=a&since=1,2", "bad since=: more than one bare SEQ\n"},
        {"/im?user_id=a&since=1&epoch=xyz", "bad epoch=: up to 64 hexadecimal digits\n"},
    };
    for (const auto& [target, reason] : cases) {
        raw_connection c(io);
        const auto r = c.upgrade(port(), target);
        BOOST_TEST(r.status == 400u, target);
        BOOST_TEST(r.body == reason, target);
    }
}

BOOST_FIXTURE_TEST_CASE(the_join_point_is_exact_while_messages_keep_coming, two_thread_server) {
    // A client broadcasts without pause; others join and resume meanwhile. Each must see the
    // all-clients stream without gap or duplicate from its join point (or its since=) on.
    raw_connection sender(io);
    sender.upgrade_ok(port(), "/im?user_id=sender");
    std::string burst;
    for (int i = 0; i < 400; ++i)
        burst += client_frame(op_text, "m" + std::to_string(i));
    sender.send(burst);

    raw_connection joined(io);
    joined.upgrade_ok(port(), "/im?user_id=j&envelope=json");
    const auto join = read_json(joined);
    const std::uint64_t at = join.at("seq").to_number<std::uint64_t>();
    const std::string epoch(join.at("epoch").as_string());
    raw_connection resumed(io);
    const std::uint64_t since = at > 10 ? at - 10 : 0;
    resumed.upgrade_ok(port(),
                       "/im?user_id=r&envelope=json&since=" + std::to_string(since) + "&epoch=" + epoch);
    const std::uint64_t resumed_at = read_json(resumed).at("seq").to_number<std::uint64_t>();

    // Every message after the join point, consecutive, up to the last of the burst.
    for (std::uint64_t expect = at + 1; expect <= 400; ++expect)
        BOOST_REQUIRE_EQUAL(seq_of(read_json(joined)), expect);
    for (std::uint64_t expect = since + 1; expect <= 400; ++expect)
        BOOST_REQUIRE_EQUAL(seq_of(read_json(resumed)), expect);
    BOOST_TEST(resumed_at >= at);
}

BOOST_AUTO_TEST_SUITE_END()

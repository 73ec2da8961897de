// The publish API over loopback: POST /api/publish to everyone, to users, to a channel and to
// both, single and batched, text and binary; its refusals (400, 401, 404, 405, 413), each a JSON
// {"error": ...}; POST /api/disconnect; GET /api/presence; /healthz and /readyz.
//
// "Nothing arrives" is shown without a fixed wait: the publish answer comes once the message is
// queued for every connection it reaches, and a ping sent after that answer comes back behind
// anything queued for that connection.
#include "http_client.hpp"
#include "json_frames.hpp"
#include "raw_connection.hpp"
#include "server_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <string>
#include <unistd.h>

namespace json = boost::json;
namespace http = boost::beast::http;
using namespace wshub_test;

namespace {

json::value body_json(const http_response& r) {
    BOOST_TEST(r[http::field::content_type] == "application/json");
    return json::parse(r.body());
}

// The refusal's status and its {"error": "..."} reason.
std::string error_of(const http_response& r, unsigned status) {
    BOOST_TEST(r.result_int() == status);
    const auto v = body_json(r);
    BOOST_REQUIRE(v.is_object() && v.as_object().contains("error"));
    return std::string(v.at("error").as_string());
}

std::int64_t number(const json::value& v, const char* key) {
    return v.at(key).to_number<std::int64_t>();
}

struct api_server : server_fixture {
    api_server()
        : server_fixture(wshub_args(
              2, {"--max-message-size=1024", "--max-publish-batch=3", "--max-publish-body=4096"})) {}
};

struct token_server : server_fixture {
    token_server()
        : server_fixture(wshub_args(1, {"--api-token=s3cret-token"})) {}
};

} // namespace

BOOST_AUTO_TEST_SUITE(publish_api)

BOOST_FIXTURE_TEST_CASE(a_publish_without_target_reaches_every_client, api_server) {
    raw_connection a(io), b(io);
    a.upgrade_ok(port(), "/im?user_id=alice");
    b.upgrade_ok(port(), "/im?user_id=bob");

    const auto r = http_post(port(), "/api/publish", R"({"data": "hello"})");
    BOOST_TEST(r.result_int() == 200u);
    const auto v = body_json(r);
    BOOST_TEST(number(v, "delivered") == 2);
    BOOST_TEST(number(v, "id") >= 1);
    for (auto* c : {&a, &b}) {
        const auto f = c->read_frame();
        BOOST_TEST(f.opcode == op_text);
        BOOST_TEST(f.payload == "hello");
    }

    // Binary data travels as base64 and goes out as a binary frame; ids grow.
    const auto rb = http_post(port(), "/api/publish", R"({"data": "AAEC/w==", "binary": true})");
    BOOST_TEST(number(body_json(rb), "id") > number(v, "id"));
    for (auto* c : {&a, &b}) {
        const auto f = c->read_frame();
        BOOST_TEST(f.opcode == op_binary);
        BOOST_TEST(f.payload == std::string("\x00\x01\x02\xff", 4));
    }
}

// A client that sends "Expect: 100-continue" waits for "100 Continue" before it sends the body;
// curl does so for a large body, and sends it anyway a second later. wshub never said it, so
// such a publish took a second longer.
BOOST_FIXTURE_TEST_CASE(a_client_that_expects_100_continue_is_told_to_send_the_body, api_server) {
    raw_connection a(io);
    a.upgrade_ok(port(), "/im?user_id=alice");
    const std::string body = R"({"data": "after the interim answer"})";
    raw_connection c(io);
    c.connect(port());
    c.send("POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Expect: 100-continue\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n");
    const auto go_on = c.read_response();
    BOOST_TEST(go_on.status == 100u, go_on.header);
    c.send(body);
    const auto r = c.read_response();
    BOOST_TEST(r.status == 200u, r.header << r.body);
    BOOST_TEST(a.read_frame().payload == "after the interim answer");

    // Over the body limit, the answer is final at once, and the body is never asked for.
    c.send("POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
    BOOST_TEST(c.read_response().status == 413u);
}

BOOST_FIXTURE_TEST_CASE(user_ids_and_channel_select_the_connections, api_server) {
    raw_connection alice1(io), alice2(io), bob(io), carol(io);
    alice1.upgrade_ok(port(), "/im?user_id=alice&channels=news,sport");
    alice2.upgrade_ok(port(), "/im?user_id=alice");
    bob.upgrade_ok(port(), "/im?user_id=bob&channels=news");
    carol.upgrade_ok(port(), "/im?user_id=carol");

    auto r = http_post(port(), "/api/publish", R"({"data": "to alice", "user_ids": ["alice"]})");
    BOOST_TEST(number(body_json(r), "delivered") == 2);
    r = http_post(port(), "/api/publish", R"({"data": "news", "channel": "news"})");
    BOOST_TEST(number(body_json(r), "delivered") == 2);
    r = http_post(
        port(), "/api/publish",
        R"({"data": "news for alice and carol", "channel": "news", "user_ids": ["alice", "carol"]})");
    BOOST_TEST(number(body_json(r), "delivered") == 1);
    r = http_post(port(), "/api/publish", R"({"data": "nobody", "user_ids": ["dave"]})");
    BOOST_TEST(number(body_json(r), "delivered") == 0);

    using v = std::vector<std::string>;
    BOOST_TEST(payloads_before_pong(alice1) == (v{"to alice", "news", "news for alice and carol"}),
               boost::test_tools::per_element());
    BOOST_TEST(payloads_before_pong(alice2) == v{"to alice"}, boost::test_tools::per_element());
    BOOST_TEST(payloads_before_pong(bob) == v{"news"}, boost::test_tools::per_element());
    BOOST_TEST(frames_before_pong(carol).empty());
}

BOOST_FIXTURE_TEST_CASE(a_batch_is_published_in_order_and_answered_in_order, api_server) {
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=alice&channels=news");
    const auto r = http_post(
        port(), "/api/publish",
        R"([{"data": "one"}, {"data": "two", "channel": "news"}, {"data": "three", "user_ids": ["bob"]}])");
    BOOST_TEST(r.result_int() == 200u);
    const auto v = body_json(r);
    BOOST_REQUIRE(v.is_array());
    BOOST_REQUIRE(v.as_array().size() == 3u);
    const auto& a = v.as_array();
    // Each id is the message's seq in its stream: the all-clients stream, then news's.
    BOOST_TEST(number(a[0], "id") == 1);
    BOOST_TEST(number(a[1], "id") == 1);
    BOOST_TEST(number(a[2], "id") == 2);
    BOOST_TEST(number(a[0], "delivered") == 1);
    BOOST_TEST(number(a[1], "delivered") == 1);
    BOOST_TEST(number(a[2], "delivered") == 0);
    BOOST_TEST(payloads_before_pong(c) == (std::vector<std::string>{"one", "two"}),
               boost::test_tools::per_element());
}

// Consecutive messages with the same target go to each of its connections as one piece: each
// still arrives whole, once, in order, and is counted for every connection it reached.
BOOST_FIXTURE_TEST_CASE(consecutive_messages_to_one_target_arrive_whole_and_in_order, api_server) {
    raw_connection alice1(io), alice2(io), bob(io), carol(io), enveloped(io);
    alice1.upgrade_ok(port(), "/im?user_id=alice&channels=news");
    alice2.upgrade_ok(port(), "/im?user_id=alice");
    bob.upgrade_ok(port(), "/im?user_id=bob&channels=news");
    carol.upgrade_ok(port(), "/im?user_id=carol");
    enveloped.upgrade_ok(port(), "/im?user_id=erin&channels=news&envelope=json");
    const auto join = json::parse(enveloped.read_frame().payload);
    BOOST_TEST(join.at("type").as_string() == "join");

    auto delivered = [&](const std::string& body) {
        const auto r = http_post(port(), "/api/publish", body);
        BOOST_REQUIRE(r.result_int() == 200u);
        std::vector<std::int64_t> out;
        const auto answers = body_json(r);
        for (const auto& a : answers.as_array())
            out.push_back(number(a, "delivered"));
        return out;
    };
    using n = std::vector<std::int64_t>;
    BOOST_TEST(delivered(R"([{"data": "n1", "channel": "news"}, {"data": "n2", "channel": "news"},
                             {"data": "n3", "channel": "news"}])") == (n{3, 3, 3}),
               boost::test_tools::per_element());
    BOOST_TEST(delivered(R"([{"data": "u1", "user_ids": ["alice", "carol"]},
                             {"data": "u2", "user_ids": ["alice", "carol"]}, {"data": "all"}])") ==
                   (n{3, 3, 5}),
               boost::test_tools::per_element());

    using v = std::vector<std::string>;
    BOOST_TEST(payloads_before_pong(alice1) == (v{"n1", "n2", "n3", "u1", "u2", "all"}),
               boost::test_tools::per_element());
    BOOST_TEST(payloads_before_pong(alice2) == (v{"u1", "u2", "all"}), boost::test_tools::per_element());
    BOOST_TEST(payloads_before_pong(bob) == (v{"n1", "n2", "n3", "all"}), boost::test_tools::per_element());
    BOOST_TEST(payloads_before_pong(carol) == (v{"u1", "u2", "all"}), boost::test_tools::per_element());
    // The envelope mode gets the same run, each message in its own envelope with its seq.
    v data;
    std::vector<std::int64_t> seqs;
    for (const auto& f : frames_before_pong(enveloped)) {
        const auto e = json::parse(f.payload);
        data.emplace_back(e.at("data").as_string());
        seqs.push_back(number(e, "seq"));
    }
    BOOST_TEST(data == (v{"n1", "n2", "n3", "all"}), boost::test_tools::per_element());
    BOOST_TEST(seqs == (n{1, 2, 3, 3}), boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(bad_calls_get_a_status_and_a_json_reason, api_server) {
    BOOST_TEST(!error_of(http_post(port(), "/api/publish", "{not json"), 400).empty());
    BOOST_TEST(error_of(http_post(port(), "/api/publish", R"({"data": 5})"), 400).find("data") !=
               std::string::npos);
    BOOST_TEST(error_of(http_post(port(), "/api/publish", R"({"text": "x"})"), 400).find("text") !=
               std::string::npos);
    BOOST_TEST(error_of(http_post(port(), "/api/publish", R"({"data": "!!", "binary": true})"), 400)
                   .find("base64") != std::string::npos);
    BOOST_TEST(error_of(http_post(port(), "/api/publish", R"({"data": "x", "channel": "no spaces"})"), 400)
                   .find("channel") != std::string::npos);
    BOOST_TEST(error_of(http_post(port(), "/api/publish", R"({"data": "x", "user_ids": []})"), 400)
                   .find("user_ids") != std::string::npos);
    // Over --max-message-size (1024), the batch limit (3) and the body limit (4096): 413.
    BOOST_TEST(
        error_of(http_post(port(), "/api/publish", R"({"data": ")" + std::string(1025, 'x') + "\"}"), 413)
            .find("--max-message-size") != std::string::npos);
    BOOST_TEST(error_of(http_post(port(), "/api/publish",
                                  R"([{"data":"1"},{"data":"2"},{"data":"3"},{"data":"4"}])"),
                        413)
                   .find("--max-publish-batch") != std::string::npos);
    BOOST_TEST(error_of(http_post(port(), "/api/publish", std::string(5000, ' ') + R"({"data": "x"})"), 413)
                   .find("--max-publish-body") != std::string::npos);

    BOOST_TEST(!error_of(http_get(port(), "/api/nothing-here"), 404).empty());
    const auto wrong_method = http_get(port(), "/api/publish");
    BOOST_TEST(!error_of(wrong_method, 405).empty());
    BOOST_TEST(wrong_method[http::field::allow] == "POST");
    BOOST_TEST(error_of(http_post(port(), "/api/presence", "{}"), 405).find("GET") != std::string::npos);
    BOOST_TEST(error_of(http_get(port(), "/api/presence?channel=bad%20name"), 400).find("channel") !=
               std::string::npos);
    BOOST_TEST(!error_of(http_post(port(), "/api/disconnect", R"({"user": "x"})"), 400).empty());

    // The server is still serving.
    BOOST_TEST(http_post(port(), "/api/publish", R"({"data": "x"})").result_int() == 200u);
}

BOOST_FIXTURE_TEST_CASE(with_a_token_the_api_wants_it_as_a_bearer_token, token_server) {
    const std::string body = R"({"data": "x"})";
    const auto none = http_post(port(), "/api/publish", body);
    BOOST_TEST(error_of(none, 401).find("bearer") != std::string::npos);
    BOOST_TEST(none[http::field::www_authenticate] == "Bearer");
    BOOST_TEST(
        !error_of(http_post(port(), "/api/publish", body, {{"Authorization", "Bearer wrong"}}), 401).empty());
    BOOST_TEST(
        !error_of(http_get(port(), "/api/presence", {{"Authorization", "Basic czNjcmV0LXRva2Vu"}}), 401)
             .empty());
    BOOST_TEST(
        http_post(port(), "/api/publish", body, {{"Authorization", "Bearer s3cret-token"}}).result_int() ==
        200u);
    BOOST_TEST(http_get(port(), "/api/presence", {{"Authorization", "bearer s3cret-token"}}).result_int() ==
               200u);
}

BOOST_AUTO_TEST_CASE(the_token_can_come_from_a_file) {
    char path[] = "/tmp/wshub-api-token-XXXXXX";
    const int fd = mkstemp(path);
    BOOST_REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(path) << "from-a-file\n";
    {
        test_io io;
        wshub_process server(wshub_args(1, {std::string("--api-token-file=") + path}));
        BOOST_TEST(http_post(server.port(), "/api/publish", R"({"data": "x"})").result_int() == 401u);
        BOOST_TEST(http_post(server.port(), "/api/publish", R"({"data": "x"})",
                             {{"Authorization", "Bearer from-a-file"}})
                       .result_int() == 200u);
        server.terminate();
        BOOST_TEST(server.wait_exit() == 0);
    }
    ::unlink(path);
}

BOOST_FIXTURE_TEST_CASE(without_a_token_a_proxied_call_is_refused, server_fixture) {
    // A proxy on the same machine is a loopback peer too: what it forwards is not trusted.
    const auto r =
        http_post(port(), "/api/publish", R"({"data": "x"})", {{"X-Forwarded-For", "203.0.113.7"}});
    BOOST_TEST(error_of(r, 401).find("--api-token") != std::string::npos);
    BOOST_TEST(http_post(port(), "/api/publish", R"({"data": "x"})").result_int() == 200u);
}

BOOST_FIXTURE_TEST_CASE(disconnect_closes_every_connection_of_the_user, api_server) {
    raw_connection alice1(io), alice2(io), bob(io);
    alice1.upgrade_ok(port(), "/im?user_id=alice");
    alice2.upgrade_ok(port(), "/im?user_id=alice");
    bob.upgrade_ok(port(), "/im?user_id=bob");

    const auto r = http_post(port(), "/api/disconnect", R"({"user_id": "alice"})");
    BOOST_TEST(r.result_int() == 200u);
    BOOST_TEST(number(body_json(r), "disconnected") == 2);
    for (auto* c : {&alice1, &alice2}) {
        const auto f = c->read_frame();
        BOOST_TEST(f.opcode == op_close);
        BOOST_TEST(close_code(f) == 4002u);
    }
    BOOST_TEST(frames_before_pong(bob).empty()); // still served
    BOOST_TEST(number(body_json(http_post(port(), "/api/disconnect", R"({"user_id": "nobody"})")),
                      "disconnected") == 0);
}

BOOST_FIXTURE_TEST_CASE(presence_counts_connections_by_user_and_channel, api_server) {
    raw_connection alice1(io), alice2(io), bob(io);
    alice1.upgrade_ok(port(), "/im?user_id=alice&channels=news");
    alice2.upgrade_ok(port(), "/im?user_id=alice");
    bob.upgrade_ok(port(), "/im?user_id=bob&channels=news,sport");

    const auto all = body_json(http_get(port(), "/api/presence"));
    BOOST_TEST(number(all, "connections") == 3);
    BOOST_TEST(number(all.at("users"), "alice") == 2);
    BOOST_TEST(number(all.at("users"), "bob") == 1);

    const auto news = body_json(http_get(port(), "/api/presence?channel=news"));
    BOOST_TEST(number(news, "connections") == 2);
    BOOST_TEST(number(news.at("users"), "alice") == 1);
    BOOST_TEST(number(news.at("users"), "bob") == 1);
    BOOST_TEST(std::string(news.at("channel").as_string()) == "news");

    const auto none = body_json(http_get(port(), "/api/presence?channel=empty"));
    BOOST_TEST(number(none, "connections") == 0);
    BOOST_TEST(none.at("users").as_object().empty());
}

BOOST_FIXTURE_TEST_CASE(bad_channel_lists_are_refused_at_connect, server_fixture) {
    raw_connection c(io);
    for (const char* target :
         {"/im?user_id=a&channels=bad%20name", "/im?user_id=a&channels=a,,b", "/im?user_id=a&channels=a,"}) {
        raw_connection bad(io);
        const auto r = bad.upgrade(port(), target);
        BOOST_TEST(r.status == 400u, target);
        BOOST_TEST(r.body.find("channels=") != std::string::npos, target);
    }
    std::string many = "/im?user_id=a&channels=c0";
    for (int i = 1; i <= 64; ++i)
        many += ",c" + std::to_string(i);
    raw_connection too_many(io);
    BOOST_TEST(too_many.upgrade(port(), many).status == 400u);
}

BOOST_FIXTURE_TEST_CASE(health_and_readiness, server_fixture) {
    BOOST_TEST(http_get(port(), "/healthz").result_int() == 200u);
    BOOST_TEST(http_get(port(), "/readyz").result_int() == 200u);

    // While draining, readiness says 503 to a connection that was already open.
    raw_connection ws(io), probe(io);
    ws.upgrade_ok(port(), "/im?user_id=a");
    probe.connect(port());
    server.terminate();
    const auto going_away = ws.read_frame(); // the drain has begun
    BOOST_TEST(going_away.opcode == op_close);
    probe.send("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const auto r = probe.read_response();
    BOOST_TEST(r.status == 503u);
    ws.send(client_frame(op_close, close_payload(1000)));
    BOOST_TEST(server.wait_exit() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

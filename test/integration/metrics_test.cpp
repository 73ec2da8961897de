// GET /metrics against a real server with two I/O threads: clients connect, send and leave in
// known ways, the API is called with answers and refusals, and the scrape's counters must have
// moved by exactly what happened. Nothing is timed: each count is read only after an event that
// the server's counting comes before (the publish answer comes after its batch's fan-out, which
// follows every earlier batch's; a client sees its connection end after the server counted it).
#include "http_client.hpp"
#include "raw_connection.hpp"
#include "server_fixture.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <sstream>
#include <string>

namespace http = boost::beast::http;
using namespace wshub_test;

namespace {

struct metrics_server : server_fixture {
    metrics_server()
        : server_fixture(wshub_args(2, {"--max-publish-body=4096"})) {}
};

// Each series ("name" or "name{labels}", as written) and its value.
std::map<std::string, double> scrape(std::uint16_t port) {
    const auto r = http_get(port, "/metrics");
    BOOST_TEST_REQUIRE(r.result_int() == 200u);
    BOOST_TEST(r[http::field::content_type].starts_with("text/plain; version=0.0.4"));
    std::map<std::string, double> series;
    std::istringstream lines(r.body());
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("#")) continue;
        const auto space = line.rfind(' ');
        BOOST_REQUIRE_MESSAGE(space != std::string::npos, "not a sample: " << line);
        series[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return series;
}

double value(const std::map<std::string, double>& series, const std::string& name) {
    const auto it = series.find(name);
    BOOST_REQUIRE_MESSAGE(it != series.end(), "no series " << name);
    return it->second;
}

std::string disconnects(std::string_view reason) {
    return "wshub_disconnects_total{reason=\"" + std::string(reason) + "\"}";
}

std::string api(std::string_view endpoint, unsigned status) {
    return "wshub_api_requests_total{endpoint=\"" + std::string(endpoint) + "\",status=\"" +
           std::to_string(status) + "\"}";
}

} // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_FIXTURE_TEST_CASE(the_counters_move_by_what_the_clients_and_the_api_did, metrics_server) {
    const auto before = scrape(port());
    BOOST_TEST(value(before, "wshub_connections") == 0.0);
    BOOST_TEST(value(before, "wshub_connects_total") == 0.0);
    BOOST_TEST(value(before, "wshub_fan_out_latency_seconds_count") == 0.0);

    raw_connection a(io), b(io), c(io);
    a.upgrade_ok(port(), "/im?user_id=a");
    b.upgrade_ok(port(), "/im?user_id=b");
    c.upgrade_ok(port(), "/im?user_id=c");

    // One client message, broadcast to all three (a included): 3 messages sent.
    const std::string hello = client_frame(op_text, "hello");
    a.send(hello);
    for (auto* conn : {&a, &b, &c})
        BOOST_TEST(conn->read_frame().payload == "hello");

    // The API: one publish to b (1 message sent), and refusals of each kind.
    const auto published = http_post(port(), "/api/publish", R"({"data": "pub", "user_ids": ["b"]})");
    BOOST_TEST(published.result_int() == 200u);
    BOOST_TEST(b.read_frame().payload == "pub");
    BOOST_TEST(http_post(port(), "/api/publish", "{not json").result_int() == 400u);
    BOOST_TEST(http_post(port(), "/api/publish", R"({"data": "x"})", {{"X-Forwarded-For", "203.0.113.7"}})
                   .result_int() == 401u);
    BOOST_TEST(http_post(port(), "/api/publish", std::string(5000, ' ')).result_int() == 413u);
    BOOST_TEST(http_get(port(), "/api/nothing").result_int() == 404u);

    // a leaves with a close frame; c is disconnected through the API and answers its close.
    const std::string a_close = client_frame(op_close, close_payload(1000));
    a.send(a_close);
    BOOST_TEST(a.read_frame().opcode == op_close);
    a.read_until_end(); // the server has counted a's end before it ends the connection
    BOOST_TEST(http_post(port(), "/api/disconnect", R"({"user_id": "c"})").result_int() == 200u);
    const auto c_closed = c.read_frame();
    BOOST_TEST(c_closed.opcode == op_close);
    BOOST_TEST(close_code(c_closed) == 4002u);
    const std::string c_close = client_frame(op_close, close_payload(4002));
    c.send(c_close);
    c.read_until_end();

    const auto after = scrape(port());
    BOOST_TEST(value(after, "wshub_connections") == 1.0); // b
    BOOST_TEST(value(after, "wshub_connects_total") == 3.0);
    BOOST_TEST(value(after, disconnects("client_close")) == 1.0);
    BOOST_TEST(value(after, disconnects("disconnected")) == 1.0);
    for (const char* other : {"client_gone", "protocol_error", "slow_consumer", "rate_limit", "idle",
                              "token_expired", "shutdown", "write_error", "server_error"})
        BOOST_TEST(value(after, disconnects(other)) == 0.0, other);

    BOOST_TEST(value(after, "wshub_messages_received_total") == 1.0);
    // Everything the clients wrote after their upgrades: a's message and close, c's close.
    BOOST_TEST(value(after, "wshub_received_bytes_total") ==
               static_cast<double>(hello.size() + a_close.size() + c_close.size()));
    BOOST_TEST(value(after, "wshub_messages_sent_total") == 4.0);
    // At least the data frames (3 x "hello", "pub") and the two close frames the server sent,
    // besides the three 101 responses.
    const double frames = 3 * (2 + 5) + (2 + 3) + (2 + 2) + (2 + 2 + 26);
    BOOST_TEST(value(after, "wshub_sent_bytes_total") > frames);
    BOOST_TEST(value(after, "wshub_queued_bytes") == 0.0); // every client read all it was sent

    BOOST_TEST(value(after, api("publish", 200)) == 1.0);
    BOOST_TEST(value(after, api("publish", 400)) == 1.0);
    BOOST_TEST(value(after, api("publish", 401)) == 1.0);
    BOOST_TEST(value(after, api("publish", 413)) == 1.0);
    BOOST_TEST(value(after, api("unknown", 404)) == 1.0);
    BOOST_TEST(value(after, api("disconnect", 200)) == 1.0);

    // Both messages' fan-outs were timed, each in one bucket.
    BOOST_TEST(value(after, "wshub_fan_out_latency_seconds_count") == 2.0);
    BOOST_TEST(value(after, "wshub_fan_out_latency_seconds_bucket{le=\"+Inf\"}") == 2.0);
    BOOST_TEST(value(after, "wshub_fan_out_latency_seconds_sum") > 0.0);
}

BOOST_FIXTURE_TEST_CASE(a_replay_counts_as_messages_sent, metrics_server) {
    for (const char* data : {R"({"data": "one"})", R"({"data": "two"})"})
        BOOST_TEST(http_post(port(), "/api/publish", data).result_int() == 200u); // to nobody yet
    raw_connection late(io);
    late.upgrade_ok(port(), "/im?user_id=late&since=0");
    BOOST_TEST(late.read_frame().payload == "one");
    BOOST_TEST(late.read_frame().payload == "two");
    BOOST_TEST(http_post(port(), "/api/publish", R"({"data": "three"})").result_int() == 200u);
    BOOST_TEST(late.read_frame().payload == "three");

    const auto m = scrape(port());
    BOOST_TEST(value(m, "wshub_messages_sent_total") == 3.0); // two replayed, one live
    BOOST_TEST(value(m, "wshub_fan_out_latency_seconds_count") == 3.0);
    BOOST_TEST(value(m, api("publish", 200)) == 3.0);
}

BOOST_FIXTURE_TEST_CASE(a_client_that_resets_is_counted_as_gone, metrics_server) {
    raw_connection a(io), b(io);
    a.upgrade_ok(port(), "/im?user_id=a");
    b.upgrade_ok(port(), "/im?user_id=b");
    a.reset();
    // b sees a's end through the presence count: once a is gone, it is no longer listed, and
    // its session left its shard (and was counted) before that.
    const auto deadline = std::chrono::steady_clock::now() + wait_timeout;
    for (;;) {
        const auto r = http_get(port(), "/api/presence");
        if (r.body().find("\"a\"") == std::string::npos) break;
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                              "a is still present: " << r.body());
    }
    const auto m = scrape(port());
    BOOST_TEST(value(m, disconnects("client_gone")) == 1.0);
    BOOST_TEST(value(m, "wshub_connections") == 1.0);
}

BOOST_AUTO_TEST_SUITE_END()

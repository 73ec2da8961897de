// The Redis fixture the multi-node tests stand on: it starts, answers, stores, and after a kill
// and restart on the same port it answers again with nothing kept (no persistence).
#include "redis_process.hpp"

#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <string>

using namespace wshub_test;

BOOST_AUTO_TEST_SUITE(redis_support, *boost::unit_test::precondition(redis_available))

BOOST_AUTO_TEST_CASE(starts_on_loopback_and_answers_ping) {
    redis_process redis;
    BOOST_TEST(redis.running());
    BOOST_TEST(redis.port() != 0);
    BOOST_TEST(redis.url() == "redis://127.0.0.1:" + std::to_string(redis.port()));
    const auto pong = redis_command(redis.port(), {"PING"});
    BOOST_TEST(pong.describe() == "+PONG");
}

BOOST_AUTO_TEST_CASE(set_and_get_round_trip) {
    redis_process redis;
    // Binary-safe: the encoding is length-prefixed, so CRLF and NUL inside a value survive.
    const std::string value("line\r\nwith\0nul", 14);
    BOOST_TEST(redis_command(redis.port(), {"SET", "wshub:test", value}).describe() == "+OK");
    const auto got = redis_command(redis.port(), {"GET", "wshub:test"});
    BOOST_TEST((got.type == redis_reply::kind::bulk), got.describe());
    BOOST_TEST(got.text == value);
    BOOST_TEST(redis_command(redis.port(), {"GET", "wshub:missing"}).is_nil());
    BOOST_TEST(redis_command(redis.port(), {"RPUSH", "wshub:list", "a", "b"}).integer == 2);
    BOOST_TEST(redis_command(redis.port(), {"LRANGE", "wshub:list", "0", "-1"}).describe() == "[$a, $b]");
    BOOST_TEST(redis_command(redis.port(), {"NO-SUCH-COMMAND"}).is_error());
}

BOOST_AUTO_TEST_CASE(restart_on_the_same_port_keeps_nothing) {
    redis_process redis;
    const auto port = redis.port();
    BOOST_TEST(redis_command(port, {"SET", "wshub:test", "before"}).describe() == "+OK");

    redis.kill();
    BOOST_TEST(!redis.running());
    BOOST_CHECK_THROW(redis_command(port, {"PING"}), std::runtime_error); // nobody listens

    redis.restart();
    BOOST_TEST(redis.running());
    BOOST_TEST(redis.port() == port);
    BOOST_TEST(redis_command(port, {"PING"}).describe() == "+PONG");
    BOOST_TEST(redis_command(port, {"GET", "wshub:test"}).is_nil());
    BOOST_TEST(redis_command(port, {"DBSIZE"}).integer == 0);
}

BOOST_AUTO_TEST_CASE(a_password_protected_server_counts_as_started) {
    redis_process redis({"--requirepass", "test-secret"});
    BOOST_TEST(redis_command(redis.port(), {"GET", "k"}).is_error()); // NOAUTH
    BOOST_TEST(redis_command(redis.port(), {"AUTH", "test-secret"}).describe() == "+OK");
}

BOOST_AUTO_TEST_SUITE_END()

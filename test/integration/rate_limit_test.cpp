// Per-connection inbound rate limits (--rate-limit messages/s, --rate-limit-bytes bytes/s): a
// client that floods is closed with 1008, a client that keeps under the rate for longer than one
// burst is never closed, and what it sends keeps reaching everyone while the flooder is cut off.
#include "raw_connection.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;

namespace {

// Small limits so that the test is short: the buckets hold one second's worth.
constexpr int message_rate = 50;
constexpr int byte_rate = 32 * 1024;

struct message_rate_server : server_fixture {
    message_rate_server()
        : server_fixture(wshub_args(1, {"--rate-limit", std::to_string(message_rate)})) {}
};

struct byte_rate_server : server_fixture {
    byte_rate_server()
        : server_fixture(
              wshub_args(1, {"--rate-limit", "0", "--rate-limit-bytes", std::to_string(byte_rate)})) {}
};

struct traffic {
    int polite_count = 0;             // messages the well-behaved client sends
    std::size_t polite_size = 0;      // bytes each
    std::chrono::milliseconds gap{0}; // between two of them: about half the allowed rate
    int flood_count = 0;
    std::size_t flood_size = 0;

    close_result flooder_closed;
    std::vector<std::string> seen_by_receiver; // the well-behaved client's messages, in order
    std::size_t flood_seen_by_receiver = 0;
};

std::string polite_message(const traffic& t, int i) {
    std::string p = "polite:" + std::to_string(i) + ":";
    p.resize(std::max(p.size(), t.polite_size), '.');
    return p;
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Sends at a steady pace, from the second message on (the first is already out): each send waits
// `gap` after the previous one, so a late timer never turns into a burst.
asio::awaitable<void> send_politely(ws_client& c, traffic& t) {
    for (int i = 1; i < t.polite_count; ++i) {
        co_await pause(t.gap);
        co_await c.async_send(polite_message(t, i), true);
    }
}

// Reads until its own last message is back (so its queue on the server never grows).
asio::awaitable<void> read_own(ws_client& c, const traffic& t) {
    const std::string last = polite_message(t, t.polite_count - 1);
    for (;;) {
        auto m = co_await c.async_read();
        if (m.payload == last) co_return;
    }
}

asio::awaitable<void> flood(ws_client& c, traffic& t) {
    for (int i = 0; i < t.flood_count; ++i) {
        std::string p = "flood:" + std::to_string(i) + ":";
        p.resize(std::max(p.size(), t.flood_size), '!');
        co_await c.async_send(std::move(p), false);
    }
    t.flooder_closed = co_await c.async_read_close();
}

asio::awaitable<void> receive(ws_client& c, traffic& t) {
    while (t.seen_by_receiver.size() < static_cast<std::size_t>(t.polite_count)) {
        auto m = co_await c.async_read();
        if (m.payload.starts_with("flood:")) {
            const auto expected = "flood:" + std::to_string(t.flood_seen_by_receiver) + ":";
            if (!m.payload.starts_with(expected))
                throw std::runtime_error("flood messages out of order: got '" + m.payload.substr(0, 16) +
                                         "'");
            ++t.flood_seen_by_receiver;
            continue;
        }
        t.seen_by_receiver.push_back(std::move(m.payload));
    }
}

void flooder_is_closed_and_polite_client_is_not(server_fixture& f, traffic& t) {
    ws_client polite(f.io), flooder(f.io), receiver(f.io);
    polite.connect(f.port(), "/im?user_id=polite");
    flooder.connect(f.port(), "/im?user_id=flooder");
    receiver.connect(f.port(), "/im?user_id=receiver");

    // The well-behaved client is already sending when the flood starts.
    const auto start = std::chrono::steady_clock::now();
    polite.send_text(polite_message(t, 0));
    std::vector<asio::awaitable<void>> ops;
    ops.push_back(send_politely(polite, t));
    ops.push_back(read_own(polite, t));
    ops.push_back(flood(flooder, t));
    ops.push_back(receive(receiver, t));
    f.io.run_all(std::move(ops), "a flooder and a well-behaved client", std::chrono::seconds(60), [&] {
        BOOST_TEST_MESSAGE("the receiver had " << t.seen_by_receiver.size() << " of " << t.polite_count);
        for (auto* c : {&polite, &flooder, &receiver})
            c->drop();
    });
    BOOST_TEST_MESSAGE(
        "the well-behaved client sent "
        << t.polite_count << " messages in "
        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
               .count()
        << " ms; the receiver got " << t.flood_seen_by_receiver << " of the " << t.flood_count
        << " flood messages");

    BOOST_TEST(t.flooder_closed.code == static_cast<unsigned>(websocket::close_code::policy_error),
               "close code " << t.flooder_closed.code);
    BOOST_TEST(t.flooder_closed.reason.find("rate limit") != std::string::npos, t.flooder_closed.reason);
    BOOST_TEST(t.flood_seen_by_receiver < static_cast<std::size_t>(t.flood_count),
               "the whole flood was broadcast");
    BOOST_TEST(f.server.wait_for_log_count("closing user_id=flooder", 1)); // the log comes through a pipe
    BOOST_TEST(f.server.count_log("closing user_id=flooder") == 1u);
    BOOST_TEST(f.server.count_log("closing user_id=polite") == 0u);

    BOOST_REQUIRE(t.seen_by_receiver.size() == static_cast<std::size_t>(t.polite_count));
    for (int i = 0; i < t.polite_count; ++i)
        if (t.seen_by_receiver[i] != polite_message(t, i)) {
            BOOST_ERROR("message " << i << " arrived as '" << t.seen_by_receiver[i].substr(0, 20) << "'");
            break;
        }
    // Still a normal member of the hub afterwards.
    polite.send_text("still here");
    BOOST_TEST(receiver.read().payload == "still here");
    BOOST_TEST(polite.read().payload == "still here");
}

// Sends `frames` in one write and reads what comes back: every answer is a pong until the close
// frame, which must be the rate limit's 1008. Returns how many pongs came before it.
std::size_t flood_until_1008(server_fixture& f, const std::string& frames) {
    raw_connection c(f.io);
    c.upgrade_ok(f.port(), "/im?user_id=flooder");
    c.send(frames);
    std::size_t pongs = 0;
    for (;;) {
        const auto frame = c.read_frame();
        if (frame.opcode == op_pong) {
            ++pongs;
            continue;
        }
        BOOST_REQUIRE_MESSAGE(frame.opcode == op_close, "unexpected opcode " << int(frame.opcode));
        BOOST_TEST(close_code(frame) == 1008u);
        BOOST_TEST(close_reason(frame).find("rate limit") != std::string::npos, close_reason(frame));
        break;
    }
    return pongs;
}

} // namespace

BOOST_AUTO_TEST_SUITE(rate_limits)

BOOST_FIXTURE_TEST_CASE(message_flood_gets_1008_steady_sender_does_not, message_rate_server) {
    traffic t;
    // Twice the burst at half the rate: it only passes if the bucket refills as it should.
    t.polite_count = 2 * message_rate;
    t.polite_size = 16;
    t.gap = std::chrono::milliseconds(2000 / message_rate);
    t.flood_count = 6 * message_rate;
    t.flood_size = 16;
    flooder_is_closed_and_polite_client_is_not(*this, t);
}

BOOST_FIXTURE_TEST_CASE(byte_flood_gets_1008_steady_sender_does_not, byte_rate_server) {
    traffic t;
    // 1 KiB every 62 ms is half the byte rate; 64 messages are twice the byte burst.
    t.polite_size = 1024;
    t.polite_count = 2 * byte_rate / 1024;
    t.gap = std::chrono::milliseconds(1000 * 1024 * 2 / byte_rate);
    // Few messages (the message rate is unlimited here) but five times the byte burst.
    t.flood_size = 8 * 1024;
    t.flood_count = 5 * byte_rate / 8192;
    flooder_is_closed_and_polite_client_is_not(*this, t);
}

BOOST_FIXTURE_TEST_CASE(ping_flood_gets_1008, message_rate_server) {
    // Every ping costs the server a pong: pings count against the message rate like messages.
    std::string pings;
    for (int i = 0; i < 6 * message_rate; ++i)
        pings += client_frame(op_ping, std::to_string(i));
    const auto pongs = flood_until_1008(*this, pings);
    BOOST_TEST(pongs <= static_cast<std::size_t>(message_rate));
}

BOOST_FIXTURE_TEST_CASE(pong_and_empty_fragment_floods_get_1008, message_rate_server) {
    std::string pongs, fragments;
    for (int i = 0; i < 6 * message_rate; ++i) {
        pongs += client_frame(op_pong, "");
        // An endless message of empty fragments: no message ever completes.
        fragments += i == 0 ? client_frame(op_text, "", false) : client_frame(op_continuation, "", false);
    }
    BOOST_TEST(flood_until_1008(*this, pongs) == 0u);
    BOOST_TEST(flood_until_1008(*this, fragments) == 0u);
}

BOOST_FIXTURE_TEST_CASE(ping_flood_over_the_byte_rate_gets_1008, byte_rate_server) {
    // The message rate is unlimited here; five times the byte burst in pings of 125 bytes.
    std::string pings;
    for (int i = 0; i < 5 * byte_rate / 125; ++i)
        pings += client_frame(op_ping, std::string(125, 'p'));
    const auto pongs = flood_until_1008(*this, pings);
    BOOST_TEST(pongs <= static_cast<std::size_t>(byte_rate / 125));
}

BOOST_AUTO_TEST_SUITE_END()

// Timeouts that free a connection slot from a peer that stalls: --handshake-timeout for the HTTP
// request (a slowloris that never finishes it, one that trickles it, one that sends nothing, an idle
// keep-alive connection) and for the WebSocket closing handshake; --ping-interval and
// --idle-timeout for established sessions (a client that answers pings stays, one that does not is
// dropped).
#include "raw_connection.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>

using namespace wshub_test;
namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds handshake_timeout{1000};
// "Within about the timeout": a generous multiple of it, for loaded machines and sanitizers.
constexpr milliseconds drop_deadline = 5 * handshake_timeout;

struct handshake_timeout_server : server_fixture {
    handshake_timeout_server()
        : server_fixture(wshub_args(1, {"--handshake-timeout", "1"})) {}
};

constexpr milliseconds ping_interval{200};
constexpr milliseconds idle_timeout{600};

struct ping_server : server_fixture {
    ping_server()
        : server_fixture(wshub_args(1, {"--ping-interval", "0.2", "--idle-timeout", "0.6"})) {}
};

// The close handshake after a rate-limit close is bounded by --handshake-timeout too.
struct rate_limited_server : server_fixture {
    rate_limited_server()
        : server_fixture(wshub_args(1, {"--rate-limit", "1", "--handshake-timeout", "1"})) {}
};

using clock_type = std::chrono::steady_clock;

milliseconds since(clock_type::time_point start) {
    return std::chrono::duration_cast<milliseconds>(clock_type::now() - start);
}

asio::awaitable<void> pause(milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// The server ended the connection (FIN or reset) between `at_least` and `drop_deadline` after
// `start`, having sent nothing; the read fails the test if the deadline passes first.
void expect_dropped_silently(raw_connection& c, clock_type::time_point start, milliseconds at_least,
                             milliseconds deadline = drop_deadline) {
    const auto end = c.read_until_end(deadline);
    const auto took = since(start);
    BOOST_TEST_MESSAGE("dropped after " << took.count() << " ms: " << end.end.message());
    BOOST_TEST((end.end == asio::error::eof || end.end == asio::error::connection_reset), end.end.message());
    BOOST_TEST(end.bytes.empty(), "the server answered: '" << end.bytes.substr(0, 60) << "'");
    // Not dropped before the timeout: the server waited as configured.
    BOOST_TEST(took >= at_least, "dropped after only " << took.count() << " ms");
}

// Sends one byte of a request at a time, `gap` apart, until the server ends the connection or the
// request runs out (it never completes: it has no blank line).
asio::awaitable<void> trickle(raw_connection& c, const bool& ended, milliseconds gap) {
    const std::string request =
        "GET /im?user_id=trickler HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(200, 'z');
    for (char ch : request) {
        if (ended || !c.is_open()) co_return;
        try {
            co_await c.async_send(std::string(1, ch));
        } catch (const boost::system::system_error&) {
            co_return; // the server has gone: what the reader reports
        }
        co_await pause(gap);
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(keepalive)

BOOST_FIXTURE_TEST_CASE(half_request_line_is_dropped_after_the_handshake_timeout, handshake_timeout_server) {
    raw_connection c(io);
    c.connect(port());
    const auto start = clock_type::now();
    c.send("GET /im?user_id=slowloris HT");
    expect_dropped_silently(c, start, handshake_timeout / 2);
}

BOOST_FIXTURE_TEST_CASE(connection_that_sends_nothing_is_dropped, handshake_timeout_server) {
    raw_connection c(io);
    const auto start = clock_type::now();
    c.connect(port());
    expect_dropped_silently(c, start, handshake_timeout / 2);
}

BOOST_FIXTURE_TEST_CASE(trickling_request_is_dropped_on_time, handshake_timeout_server) {
    // A byte every 100 ms keeps the connection busy: the deadline is for the whole request.
    raw_connection c(io);
    c.connect(port());
    const auto start = clock_type::now();
    bool ended = false;
    raw_read_result end;
    // A named lambda: the coroutine refers to its captures, which must outlive it.
    auto read_to_end = [&]() -> asio::awaitable<void> {
        end = co_await c.async_read_until_end();
        ended = true;
    };
    std::vector<asio::awaitable<void>> ops;
    ops.push_back(trickle(c, ended, milliseconds(100)));
    ops.push_back(read_to_end());
    io.run_all(std::move(ops), "a trickling request", drop_deadline, [&] { c.close(); });
    const auto took = since(start);
    BOOST_TEST_MESSAGE("dropped after " << took.count() << " ms: " << end.end.message());
    BOOST_TEST((end.end == asio::error::eof || end.end == asio::error::connection_reset), end.end.message());
    BOOST_TEST(end.bytes.empty());
    BOOST_TEST(took >= handshake_timeout / 2);
}

BOOST_FIXTURE_TEST_CASE(idle_http_keep_alive_connection_is_dropped, handshake_timeout_server) {
    raw_connection c(io);
    c.connect(port());
    c.send("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const auto r = c.read_response();
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.body == "pong");
    // The connection is kept alive for another request, but not forever.
    const auto start = clock_type::now();
    expect_dropped_silently(c, start, handshake_timeout / 2);
}

BOOST_FIXTURE_TEST_CASE(request_finished_within_the_timeout_is_served, handshake_timeout_server) {
    raw_connection c(io);
    c.connect(port());
    const std::string request = upgrade_request(port(), "/im?user_id=in-time");
    c.send(request.substr(0, 20));
    io.run(pause(handshake_timeout / 4), "pause", std::chrono::seconds(5), {});
    c.send(request.substr(20));
    BOOST_TEST(c.read_response().status == 101u);
    // Upgraded, the session is no longer subject to the HTTP deadline.
    c.send(client_frame(op_ping, "still here"));
    BOOST_TEST(c.read_frame().payload == "still here");
}

BOOST_FIXTURE_TEST_CASE(unanswered_close_handshake_is_ended_after_the_timeout, rate_limited_server) {
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=flooder");
    c.send(client_frame(op_text, "1") + client_frame(op_text, "2") + client_frame(op_text, "3"));
    // Read up to the server's close frame (1008, over the rate limit), then never answer it.
    for (;;) {
        const auto f = c.read_frame();
        if (f.opcode != op_close) continue;
        BOOST_TEST(close_code(f) == 1008u);
        break;
    }
    const auto start = clock_type::now();
    const auto end = c.read_until_end(drop_deadline);
    BOOST_TEST_MESSAGE("dropped " << since(start).count()
                                  << " ms after the close frame: " << end.end.message());
    BOOST_TEST((end.end == asio::error::eof || end.end == asio::error::connection_reset), end.end.message());
    BOOST_TEST(end.bytes.empty());
    BOOST_TEST(server.wait_for_log("disconnect user_id=flooder").has_value());
}

BOOST_FIXTURE_TEST_CASE(client_that_answers_pings_stays_connected, ping_server) {
    ws_client c(io);
    c.connect(port(), "/im?user_id=alive");
    // Beast answers pings by itself while a read is pending; count them on the way.
    int pings = 0;
    c.stream().control_callback([&pings](websocket::frame_type kind, boost::beast::string_view) {
        if (kind == websocket::frame_type::ping) ++pings;
    });
    struct pending_read {
        bool done = false;
        std::exception_ptr error;
        ws_message message;
    };
    auto r = std::make_shared<pending_read>();
    asio::co_spawn(io.context(), c.async_read(), [r](std::exception_ptr e, ws_message m) {
        r->error = e;
        r->message = std::move(m);
        r->done = true;
    });
    // Stay silent (but for pongs) for more than three idle timeouts.
    const milliseconds stay{2000};
    BOOST_TEST(!io.run_until([r] { return r->done; }, stay), "the read ended: " << describe(r->error));
    BOOST_TEST_MESSAGE(pings << " pings in " << stay.count() << " ms");
    BOOST_TEST(pings >= 3, "only " << pings << " pings in " << stay.count() << " ms");
    BOOST_TEST(server.count_log("disconnect user_id=alive") == 0u);

    // Still connected and in the hub: the pending read gets the next broadcast. (The sender
    // connects only now: without a read pending it would not answer pings and be dropped itself.)
    ws_client other(io);
    other.connect(port(), "/im?user_id=other");
    other.send_text("you are still here");
    BOOST_REQUIRE(io.run_until([r] { return r->done; }));
    BOOST_REQUIRE_MESSAGE(!r->error, describe(r->error));
    BOOST_TEST(r->message.payload == "you are still here");
}

BOOST_FIXTURE_TEST_CASE(client_that_never_reads_is_dropped_after_the_idle_timeout, ping_server) {
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=deaf");
    const auto start = clock_type::now();
    // The test reads nothing until the server has given up on the client.
    const auto line = server.wait_for_log("disconnect user_id=deaf", drop_deadline);
    const auto took = since(start);
    BOOST_REQUIRE_MESSAGE(line.has_value(), "not dropped within " << drop_deadline.count() << " ms");
    BOOST_TEST_MESSAGE("dropped after " << took.count() << " ms: " << *line);
    BOOST_TEST(line->find("idle timeout") != std::string::npos, *line);
    BOOST_TEST(took >= idle_timeout / 2);
    const auto end = c.read_until_end();
    BOOST_TEST((end.end == asio::error::eof || end.end == asio::error::connection_reset), end.end.message());
    const auto frames = parse_server_frames(end.bytes).frames;
    BOOST_TEST(!frames.empty(), "it was never pinged");
    for (const auto& f : frames)
        BOOST_TEST(f.opcode == op_ping);
}

BOOST_FIXTURE_TEST_CASE(client_that_reads_but_never_pongs_is_dropped, ping_server) {
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=mute");
    const auto start = clock_type::now();
    int pings = 0;
    boost::system::error_code end;
    io.run(
        [&]() -> asio::awaitable<void> {
            for (;;) {
                try {
                    const auto f = co_await c.async_read_frame();
                    if (f.opcode == op_ping) ++pings;
                } catch (const boost::system::system_error& e) {
                    end = e.code();
                    co_return;
                }
            }
        }(),
        "reading pings until the server drops the client", drop_deadline, [&] { c.close(); });
    const auto took = since(start);
    BOOST_TEST_MESSAGE("dropped after " << took.count() << " ms and " << pings
                                        << " pings: " << end.message());
    BOOST_TEST((end == asio::error::eof || end == asio::error::connection_reset), end.message());
    BOOST_TEST(pings >= 1);
    BOOST_TEST(took >= idle_timeout / 2);
    const auto line = server.wait_for_log("disconnect user_id=mute");
    BOOST_REQUIRE(line.has_value());
    BOOST_TEST(line->find("idle timeout") != std::string::npos, *line);
}

BOOST_FIXTURE_TEST_CASE(client_that_trickles_a_frame_is_dropped_after_the_idle_timeout, ping_server) {
    // A byte of a never-finished frame every 100 ms: bytes arrive, but no frame completes, so the
    // client is as silent as one that sends nothing (and the frame's buffer is not held forever).
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=trickler");
    const std::string frame = client_frame(op_binary, std::string(1000, 'x'));
    const auto start = clock_type::now();
    bool ended = false;
    raw_read_result end;
    auto send_slowly = [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < frame.size() && !ended && c.is_open(); ++i) {
            try {
                co_await c.async_send(frame.substr(i, 1));
            } catch (const boost::system::system_error&) {
                co_return; // the server has gone: what the reader reports
            }
            co_await pause(milliseconds(100));
        }
    };
    auto read_to_end = [&]() -> asio::awaitable<void> {
        end = co_await c.async_read_until_end();
        ended = true;
    };
    std::vector<asio::awaitable<void>> ops;
    ops.push_back(send_slowly());
    ops.push_back(read_to_end());
    io.run_all(std::move(ops), "a trickled frame", drop_deadline, [&] { c.close(); });
    const auto took = since(start);
    BOOST_TEST_MESSAGE("dropped after " << took.count() << " ms: " << end.end.message());
    BOOST_TEST((end.end == asio::error::eof || end.end == asio::error::connection_reset), end.end.message());
    BOOST_TEST(took >= idle_timeout / 2);
    const auto line = server.wait_for_log("disconnect user_id=trickler");
    BOOST_REQUIRE(line.has_value());
    BOOST_TEST(line->find("idle timeout") != std::string::npos, *line);
}

BOOST_AUTO_TEST_SUITE_END()

// SIGTERM/SIGINT: every client gets what was queued for it, then close 1001, and the process
// exits with status 0, within the drain timeout even if a client does not read or never stops
// sending. A second signal exits at once; an upgrade that arrives during the drain gets 503.
#include "raw_connection.hpp"
#include "raw_ws_client.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;

namespace {

constexpr unsigned going_away = static_cast<unsigned>(websocket::close_code::going_away);

// Five clients; three messages are queued for four of them when the signal arrives.
void every_client_gets_its_queue_then_1001(server_fixture& f, bool use_sigint) {
    constexpr int client_count = 5;
    constexpr int queued = 3;
    std::vector<std::unique_ptr<ws_client>> clients;
    for (int i = 0; i < client_count; ++i) {
        clients.push_back(std::make_unique<ws_client>(f.io));
        clients.back()->connect(f.port(), "/im?user_id=c" + std::to_string(i));
    }
    for (int i = 0; i < queued; ++i)
        clients[0]->send_text("queued " + std::to_string(i));
    // Its own copies came back, so the hub has taken all three; on shutdown it hands out what it
    // has to every shard before any close frame is sent.
    for (int i = 0; i < queued; ++i)
        BOOST_TEST(clients[0]->read().payload == "queued " + std::to_string(i));

    if (use_sigint)
        f.server.interrupt();
    else
        f.server.terminate();

    for (int i = 0; i < client_count; ++i) {
        BOOST_TEST_CONTEXT("client " << i) {
            const auto closed = clients[i]->read_close();
            BOOST_TEST(closed.code == going_away, "reason: '" << closed.reason << "'");
            BOOST_TEST(closed.messages_before == (i == 0 ? 0u : static_cast<std::size_t>(queued)));
            BOOST_TEST(closed.transport_error.empty(), "after the close frame: " << closed.transport_error);
        }
    }
    BOOST_TEST(f.server.wait_exit() == 0);
    BOOST_TEST(f.server.wait_for_log("wshub stopped").has_value());
}

struct short_drain_server : server_fixture {
    short_drain_server()
        : server_fixture(wshub_args(1, {"--drain-timeout", "1"})) {}
};

// A client that never answers the close frame keeps this server in its drain for a minute.
struct long_drain_server : server_fixture {
    long_drain_server()
        : server_fixture(wshub_args(1, {"--drain-timeout", "60", "--handshake-timeout", "60"})) {}
};

// One thread and no inbound rate limit: the readers can keep the hub busy without pause. The
// clients read more slowly than the hub sends at times: a large queue keeps them from a 1008.
struct flood_server : server_fixture {
    flood_server()
        : server_fixture(wshub_args(
              1, {"--rate-limit", "0", "--rate-limit-bytes", "0", "--max-queued-bytes", "67108864"})) {}
};

// A client that sends without pause: many small frames per write, so that the server, which
// handles them one by one, is the one that cannot keep up. It reads everything the server
// sends, and once the server's close frame has come it answers it and stops.
struct flooder {
    explicit flooder(test_io& io)
        : conn(io) {}

    // Until the server's close frame has been read, then the answering close frame.
    asio::awaitable<void> send_without_pause() {
        std::string frames;
        for (int i = 0; i < 4096; ++i)
            frames += client_frame(op_text, "flood");
        while (!close_code) {
            auto [ec, n] = co_await asio::async_write(conn.socket(), asio::buffer(frames),
                                                      asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            sent += 4096;
        }
        std::string close = client_frame(op_close, close_payload(*close_code));
        co_await asio::async_write(conn.socket(), asio::buffer(close), asio::as_tuple(asio::use_awaitable));
        sender_done = true;
    }

    // Walks the server's (unmasked) frames without keeping them, up to its close frame.
    asio::awaitable<void> read_until_close() {
        std::vector<char> buf(64 * 1024);
        std::string header; // the current frame's header bytes, while incomplete
        std::uint64_t skip = 0;
        bool in_close = false;
        std::string close;
        for (;;) {
            auto [ec, n] = co_await conn.socket().async_read_some(asio::buffer(buf),
                                                                  asio::as_tuple(asio::use_awaitable));
            if (ec) {
                close_code = close_code.value_or(0);
                co_return;
            }
            for (std::size_t at = 0; at < n;) {
                if (skip > 0) {
                    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(skip, n - at));
                    if (in_close) close.append(buf.data() + at, take);
                    at += take;
                    skip -= take;
                } else {
                    header.push_back(buf[at++]);
                    if (header.size() < 2) continue;
                    const auto len7 = static_cast<std::uint8_t>(header[1]) & 0x7F;
                    const std::size_t need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
                    if (header.size() < need) continue;
                    std::uint64_t len = len7;
                    if (need > 2) {
                        len = 0;
                        for (std::size_t k = 2; k < need; ++k)
                            len = (len << 8) | static_cast<std::uint8_t>(header[k]);
                    }
                    in_close = (static_cast<std::uint8_t>(header[0]) & 0x0F) == op_close;
                    skip = len;
                    header.clear();
                }
                if (in_close && skip == 0) {
                    close_code = close.size() >= 2 ? (static_cast<std::uint8_t>(close[0]) << 8) |
                                                         static_cast<std::uint8_t>(close[1])
                                                   : 0u;
                    co_return;
                }
            }
        }
    }

    raw_connection conn;
    std::size_t sent = 0;
    std::optional<unsigned> close_code;
    bool sender_done = false;
};

} // namespace

BOOST_AUTO_TEST_SUITE(graceful_shutdown)

BOOST_FIXTURE_TEST_CASE(sigterm_closes_every_client_with_1001_after_its_queue, server_fixture) {
    every_client_gets_its_queue_then_1001(*this, false);
}

BOOST_FIXTURE_TEST_CASE(sigint_closes_every_client_with_1001_after_its_queue, server_fixture) {
    every_client_gets_its_queue_then_1001(*this, true);
}

BOOST_FIXTURE_TEST_CASE(client_that_does_not_read_cannot_hold_up_the_exit, short_drain_server) {
    raw_ws_client stuck(io, 4096);
    stuck.upgrade(port(), "/im?user_id=stuck");
    ws_client sender(io);
    sender.connect(port(), "/im?user_id=sender");
    // About 400 KiB: below the default queue limit, far above what the stuck socket takes.
    const std::string chunk(8 * 1024, 'q');
    for (int i = 0; i < 50; ++i) {
        sender.send_text(chunk);
        BOOST_REQUIRE(sender.read().payload.size() == chunk.size());
    }

    const auto start = std::chrono::steady_clock::now();
    server.terminate();
    BOOST_TEST(sender.read_close().code == going_away);
    BOOST_TEST(server.wait_exit() == 0);
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST_MESSAGE("exit took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                                    << " ms with a 1 s drain timeout");
    BOOST_TEST(server.wait_for_log("drain timeout: closing 1 remaining").has_value(),
               "the stuck client should have been cut at the drain timeout");
    // Bounded by the drain timeout plus the final second for forced closes, with room for slow builds.
    BOOST_TEST(took < std::chrono::seconds(15));
}

BOOST_FIXTURE_TEST_CASE(clients_that_never_stop_sending_cannot_hold_up_the_exit, flood_server) {
    constexpr int client_count = 4;
    std::vector<std::unique_ptr<flooder>> clients;
    for (int i = 0; i < client_count; ++i) {
        clients.push_back(std::make_unique<flooder>(io));
        clients.back()->conn.upgrade_ok(port(), "/im?user_id=flood" + std::to_string(i));
    }
    int running = 0;
    auto ended = [&running](std::exception_ptr) { --running; };
    for (auto& c : clients) {
        running += 2;
        asio::co_spawn(io.context(), c->send_without_pause(), ended);
        asio::co_spawn(io.context(), c->read_until_close(), ended);
    }
    auto all_sent = [&] {
        for (auto& c : clients)
            if (c->sent < 100000) return false;
        return true;
    };
    BOOST_REQUIRE_MESSAGE(io.run_until(all_sent), "the clients could not get their messages through");

    server.terminate();
    auto all_closed = [&] {
        for (auto& c : clients)
            if (!c->close_code || !c->sender_done) return false;
        return true;
    };
    const bool closed = io.run_until(all_closed, std::chrono::seconds(20));
    for (auto& c : clients)
        c->conn.close();
    io.run_until([&running] { return running == 0; }, std::chrono::seconds(5));
    BOOST_REQUIRE_MESSAGE(closed, "not every client got its close frame within 20 s of SIGTERM");
    for (int i = 0; i < client_count; ++i)
        BOOST_TEST(*clients[i]->close_code == going_away, "client " << i << " after " << clients[i]->sent);
    BOOST_TEST(server.wait_exit() == 0);
}

BOOST_FIXTURE_TEST_CASE(a_second_signal_exits_at_once, long_drain_server) {
    raw_ws_client silent(io, 4096);
    silent.upgrade(port(), "/im?user_id=silent");
    server.terminate();
    BOOST_REQUIRE(server.wait_for_log("shutting down").has_value());
    // The drain would wait a minute for the silent client's close frame; the second signal ends it.
    server.terminate();
    BOOST_TEST(server.wait_exit() == 128 + SIGTERM);
    BOOST_TEST(server.wait_for_log("second signal").has_value());
}

BOOST_FIXTURE_TEST_CASE(an_upgrade_during_the_drain_gets_503, long_drain_server) {
    raw_ws_client silent(io, 4096); // keeps the server draining while the late upgrade arrives
    silent.upgrade(port(), "/im?user_id=silent");
    raw_connection early(io);
    early.connect(port());
    early.send("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    BOOST_REQUIRE(early.read_response().status == 200u); // the server is serving this connection

    server.terminate();
    BOOST_REQUIRE(server.wait_for_log("shutting down").has_value());
    early.send(upgrade_request(port(), "/im?user_id=late"));
    const auto answer = early.read_response();
    BOOST_TEST(answer.status == 503u);
    BOOST_TEST(answer.body == "server shutting down\n");

    silent.socket().close(); // the last client leaves: the drain ends
    BOOST_TEST(server.wait_exit() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(graceful_shutdown_mt)

BOOST_FIXTURE_TEST_CASE(sigterm_closes_every_client_with_1001_after_its_queue, two_thread_server) {
    every_client_gets_its_queue_then_1001(*this, false);
}

BOOST_AUTO_TEST_SUITE_END()

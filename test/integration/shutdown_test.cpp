// SIGTERM/SIGINT: every client gets what was queued for it, then close 1001, and the process
// exits with status 0, within the drain timeout even if a client does not read.
#include "raw_ws_client.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

using namespace wshub_test;
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

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(graceful_shutdown_mt)

BOOST_FIXTURE_TEST_CASE(sigterm_closes_every_client_with_1001_after_its_queue, two_thread_server) {
    every_client_gets_its_queue_then_1001(*this, false);
}

BOOST_AUTO_TEST_SUITE_END()

// Clients connecting and disconnecting (cleanly, abruptly, mid-broadcast) while a publisher
// broadcasts without pause, on a two-thread server: the server must keep serving, account for
// every disconnect, and still shut down cleanly.
#include "http_client.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;

namespace {

constexpr int churner_count = 50;
constexpr int connects_each = 4; // 200 connections in all

struct churn_state {
    std::uint16_t port = 0;
    std::size_t published = 0;
    int churners_left = churner_count;
    std::set<ws_client*> live; // for cancelling everything on timeout
};

constexpr std::size_t publish_window = 16;

// Sizes from one frame to many TCP segments, so that clients also vanish mid-write.
std::string tick(std::size_t n) {
    static constexpr std::size_t sizes[] = {64, 4 * 1024, 64 * 1024};
    std::string p = "tick " + std::to_string(n) + " ";
    p.resize(sizes[n % 3], '.');
    return p;
}

// Broadcasts windows of messages and waits for its own copies of each window, until the churn is
// over: a steady stream that never outruns its own queue.
asio::awaitable<void> publish(ws_client& pub, churn_state& s) {
    while (s.churners_left > 0) {
        for (std::size_t i = 0; i < publish_window; ++i)
            co_await pub.async_send(tick(s.published + i), true);
        for (std::size_t i = 0; i < publish_window; ++i) {
            auto m = co_await pub.async_read();
            if (m.payload != tick(s.published + i))
                throw std::runtime_error("publisher got '" + m.payload.substr(0, 16) + "' instead of tick " +
                                         std::to_string(s.published + i));
        }
        s.published += publish_window;
    }
}

// A client listed in churn_state::live for exactly as long as it exists, even when an
// operation throws.
class listed_client {
  public:
    listed_client(test_io& io, std::set<ws_client*>& live)
        : client_(io)
        , live_(live) {
        live_.insert(&client_);
    }
    ~listed_client() { live_.erase(&client_); }
    listed_client(const listed_client&) = delete;
    listed_client& operator=(const listed_client&) = delete;

    ws_client* operator->() noexcept { return &client_; }

  private:
    ws_client client_;
    std::set<ws_client*>& live_;
};

// Connects and leaves `connects_each` times, in one of three ways each time.
asio::awaitable<void> churn_loop(test_io& io, churn_state& s, int id) {
    for (int k = 0; k < connects_each; ++k) {
        listed_client c(io, s.live);
        co_await c->async_connect(s.port, "/im?user_id=churn-" + std::to_string(id));
        switch ((id + k) % 3) {
        case 0: // reads some messages, then the closing handshake
            for (int i = 0; i < 3; ++i)
                co_await c->async_read();
            co_await c->async_close(websocket::close_code::normal);
            break;
        case 1: // reads some messages, then vanishes
            for (int i = 0; i < 3; ++i)
                co_await c->async_read();
            c->drop();
            break;
        default: // vanishes at once, while broadcasts are being queued for it
            c->drop();
            break;
        }
    }
    --s.churners_left;
}

// Two threads; the publisher sends as fast as it can, so the inbound rate limits are lifted.
struct churn_server : server_fixture {
    churn_server()
        : server_fixture(wshub_args(2, {"--rate-limit", "0", "--rate-limit-bytes", "0"})) {}
};

} // namespace

BOOST_AUTO_TEST_SUITE(churn)

BOOST_FIXTURE_TEST_CASE(connect_disconnect_churn_under_broadcast, churn_server) {
    churn_state state;
    state.port = port();
    ws_client publisher(io);
    publisher.connect(port(), "/im?user_id=publisher");
    const auto rss_before = server.rss_kib();

    std::vector<asio::awaitable<void>> ops;
    ops.push_back(publish(publisher, state));
    for (int i = 0; i < churner_count; ++i)
        ops.push_back(churn_loop(io, state, i));
    io.run_all(std::move(ops), "churn under broadcast", std::chrono::seconds(60), [&] {
        BOOST_TEST_MESSAGE(state.churners_left << " churners unfinished, " << state.published
                                               << " published");
        publisher.drop();
        for (auto* c : state.live)
            c->drop();
    });
    BOOST_TEST_MESSAGE(state.published << " messages broadcast during the churn; server RSS " << rss_before
                                       << " KiB before, " << server.rss_kib() << " KiB after");
    BOOST_TEST(state.published > 0u);

    // Every one of the 200 sessions was seen to end: none is left registered.
    const std::size_t connections = churner_count * connects_each;
    BOOST_TEST(server.wait_for_log_count("disconnect user_id=churn-", connections),
               server.count_log("disconnect user_id=churn-")
                   << " of " << connections << " disconnects logged");
    BOOST_TEST(server.count_log(" connect user_id=churn-") == connections);

    // Still serving: HTTP, and a fresh pair of clients.
    const auto ping = http_get(port(), "/ping");
    BOOST_TEST(ping.result_int() == 200u);
    BOOST_TEST(ping.body() == "pong");
    ws_client a(io), b(io);
    a.connect(port(), "/im?user_id=fresh-a");
    b.connect(port(), "/im?user_id=fresh-b");
    a.send_text("after the churn");
    BOOST_TEST(b.read().payload == "after the churn");
    BOOST_TEST(a.read().payload == "after the churn");
    BOOST_TEST(publisher.read().payload == "after the churn");

    server.terminate();
    for (auto* c : {&publisher, &a, &b})
        BOOST_TEST(c->read_close().code == static_cast<unsigned>(websocket::close_code::going_away));
    BOOST_TEST(server.wait_exit() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

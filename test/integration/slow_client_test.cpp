// A client that stops reading is cut off with close 1008 once its queue passes
// --max-queued-bytes, and nobody else notices: a fast client still gets every message.
#include "raw_ws_client.hpp"
#include "server_fixture.hpp"
#include "server_frames.hpp"
#include "ws_client.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <string>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;

namespace {

constexpr std::size_t message_size = 8 * 1024;
constexpr std::size_t queue_limit = 64 * 1024;

// The server's socket send buffer takes a backlog too before its own queue starts to fill: Linux
// grows it up to tcp_wmem's maximum (4 MiB by default) even when the peer's window is tiny. So
// send a quarter more than both together, and at least 400 messages.
std::size_t kernel_send_buffer_max() {
    std::ifstream in("/proc/sys/net/ipv4/tcp_wmem");
    std::size_t min = 0, def = 0, max = 0;
    if (!(in >> min >> def >> max)) return 4 * 1024 * 1024;
    return max;
}

const int message_count = static_cast<int>(
    std::max<std::size_t>(400, (kernel_send_buffer_max() + queue_limit) * 5 / 4 / message_size));
constexpr std::string_view overflow_log = "closing user_id=stuck";

std::vector<std::string> stuck_server_args(unsigned threads) {
    // A small queue limit so that a few batches overflow it; a short close-handshake timeout so
    // that the stuck client, which never answers the close frame, is disconnected soon after.
    // The fast client sends megabytes in a burst: the inbound rate limits are not under test here.
    return wshub_args(threads, {"--max-queued-bytes", std::to_string(queue_limit), "--handshake-timeout", "2",
                                "--rate-limit", "0", "--rate-limit-bytes", "0"});
}

struct stuck_client_server : server_fixture {
    stuck_client_server()
        : server_fixture(stuck_server_args(1)) {}
};

struct stuck_client_server_mt : server_fixture {
    stuck_client_server_mt()
        : server_fixture(stuck_server_args(2)) {}
};

std::string payload(int i) {
    std::string p = "msg:" + std::to_string(i) + ":";
    p.resize(message_size, 'x');
    return p;
}

// The fast client reads back its own messages while it sends, never more than this many behind:
// its backlog on the server stays well below the limit however the test's thread is scheduled.
constexpr int read_lag = 4;

asio::awaitable<void> exchange_all(ws_client& c, std::vector<std::string>& received) {
    auto read_one = [&]() -> asio::awaitable<void> {
        auto m = co_await c.async_read();
        received.push_back(std::move(m.payload));
    };
    for (int i = 0; i < message_count; ++i) {
        co_await c.async_send(payload(i), true);
        if (i >= read_lag) co_await read_one();
    }
    while (received.size() < static_cast<std::size_t>(message_count))
        co_await read_one();
}

void check_stuck_client_bytes(const raw_read_result& r) {
    BOOST_TEST_MESSAGE("the stuck client read " << r.bytes.size() << " bytes, then: " << r.end.message());
    BOOST_TEST((r.end == asio::error::eof), "the server should end with a FIN, not: " << r.end.message());
    const auto parsed = parse_server_frames(r.bytes);
    BOOST_TEST(parsed.trailing_bytes == 0u, "a frame was cut short: frames must stay whole");
    BOOST_REQUIRE(!parsed.frames.empty());

    // Stop at the first bad frame: one message says more than hundreds.
    for (std::size_t i = 0; i < parsed.frames.size(); ++i) {
        const auto& f = parsed.frames[i];
        if (f.masked || !f.fin || f.rsv != 0) {
            BOOST_ERROR("frame " << i << ": masked=" << f.masked << " fin=" << f.fin
                                 << " rsv=" << int(f.rsv));
            break;
        }
    }
    const auto& last = parsed.frames.back();
    BOOST_TEST(last.opcode == op_close, "the last frame should be the close frame");
    BOOST_TEST(close_code(last) == 1008u, "close reason: '" << close_reason(last) << "'");

    // Before it: a prefix of the broadcast, in order, each message whole.
    const std::size_t data_frames = parsed.frames.size() - 1;
    for (std::size_t i = 0; i < data_frames; ++i) {
        const auto& f = parsed.frames[i];
        if (f.opcode != op_text || f.payload != payload(static_cast<int>(i))) {
            BOOST_ERROR("frame " << i << ": opcode " << int(f.opcode) << ", " << f.payload.size()
                                 << " bytes starting with '" << f.payload.substr(0, 12) << "'");
            break;
        }
    }
    BOOST_TEST(data_frames < static_cast<std::size_t>(message_count), "the stuck client was never cut off");
}

void stuck_client_is_cut_off_and_fast_client_gets_everything(server_fixture& f) {
    raw_ws_client stuck(f.io, 4096); // a small window, so the server's queue fills up quickly
    stuck.upgrade(f.port(), "/im?user_id=stuck");
    ws_client fast(f.io);
    fast.connect(f.port(), "/im?user_id=fast");

    std::vector<std::string> got;
    const auto start = std::chrono::steady_clock::now();
    f.io.run(exchange_all(fast, got), "the fast client's burst", wait_timeout, [&] {
        BOOST_ERROR("the fast client had received " << got.size() << " of " << message_count);
        fast.drop();
    });
    BOOST_TEST_MESSAGE(
        "the fast client's burst took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
               .count()
        << " ms");
    BOOST_TEST(got.size() == static_cast<std::size_t>(message_count));
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i] != payload(static_cast<int>(i))) {
            BOOST_ERROR("fast client: message " << i << " starts with '" << got[i].substr(0, 12) << "'");
            break;
        }

    // Only now does the stuck client read: what the server still had for it, then its close frame
    // (it has --handshake-timeout from the overflow to take it), then the end of the connection.
    BOOST_REQUIRE_MESSAGE(f.server.wait_for_log(overflow_log).has_value(),
                          "the stuck client was never closed");
    check_stuck_client_bytes(stuck.read_until_end());

    // The fast client is still a normal member of the hub.
    fast.send_text("after");
    BOOST_TEST(fast.read().payload == "after");
}

} // namespace

BOOST_AUTO_TEST_SUITE(slow_client)

BOOST_FIXTURE_TEST_CASE(stuck_client_gets_1008_others_get_everything, stuck_client_server) {
    stuck_client_is_cut_off_and_fast_client_gets_everything(*this);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(slow_client_mt)

BOOST_FIXTURE_TEST_CASE(stuck_client_gets_1008_others_get_everything, stuck_client_server_mt) {
    stuck_client_is_cut_off_and_fast_client_gets_everything(*this);
}

BOOST_AUTO_TEST_SUITE_END()

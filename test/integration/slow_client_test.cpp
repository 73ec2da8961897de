// A client that stops reading is cut off with close 1008 once its queue has stayed over
// --max-queued-bytes for --slow-client-timeout, or passes --max-queued-bytes-hard, and nobody
// else notices: a fast client still gets every message. A client that reads more slowly than a
// burst arrives, but faster than the average rate, is never closed.
#include "raw_connection.hpp"
#include "raw_ws_client.hpp"
#include "server_fixture.hpp"
#include "server_frames.hpp"
#include "ws_client.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
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

// A publisher sends bursts of large messages; readers that are slower than a burst but faster
// than the average rate catch up between bursts. With the defaults (1 MiB messages, 1 MiB queue
// limit) none of them may be judged too slow.
constexpr std::size_t burst_message_size = 1024 * 1024;
constexpr int bursts = 2;
constexpr int burst_messages = 6;
constexpr auto burst_interval = std::chrono::seconds(4);
// A reader takes one message every half second: 2 MiB/s, above the 1.5 MiB/s average.
constexpr auto reader_pace = std::chrono::milliseconds(500);

std::string burst_payload(int i) {
    std::string p = "burst:" + std::to_string(i) + ":";
    p.resize(burst_message_size, 'b');
    return p;
}

asio::awaitable<void> publish_bursts(ws_client& c, int& published) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto start = std::chrono::steady_clock::now();
    for (int b = 0; b < bursts; ++b) {
        // The publisher's own pace: a burst every few seconds.
        timer.expires_at(start + b * burst_interval);
        co_await timer.async_wait(asio::use_awaitable);
        for (int i = 0; i < burst_messages; ++i) {
            co_await c.async_send(burst_payload(b * burst_messages + i), false);
            ++published;
        }
        for (int i = 0; i < burst_messages; ++i) // its own copies, read at once
            co_await c.async_read();
    }
}

// Reads at most one message per `reader_pace`, with a small receive window so that what it has
// not read yet stays on the server; fails on anything but the expected messages.
asio::awaitable<void> read_slowly(raw_connection& c, int& received) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < bursts * burst_messages; ++i) {
        // The reader's own speed, not a wait for the server.
        timer.expires_at(start + i * reader_pace);
        co_await timer.async_wait(asio::use_awaitable);
        const auto f = co_await c.async_read_frame();
        if (f.opcode == op_close)
            throw std::runtime_error("closed with " + std::to_string(close_code(f)) + " '" + close_reason(f) +
                                     "' after " + std::to_string(received) + " messages");
        if (f.opcode != op_binary || f.payload != burst_payload(i))
            throw std::runtime_error("message " + std::to_string(i) + " is not the one sent");
        ++received;
    }
}

// A client that stopped reading, with nothing more sent to it: closed by the keep-alive sweep
// once its backlog has been over the soft limit for the timeout.
void stopped_reader_is_closed(server_fixture& f, std::size_t bytes_to_send) {
    raw_ws_client stuck(f.io, 4096);
    stuck.upgrade(f.port(), "/im?user_id=stuck");
    ws_client sender(f.io);
    sender.connect(f.port(), "/im?user_id=sender");
    for (std::size_t sent = 0; sent < bytes_to_send; sent += message_size) {
        sender.send_text(payload(0));
        BOOST_REQUIRE(sender.read().payload.size() == message_size);
    }
    BOOST_REQUIRE_MESSAGE(f.server.wait_for_log(overflow_log).has_value(),
                          "the stopped reader was never closed");
    const auto r = stuck.read_until_end();
    const auto parsed = parse_server_frames(r.bytes);
    BOOST_REQUIRE(!parsed.frames.empty());
    BOOST_TEST(parsed.frames.back().opcode == op_close);
    BOOST_TEST(close_code(parsed.frames.back()) == 1008u);
    sender.send_text("after"); // the other client is still served
    BOOST_TEST(sender.read().payload == "after");
}

} // namespace

BOOST_AUTO_TEST_SUITE(slow_client_policy)

BOOST_FIXTURE_TEST_CASE(readers_that_keep_up_on_average_survive_bursts, server_fixture) {
    ws_client publisher(io);
    publisher.connect(port(), "/im?user_id=publisher");
    publisher.stream().auto_fragment(false); // one frame per message, as browsers send them
    constexpr int reader_count = 3;
    std::vector<std::unique_ptr<raw_connection>> readers;
    for (int i = 0; i < reader_count; ++i) {
        readers.push_back(std::make_unique<raw_connection>(io));
        // A small window: what the reader has not taken stays queued on the server.
        readers.back()->connect(port(), "127.0.0.1", 64 * 1024);
        readers.back()->send(upgrade_request(port(), "/im?user_id=reader" + std::to_string(i)));
        BOOST_REQUIRE(readers.back()->read_response().status == 101u);
    }
    int published = 0;
    std::vector<int> received(reader_count, 0);
    std::vector<asio::awaitable<void>> ops;
    ops.push_back(publish_bursts(publisher, published));
    for (int i = 0; i < reader_count; ++i)
        ops.push_back(read_slowly(*readers[i], received[i]));
    io.run_all(
        std::move(ops), "bursts to readers at 2 MiB/s", wait_timeout,
        [&] {
            publisher.drop();
            for (auto& r : readers)
                r->close();
        },
        [&] {
            std::size_t n = static_cast<std::size_t>(published);
            for (int r : received)
                n += static_cast<std::size_t>(r);
            return n;
        });
    for (int i = 0; i < reader_count; ++i)
        BOOST_TEST(received[i] == bursts * burst_messages, "reader " << i);
    BOOST_TEST(server.count_log("client too slow") == 0u);
}

struct soft_limit_server : server_fixture {
    soft_limit_server()
        : server_fixture(wshub_args(1, {"--max-queued-bytes", "65536", "--slow-client-timeout", "1",
                                        "--socket-send-buffer", "65536", "--handshake-timeout", "2"})) {}
};

BOOST_FIXTURE_TEST_CASE(a_stopped_reader_is_closed_after_the_slow_client_timeout, soft_limit_server) {
    stopped_reader_is_closed(*this, 1024 * 1024); // over the soft limit, under the hard one
}

struct hard_limit_server : server_fixture {
    hard_limit_server()
        : server_fixture(wshub_args(1, {"--max-queued-bytes", "65536", "--max-queued-bytes-hard", "262144",
                                        "--slow-client-timeout", "3600", "--socket-send-buffer", "65536",
                                        "--handshake-timeout", "2"})) {}
};

BOOST_FIXTURE_TEST_CASE(a_stopped_reader_is_closed_at_the_hard_limit_at_once, hard_limit_server) {
    // The timeout is an hour: only the hard limit can close it within the test.
    stopped_reader_is_closed(*this, 1024 * 1024);
}

BOOST_AUTO_TEST_SUITE_END()

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

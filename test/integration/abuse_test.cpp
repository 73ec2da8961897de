// Abuse and faults, each bounded in count and time, while a well-behaved pair of clients talks
// through the server all along: (a) thousands of connections that send garbage or half a request,
// (b) clients that reset their connection in the middle of a broadcast stream, (c) a client that
// stops reading with a tiny receive window while a large stream is pushed, (d) a client that
// floods messages, with the rate limits lifted (it is only slowed down by TCP) and with the
// default ones (it is closed with 1008).
//
// After each: every message meant for the pair (and for the other well-behaved clients) arrived,
// in order; the server still answers /ping; its RSS before and after is in the test log; and the
// fixture checks that it exits cleanly.
#include "http_client.hpp"
#include "raw_connection.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// Under the sanitizers RSS measures the sanitizer's bookkeeping (ASan's quarantine keeps freed
// memory, TSan's shadow memory is several times the program's): it is reported, not asserted.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * 1024;

// Hundreds of sockets at once: take every descriptor the hard limit allows.
void raise_descriptor_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

std::vector<std::string> abuse_args(unsigned threads, std::vector<std::string> extra = {}) {
    // A short HTTP deadline, so that half requests are dropped within the test's time.
    extra.insert(extra.begin(), {"--handshake-timeout", "1"});
    return wshub_args(threads, std::move(extra));
}

// Lifted rate limits: for a publisher that pushes tens of MiB (above the default 16 MiB/s), and
// for a flooder that only TCP slows down.
std::vector<std::string> unlimited_args(unsigned threads) {
    return abuse_args(threads, {"--rate-limit", "0", "--rate-limit-bytes", "0"});
}

// The flood without rate limits is broadcast to the test's own clients, which read on the same
// thread as the flooder writes: a server with two threads fans it out faster than they read. The
// queue limit is raised above the flood's whole volume so that they are not judged too slow (the
// slow-client suites test that limit); what is tested here is that nothing else cuts anyone off.
std::vector<std::string> flood_args(unsigned threads) {
    auto args = unlimited_args(threads);
    args.insert(args.end(), {"--max-queued-bytes", std::to_string(64 * 1024 * 1024)});
    return args;
}

template <unsigned Threads>
struct flood_server : server_fixture {
    flood_server()
        : server_fixture(flood_args(Threads)) {}
};

template <unsigned Threads>
struct abuse_server : server_fixture {
    abuse_server()
        : server_fixture(abuse_args(Threads)) {}
};

template <unsigned Threads>
struct unlimited_server : server_fixture {
    unlimited_server()
        : server_fixture(unlimited_args(Threads)) {}
};

// Messages are "tag:index:" and padding; the pair's end marker is tagged "end".
std::string tagged(std::string_view tag, std::size_t index, std::size_t size) {
    std::string p = std::string(tag) + ":" + std::to_string(index) + ":";
    if (p.size() < size) p.resize(size, static_cast<char>('a' + index % 26));
    return p;
}

asio::awaitable<void> pause(milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// A well-behaved client whose every message is checked: each tag's messages must come in order,
// none missing, none twice.
struct observer {
    observer(ws_client& c, std::string n)
        : client(c)
        , name(std::move(n)) {}
    ws_client& client;
    std::string name;
    std::map<std::string, std::size_t, std::less<>> next; // the index due for each tag
    bool finished = false;                                // the end marker arrived

    std::size_t seen(std::string_view tag) const {
        auto it = next.find(tag);
        return it == next.end() ? 0 : it->second;
    }
};

// The well-behaved pair and the other observers, and the coroutines that keep them talking and
// checking while an abuse runs. Everything runs on the test's one thread.
class harness {
  public:
    explicit harness(server_fixture& f)
        : f_(f)
        , changed_(f.io.context(), asio::steady_timer::time_point::max())
        , a_(f.io)
        , b_(f.io) {
        raise_descriptor_limit();
        a_.connect(f.port(), "/im?user_id=pair-a");
        b_.connect(f.port(), "/im?user_id=pair-b");
        watch(a_, "pair-a");
        watch(b_, "pair-b");
    }

    // Another client whose messages are all checked (a publisher reading back its own stream).
    void watch(ws_client& c, std::string name) { observers_.emplace_back(c, std::move(name)); }

    void start_measuring() {
        rss_before_ = f_.server.rss_kib();
        rss_peak_ = rss_before_;
    }
    void sample_rss() { rss_peak_ = std::max(rss_peak_, f_.server.rss_kib()); }
    std::size_t rss_growth_kib() const { return rss_peak_ > rss_before_ ? rss_peak_ - rss_before_ : 0; }

    // Wakes whatever waits in until(): called on every change the waiters look at.
    void notify() { changed_.cancel(); }

    // Waits until `done()` holds, re-checking on every notify(). `done` must outlive the wait: pass
    // a named function (GCC 12 mishandles a temporary std::function made in a co_await expression).
    asio::awaitable<void> until(const std::function<bool()>& done) {
        while (!done()) {
            if (stopped_) throw std::runtime_error("stopped: another part of the test failed");
            // The timer never expires: cancel() in notify() is the wake-up.
            co_await changed_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }

    // Until every observer has seen at least `n` messages tagged `tag`.
    asio::awaitable<void> until_seen(std::string_view tag, std::size_t n) {
        const std::function<bool()> done = [this, tag, n] {
            for (const auto& o : observers_)
                if (o.seen(tag) < n) return false;
            return true;
        };
        co_await until(done);
    }

    // Runs `abuse` (and `alongside`, coroutines that may end after it) while the pair talks; the
    // pair sends its end marker once the abuse is over. `cancel` must end the abuse's operations.
    void run(asio::awaitable<void> abuse, std::vector<asio::awaitable<void>> alongside, std::string_view what,
             std::chrono::seconds limit, std::function<void()> cancel) {
        std::vector<asio::awaitable<void>> ops = std::move(alongside);
        ops.push_back(run_abuse(std::move(abuse)));
        ops.push_back(talk());
        for (auto& o : observers_)
            ops.push_back(observe(o));
        const auto start = std::chrono::steady_clock::now();
        f_.io.run_all(std::move(ops), what, limit, [&] {
            BOOST_TEST_MESSAGE(progress_report());
            stopped_ = true;
            notify();
            for (auto& o : observers_)
                o.client.drop();
            if (cancel) cancel();
        });
        BOOST_TEST_MESSAGE(
            what << ": "
                 << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count()
                 << " ms; " << progress_report());
    }

    // Every observer saw the end marker, all the pair's messages, and `expected` messages of each
    // given tag (std::nullopt: any number, as long as they came in order).
    void check(const std::map<std::string, std::optional<std::size_t>>& expected) {
        BOOST_TEST(pair_sent_ >= min_pair_messages);
        for (const auto& o : observers_) {
            BOOST_TEST_CONTEXT(o.name) {
                BOOST_TEST(o.finished);
                BOOST_TEST(o.seen("pair") == pair_sent_);
                for (const auto& [tag, count] : expected)
                    if (count)
                        BOOST_TEST(o.seen(tag) == *count, tag << ": " << o.seen(tag) << " of " << *count);
            }
        }
    }

    // The server is up and still serves a new pair; RSS before, at the peak sampled and now.
    void check_server_after() {
        sample_rss();
        const auto now = f_.server.rss_kib();
        BOOST_TEST_MESSAGE("server RSS: " << rss_before_ << " KiB before, " << rss_peak_
                                          << " KiB at the peak, " << now << " KiB after");
        const auto ping = http_get(f_.port(), "/ping");
        BOOST_TEST(ping.result_int() == 200u);
        BOOST_TEST(ping.body() == "pong");
        ws_client x(f_.io), y(f_.io);
        x.connect(f_.port(), "/im?user_id=after-x");
        y.connect(f_.port(), "/im?user_id=after-y");
        x.send_text("after the abuse");
        BOOST_TEST(y.read().payload == "after the abuse");
        BOOST_TEST(x.read().payload == "after the abuse");
    }

  private:
    asio::awaitable<void> run_abuse(asio::awaitable<void> abuse) {
        co_await std::move(abuse);
        abuse_over_ = true;
        notify();
    }

    // pair-a sends a message, both wait for it, then a short pause: the pair keeps talking for
    // the whole abuse, at most 500 messages a second (under the default rate limit). Once the
    // abuse is over, the end marker: it is broadcast after everything the abuse made the server
    // send, so an observer that sees it has seen all.
    asio::awaitable<void> talk() {
        for (;;) {
            if (abuse_over_ && pair_sent_ >= min_pair_messages) break;
            co_await a_.async_send(tagged("pair", pair_sent_, 48), true);
            ++pair_sent_;
            co_await until_seen("pair", pair_sent_);
            co_await pause(milliseconds(2));
        }
        co_await a_.async_send(tagged("end", 0, 8), true);
    }

    asio::awaitable<void> observe(observer& o) {
        while (!o.finished) {
            const auto m = co_await o.client.async_read();
            const auto colon = m.payload.find(':');
            const auto second = m.payload.find(':', colon + 1);
            if (colon == std::string::npos || second == std::string::npos)
                throw std::runtime_error(o.name + ": malformed message '" + m.payload.substr(0, 40) + "'");
            const auto tag = m.payload.substr(0, colon);
            const auto index = std::stoull(m.payload.substr(colon + 1, second - colon - 1));
            if (tag == "end") {
                o.finished = true;
            } else {
                auto& due = o.next[tag];
                if (index != due)
                    throw std::runtime_error(o.name + " got " + tag + ":" + std::to_string(index) +
                                             " where " + tag + ":" + std::to_string(due) +
                                             " was due (loss, duplicate or reordering)");
                ++due;
            }
            notify();
        }
    }

    std::string progress_report() const {
        std::string s = "pair sent " + std::to_string(pair_sent_);
        for (const auto& o : observers_) {
            s += "; " + o.name + " saw";
            for (const auto& [tag, n] : o.next)
                s += " " + tag + ":" + std::to_string(n);
            if (o.finished) s += " end";
        }
        return s;
    }

    static constexpr std::size_t min_pair_messages = 10;

    server_fixture& f_;
    asio::steady_timer changed_;
    ws_client a_, b_;
    std::deque<observer> observers_; // stable addresses for the coroutines
    std::size_t pair_sent_ = 0;
    bool abuse_over_ = false;
    bool stopped_ = false;
    std::size_t rss_before_ = 0;
    std::size_t rss_peak_ = 0;
};

// ---- (a) garbage and half requests --------------------------------------------------------------

constexpr int garbage_kinds = 10;

const char* garbage_kind_name(int kind) {
    static constexpr const char* names[garbage_kinds] = {
        "random bytes",        "half a request header", "unknown method and version", "a 9 KiB header",
        "upgrade without key", "TLS ClientHello",       "half a request line",        "nothing at all",
        "body on a GET",       "bad chunked body",
    };
    return names[kind];
}

std::string garbage(int i) {
    std::minstd_rand rng(static_cast<unsigned>(i) + 1);
    auto random_bytes = [&](std::size_t n) {
        std::string s(n, '\0');
        for (auto& c : s)
            c = static_cast<char>(rng() & 0xFF);
        return s;
    };
    switch (i % garbage_kinds) {
    case 0:
        return random_bytes(100 + i % 200) + "\r\n\r\n";
    case 1:
        return "GET /im?user_id=half HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr";
    case 2:
        return "BREW /pot HTCPCP/1.0\r\nAccept-Additions: milk\r\n\r\n";
    case 3:
        return "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(9 * kib, 'a') + "\r\n\r\n";
    case 4:
        return "GET /im?user_id=nokey HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    case 5:
        return std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + random_bytes(64);
    case 6:
        return "GET /im?user_id=h";
    case 7:
        return {};
    case 8:
        return "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999\r\n\r\nabc";
    default:
        return "POST /im HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    }
}

struct garbage_tally {
    int next = 0;                     // the next connection to make
    int workers = 0;                  // workers still running
    int answered[garbage_kinds] = {}; // a 4xx response, then the end
    int dropped[garbage_kinds] = {};  // the end without a response
    std::vector<std::string> failures;
    std::set<raw_connection*> open;
};

// Each connection's own deadline: the server must answer or drop it by then.
constexpr milliseconds garbage_deadline{15000};

// Makes connections one after the other until `total` have been made by all workers together.
asio::awaitable<void> garbage_worker(server_fixture& f, harness& h, garbage_tally& t, int total) {
    while (t.next < total) {
        const int i = t.next++;
        const int kind = i % garbage_kinds;
        raw_connection c(f.io);
        t.open.insert(&c);
        bool timed_out = false;
        asio::steady_timer guard(co_await asio::this_coro::executor, garbage_deadline);
        guard.async_wait([&c, &timed_out](boost::system::error_code ec) {
            if (ec) return; // cancelled: the connection ended in time
            timed_out = true;
            c.close();
        });
        try {
            co_await c.async_connect(f.port());
            if (const auto bytes = garbage(i); !bytes.empty()) {
                try {
                    co_await c.async_send(bytes);
                } catch (const boost::system::system_error&) {
                    // The server may answer and close before all of a long request is written.
                }
            }
            const auto end = co_await c.async_read_until_end();
            guard.cancel();
            const bool ended = end.end == asio::error::eof || end.end == asio::error::connection_reset;
            if (timed_out || !ended) {
                t.failures.push_back(
                    std::to_string(i) + " (" + garbage_kind_name(kind) + "): " +
                    (timed_out ? "still open after " + std::to_string(garbage_deadline.count()) + " ms"
                               : "ended with " + end.end.message()));
            } else if (end.bytes.empty()) {
                ++t.dropped[kind];
            } else if (end.bytes.starts_with("HTTP/1.1 4")) {
                ++t.answered[kind];
            } else {
                t.failures.push_back(std::to_string(i) + " (" + garbage_kind_name(kind) + "): answered '" +
                                     end.bytes.substr(0, end.bytes.find('\r')) + "'");
            }
        } catch (const std::exception& e) {
            guard.cancel();
            t.failures.push_back(std::to_string(i) + " (" + garbage_kind_name(kind) + "): " + e.what());
        }
        t.open.erase(&c);
    }
    --t.workers;
    h.notify();
}

void garbage_connections(server_fixture& f, int total, int concurrency) {
    harness h(f);
    h.start_measuring();
    garbage_tally t;
    std::vector<asio::awaitable<void>> workers;
    for (t.workers = 0; t.workers < concurrency; ++t.workers)
        workers.push_back(garbage_worker(f, h, t, total));
    auto abuse = [&]() -> asio::awaitable<void> {
        const std::function<bool()> all_done = [&] { return t.workers == 0; };
        co_await h.until(all_done);
        h.sample_rss();
    };
    h.run(abuse(), std::move(workers), std::to_string(total) + " garbage connections",
          std::chrono::seconds(100), [&] {
              t.next = total; // no new connections
              for (auto* c : t.open)
                  c->close();
          });

    int answered = 0, dropped = 0;
    for (int k = 0; k < garbage_kinds; ++k) {
        BOOST_TEST_MESSAGE(garbage_kind_name(k)
                           << ": " << t.answered[k] << " answered with 4xx, " << t.dropped[k] << " dropped");
        answered += t.answered[k];
        dropped += t.dropped[k];
    }
    BOOST_TEST(t.failures.empty(), t.failures.size() << " failures, the first: "
                                                     << (t.failures.empty() ? "" : t.failures.front()));
    BOOST_TEST(answered + dropped == total);
    // What can be judged at once is answered; only unfinished requests wait to be dropped.
    BOOST_TEST(t.answered[3] > 0, "a request header over 8 KiB is answered (431)");
    BOOST_TEST(t.dropped[7] > 0);
    h.check({});
    h.check_server_after();
}

// ---- (b) resets in the middle of a stream -------------------------------------------------------

std::size_t stream_size(std::size_t i) {
    static constexpr std::size_t sizes[] = {256, 1 * kib, 3 * kib};
    return sizes[i % 3];
}

void resets_during_stream(server_fixture& f, int victims, std::size_t messages) {
    harness h(f);
    ws_client publisher(f.io);
    publisher.connect(f.port(), "/im?user_id=publisher");
    h.watch(publisher, "publisher");
    std::vector<std::unique_ptr<raw_connection>> v;
    for (int i = 0; i < victims; ++i) {
        v.push_back(std::make_unique<raw_connection>(f.io));
        v.back()->upgrade_ok(f.port(), "/im?user_id=victim-" + std::to_string(i));
    }
    h.start_measuring();

    // The victims read nothing, so the server is still writing to them (or has their backlog
    // queued) when they reset: a wave of them every tenth of the stream.
    constexpr std::size_t waves = 10;
    constexpr std::size_t window = 8; // messages the publisher may be ahead of the slowest observer
    int reset_so_far = 0;
    auto reset_wave = [&] {
        const int until = std::min(victims, reset_so_far + (victims + static_cast<int>(waves) - 1) /
                                                               static_cast<int>(waves));
        for (; reset_so_far < until; ++reset_so_far)
            v[reset_so_far]->reset();
    };
    auto stream = [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < messages; ++i) {
            co_await h.until_seen("stream", i >= window ? i - window : 0);
            co_await publisher.async_send(tagged("stream", i, stream_size(i)), false);
            if (i % (messages / waves) == messages / waves / 2) reset_wave();
        }
        while (reset_so_far < victims)
            reset_wave();
        co_await h.until_seen("stream", messages);
        h.sample_rss();
    };
    h.run(stream(), {}, std::to_string(victims) + " resets during a stream", std::chrono::seconds(100),
          [&] { publisher.drop(); });
    h.check({{"stream", messages}});
    BOOST_TEST(f.server.wait_for_log_count("disconnect user_id=victim-", static_cast<std::size_t>(victims)),
               f.server.count_log("disconnect user_id=victim-")
                   << " of " << victims << " disconnects logged");
    h.check_server_after();
}

// ---- (c) a client that stops reading ------------------------------------------------------------

void stuck_reader_during_big_stream(server_fixture& f, std::size_t push_bytes, std::size_t rss_bound) {
    harness h(f);
    ws_client publisher(f.io);
    publisher.connect(f.port(), "/im?user_id=publisher");
    h.watch(publisher, "publisher");
    raw_connection stuck(f.io);
    stuck.connect(f.port(), "127.0.0.1", 4096);
    stuck.send(upgrade_request(f.port(), "/im?user_id=stuck"));
    BOOST_REQUIRE(stuck.read_response().status == 101u);
    h.start_measuring();

    constexpr std::size_t message_size = 64 * kib;
    const std::size_t messages = push_bytes / message_size;
    constexpr std::size_t window = 4;
    auto stream = [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < messages; ++i) {
            co_await h.until_seen("stream", i >= window ? i - window : 0);
            co_await publisher.async_send(tagged("stream", i, message_size), false);
            if (i % 16 == 0) h.sample_rss();
        }
        co_await h.until_seen("stream", messages);
    };
    h.run(stream(), {}, std::to_string(push_bytes / mib) + " MiB past a client that does not read",
          std::chrono::seconds(100), [&] { publisher.drop(); });
    h.check({{"stream", messages}});

    // The stuck client's backlog was capped (close 1008), not kept.
    BOOST_TEST(f.server.wait_for_log("closing user_id=stuck").has_value());
    BOOST_TEST_MESSAGE("server RSS grew by " << h.rss_growth_kib() << " KiB while " << push_bytes / mib
                                             << " MiB were pushed");
    if (!sanitized)
        BOOST_TEST(h.rss_growth_kib() < rss_bound / kib,
                   "RSS grew by " << h.rss_growth_kib() << " KiB, over " << rss_bound / kib << " KiB");
    h.check_server_after();
}

// ---- (d) a flooding client ----------------------------------------------------------------------

std::string flood_bytes(std::size_t count, std::size_t size) {
    std::string bytes;
    for (std::size_t i = 0; i < count; ++i)
        bytes += client_frame(op_binary, tagged("flood", i, size));
    return bytes;
}

// With the rate limits lifted the flooder is only slowed down by TCP: all of its flood is
// broadcast, in order, and nobody is closed. It reads what it is sent, like any client must.
void flood_without_rate_limits(server_fixture& f, std::size_t count, std::size_t size) {
    harness h(f);
    raw_connection flooder(f.io);
    flooder.upgrade_ok(f.port(), "/im?user_id=flooder");
    h.start_measuring();
    std::size_t own_flood_back = 0;
    auto flood = [&]() -> asio::awaitable<void> {
        co_await flooder.async_send(flood_bytes(count, size));
        co_await h.until_seen("flood", count);
        h.sample_rss();
    };
    auto read_back = [&]() -> asio::awaitable<void> {
        for (;;) {
            const auto fr = co_await flooder.async_read_frame();
            if (fr.opcode == op_close)
                throw std::runtime_error("the flooder was closed with " + std::to_string(close_code(fr)) +
                                         " '" + close_reason(fr) + "'");
            if (fr.payload.starts_with("flood:")) ++own_flood_back;
            if (fr.payload.starts_with("end:")) co_return;
        }
    };
    std::vector<asio::awaitable<void>> alongside;
    alongside.push_back(read_back());
    h.run(flood(), std::move(alongside), std::to_string(count) + " messages flooded without rate limits",
          std::chrono::seconds(100), [&] { flooder.close(); });
    BOOST_TEST(own_flood_back == count);
    h.check({{"flood", count}});
    BOOST_TEST(f.server.count_log("over its rate limit") == 0u);
    BOOST_TEST(f.server.count_log("closing user_id=") == 0u, "someone was closed by the server");
    h.check_server_after();
}

// With the default limits (1000 messages/s) the flooder is closed with 1008 and only its first
// second's worth is broadcast; the pair, well under the limit, goes on.
void flood_with_default_rate_limits(server_fixture& f, std::size_t count) {
    harness h(f);
    raw_connection flooder(f.io);
    flooder.upgrade_ok(f.port(), "/im?user_id=flooder");
    h.start_measuring();
    std::optional<server_frame> close_frame;
    bool flooder_done = false;
    raw_read_result after_close;
    auto flood = [&]() -> asio::awaitable<void> {
        try {
            co_await flooder.async_send(flood_bytes(count, 24));
        } catch (const boost::system::system_error&) {
            // Closed while still writing: the reader below reports how.
        }
        const std::function<bool()> closed = [&] { return flooder_done; };
        co_await h.until(closed);
        h.sample_rss();
    };
    auto read_back = [&]() -> asio::awaitable<void> {
        for (;;) {
            auto fr = co_await flooder.async_read_frame();
            if (fr.opcode == op_close) {
                close_frame = std::move(fr);
                break;
            }
        }
        // Complete the closing handshake; the server then ends the connection.
        co_await flooder.async_send(client_frame(op_close, close_payload(1000)));
        after_close = co_await flooder.async_read_until_end();
        flooder_done = true;
        h.notify();
    };
    std::vector<asio::awaitable<void>> alongside;
    alongside.push_back(read_back());
    h.run(flood(), std::move(alongside),
          std::to_string(count) + " messages flooded with the default rate limits", std::chrono::seconds(100),
          [&] { flooder.close(); });
    BOOST_REQUIRE(close_frame.has_value());
    BOOST_TEST(close_code(*close_frame) == 1008u);
    BOOST_TEST(close_reason(*close_frame).find("rate limit") != std::string::npos,
               close_reason(*close_frame));
    BOOST_TEST((after_close.end == asio::error::eof || after_close.end == asio::error::connection_reset),
               after_close.end.message());
    h.check({{"flood", std::nullopt}});
    BOOST_TEST(f.server.wait_for_log_count("closing user_id=flooder", 1)); // the log comes through a pipe
    BOOST_TEST(f.server.count_log("closing user_id=flooder") == 1u);
    BOOST_TEST(f.server.count_log("closing user_id=pair-") == 0u);
    h.check_server_after();
}

} // namespace

BOOST_AUTO_TEST_SUITE(abuse)

BOOST_FIXTURE_TEST_CASE(thousands_of_garbage_and_half_requests, abuse_server<1>) {
    garbage_connections(*this, 2000, 250);
}

BOOST_FIXTURE_TEST_CASE(clients_resetting_mid_stream, abuse_server<1>) {
    resets_during_stream(*this, 200, 300);
}

BOOST_FIXTURE_TEST_CASE(client_that_stops_reading_keeps_memory_bounded, unlimited_server<1>) {
    stuck_reader_during_big_stream(*this, 64 * mib, 32 * mib);
}

BOOST_FIXTURE_TEST_CASE(flooder_without_rate_limits_is_only_slowed_down, flood_server<1>) {
    flood_without_rate_limits(*this, 50000, 200);
}

BOOST_FIXTURE_TEST_CASE(flooder_with_default_rate_limits_gets_1008, abuse_server<1>) {
    flood_with_default_rate_limits(*this, 5000);
}

BOOST_AUTO_TEST_SUITE_END()

// The same with two I/O threads: connections alternate between the shards, so the abuse and the
// pair's traffic cross threads (this is the suite ThreadSanitizer runs).
BOOST_AUTO_TEST_SUITE(abuse_mt)

BOOST_FIXTURE_TEST_CASE(garbage_and_half_requests, abuse_server<2>) {
    garbage_connections(*this, 2000, 250);
}

BOOST_FIXTURE_TEST_CASE(clients_resetting_mid_stream, abuse_server<2>) {
    resets_during_stream(*this, 200, 300);
}

BOOST_FIXTURE_TEST_CASE(client_that_stops_reading_keeps_memory_bounded, unlimited_server<2>) {
    stuck_reader_during_big_stream(*this, 64 * mib, 32 * mib);
}

BOOST_FIXTURE_TEST_CASE(flooder_without_rate_limits_is_only_slowed_down, flood_server<2>) {
    flood_without_rate_limits(*this, 50000, 200);
}

BOOST_FIXTURE_TEST_CASE(flooder_with_default_rate_limits_gets_1008, abuse_server<2>) {
    flood_with_default_rate_limits(*this, 5000);
}

BOOST_AUTO_TEST_SUITE_END()

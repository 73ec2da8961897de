#include "wshub/inbox.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace wshub;
namespace asio = boost::asio;

namespace {

message of_size(std::size_t n, char fill = 'x') {
    message m;
    m.payload.assign(n, fill);
    return m;
}

// Runs what is ready on `ioc` (a context that ran out of work must be restarted to run again).
void settle(asio::io_context& ioc) {
    ioc.restart();
    ioc.poll();
}

enum class outcome { pending, sent, refused };

// A publisher started on `ioc`; `result` says how its send() completed, if it has.
struct publisher {
    outcome result = outcome::pending;

    void start(asio::io_context& ioc, inbox& box, message m, asio::cancellation_slot slot = {}) {
        asio::co_spawn(ioc, box.send(std::move(m)),
                       asio::bind_cancellation_slot(slot, [this](const std::exception_ptr& e, bool ok) {
                           if (e) std::rethrow_exception(e);
                           result = ok ? outcome::sent : outcome::refused;
                       }));
    }
};

// The payload sizes the inbox hands out, in order, until it is empty.
std::vector<std::size_t> take_all(inbox& box) {
    std::vector<std::size_t> sizes;
    while (box.try_receive([&](boost::system::error_code ec, message m) {
        if (!ec) sizes.push_back(m.payload.size());
    })) {
    }
    return sizes;
}

// The payload size of the next message; 0 if there is none (the tests send no empty message).
std::size_t take_one(inbox& box) {
    std::size_t size = 0;
    box.try_receive([&](boost::system::error_code ec, message m) {
        if (!ec) size = m.payload.size();
    });
    return size;
}

} // namespace

BOOST_AUTO_TEST_SUITE(inbox_bounds)

BOOST_AUTO_TEST_CASE(a_message_over_the_byte_bound_waits_until_the_receiver_takes_enough) {
    asio::io_context ioc;
    inbox box(ioc, 100, 1000);
    publisher first, second;
    first.start(ioc, box, of_size(600));
    settle(ioc);
    BOOST_TEST((first.result == outcome::sent));
    second.start(ioc, box, of_size(600));
    settle(ioc);
    BOOST_TEST((second.result == outcome::pending)); // 1200 bytes would not fit in 1000
    BOOST_TEST(box.bytes() == 600u);

    BOOST_TEST(take_one(box) == 600u);
    BOOST_TEST(box.bytes() == 600u); // given back, and reserved at once for the waiter
    settle(ioc);
    BOOST_TEST((second.result == outcome::sent));
    BOOST_TEST(take_all(box) == std::vector<std::size_t>{600});
    BOOST_TEST(box.bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(a_message_larger_than_the_bound_enters_an_empty_inbox_only) {
    asio::io_context ioc;
    inbox box(ioc, 100, 1000);
    publisher big, small;
    big.start(ioc, box, of_size(5000));
    settle(ioc);
    BOOST_TEST((big.result == outcome::sent));
    small.start(ioc, box, of_size(1));
    settle(ioc);
    BOOST_TEST((small.result == outcome::pending));
    BOOST_TEST(take_one(box) == 5000u);
    settle(ioc);
    BOOST_TEST((small.result == outcome::sent));

    publisher big_after;
    big_after.start(ioc, box, of_size(5000)); // the inbox holds 1 byte: not empty
    settle(ioc);
    BOOST_TEST((big_after.result == outcome::pending));
    BOOST_TEST(take_one(box) == 1u);
    settle(ioc);
    BOOST_TEST((big_after.result == outcome::sent));
}

BOOST_AUTO_TEST_CASE(waiters_enter_in_the_order_they_came) {
    asio::io_context ioc;
    inbox box(ioc, 100, 1000);
    publisher a, b, c;
    a.start(ioc, box, of_size(900));
    settle(ioc);
    b.start(ioc, box, of_size(500));
    settle(ioc);
    c.start(ioc, box, of_size(50)); // would fit, but b came first
    settle(ioc);
    BOOST_TEST((b.result == outcome::pending));
    BOOST_TEST((c.result == outcome::pending));
    BOOST_TEST(take_one(box) == 900u);
    settle(ioc);
    BOOST_TEST((b.result == outcome::sent));
    BOOST_TEST((c.result == outcome::sent));
    BOOST_TEST(take_all(box) == (std::vector<std::size_t>{500, 50}));
}

BOOST_AUTO_TEST_CASE(the_count_bound_still_holds) {
    asio::io_context ioc;
    inbox box(ioc, 2, 1000);
    publisher p[3];
    for (auto& one : p)
        one.start(ioc, box, of_size(1));
    settle(ioc);
    BOOST_TEST((p[2].result == outcome::pending));
    BOOST_TEST(box.bytes() == 3u); // the third's bytes are reserved; it waits for a place
    BOOST_TEST(take_one(box) == 1u);
    settle(ioc);
    BOOST_TEST((p[2].result == outcome::sent));
}

BOOST_AUTO_TEST_CASE(cancel_and_close_refuse_waiting_publishers) {
    asio::io_context ioc;
    inbox box(ioc, 100, 1000);
    publisher in, waiting;
    in.start(ioc, box, of_size(900));
    waiting.start(ioc, box, of_size(500));
    settle(ioc);
    BOOST_TEST((waiting.result == outcome::pending));
    box.cancel();
    settle(ioc);
    BOOST_TEST((waiting.result == outcome::refused));
    BOOST_TEST(box.bytes() == 900u);

    publisher later;
    later.start(ioc, box, of_size(10)); // cancel() refuses only those waiting then
    settle(ioc);
    BOOST_TEST((later.result == outcome::sent));

    publisher after_close;
    box.close();
    after_close.start(ioc, box, of_size(1));
    settle(ioc);
    BOOST_TEST((after_close.result == outcome::refused));
}

BOOST_AUTO_TEST_CASE(a_cancelled_waiter_leaves_and_lets_the_next_in) {
    asio::io_context ioc;
    inbox box(ioc, 100, 1000);
    publisher in, large, small;
    asio::cancellation_signal stop_large;
    in.start(ioc, box, of_size(900));
    large.start(ioc, box, of_size(500), stop_large.slot());
    small.start(ioc, box, of_size(50));
    settle(ioc);
    BOOST_TEST((large.result == outcome::pending));
    BOOST_TEST((small.result == outcome::pending));
    stop_large.emit(asio::cancellation_type::terminal);
    settle(ioc);
    BOOST_TEST((large.result == outcome::refused));
    BOOST_TEST((small.result == outcome::sent)); // 950 fits once the 500 left the queue
    BOOST_TEST(box.bytes() == 950u);
    BOOST_TEST(take_all(box) == (std::vector<std::size_t>{900, 50}));
    BOOST_TEST(box.bytes() == 0u);
}

// Publishers on their own threads against a receiver on another: every message arrives, each
// publisher's in order, the byte bound is never passed, and no wake-up is lost (a lost one would
// leave a publisher waiting for ever; the test gives up after a generous bound instead).
BOOST_AUTO_TEST_CASE(publishers_on_other_threads_are_all_woken) {
    constexpr std::size_t max_bytes = 1000;
    constexpr int publishers = 3;
    constexpr int per_publisher = 3000;
    asio::io_context receiver_ctx;
    inbox box(receiver_ctx, 4, max_bytes);

    std::vector<std::unique_ptr<asio::io_context>> contexts;
    for (int p = 0; p < publishers; ++p) {
        contexts.push_back(std::make_unique<asio::io_context>(1));
        auto publish_all = [](inbox& b, int id) -> asio::awaitable<void> {
            for (int i = 0; i < per_publisher; ++i) {
                // Sizes from 1 to 400 bytes, the first byte naming the publisher, the rest its count.
                message m = of_size(1 + static_cast<std::size_t>(i * 37 + id * 101) % 400,
                                    static_cast<char>('a' + id));
                m.seq = static_cast<std::uint64_t>(i);
                if (!co_await b.send(std::move(m))) co_return;
            }
        };
        asio::co_spawn(*contexts.back(), publish_all(box, p), asio::detached);
    }

    std::promise<std::string> verdict;
    auto receive_all = [&]() -> asio::awaitable<void> {
        std::vector<std::uint64_t> next(publishers, 0);
        for (int n = 0; n < publishers * per_publisher; ++n) {
            if (box.bytes() > max_bytes) {
                verdict.set_value("the byte bound was passed");
                co_return;
            }
            auto [ec, m] = co_await box.receive();
            if (ec) {
                verdict.set_value("receive failed: " + ec.message());
                co_return;
            }
            const int id = m.payload.front() - 'a';
            if (id < 0 || id >= publishers || m.seq != next[static_cast<std::size_t>(id)]++) {
                verdict.set_value("out of order");
                co_return;
            }
        }
        verdict.set_value("");
    };
    asio::co_spawn(receiver_ctx, receive_all(), asio::detached);

    std::vector<std::thread> threads;
    threads.emplace_back([&] { receiver_ctx.run(); });
    for (auto& c : contexts)
        threads.emplace_back([&ctx = *c] { ctx.run(); });
    auto result = verdict.get_future();
    const bool finished = result.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
    // Whatever the outcome, no thread is left waiting (after a success this changes nothing).
    box.close();
    receiver_ctx.stop();
    for (auto& c : contexts)
        c->stop();
    for (auto& t : threads)
        t.join();
    BOOST_REQUIRE_MESSAGE(finished, "a publisher was never woken");
    BOOST_TEST(result.get() == "");
}

BOOST_AUTO_TEST_SUITE_END()

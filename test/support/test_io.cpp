#include "test_io.hpp"

#include <algorithm>
#include <stdexcept>

namespace wshub_test {

std::string describe(const std::exception_ptr& e) {
    if (!e) return "no error";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown exception";
    }
}

test_io::test_io()
    : work_(boost::asio::make_work_guard(ioc_)) {}

test_io::~test_io() {
    work_.reset();
    // Let handlers of sockets closed by their owners run, so nothing is left half done.
    ioc_.restart();
    ioc_.poll();
}

bool test_io::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done()) return true;
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        if (ioc_.stopped()) ioc_.restart();
        ioc_.run_one_for(deadline - now);
    }
}

void test_io::run_all(std::vector<boost::asio::awaitable<void>> ops, std::string_view what,
                      std::chrono::milliseconds timeout, const std::function<void()>& cancel,
                      const std::function<std::size_t()>& progress, std::chrono::milliseconds stall_timeout) {
    struct outcome {
        std::size_t left = 0;
        std::exception_ptr first_error;
    };
    auto out = std::make_shared<outcome>();
    out->left = ops.size();
    for (auto& op : ops)
        boost::asio::co_spawn(ioc_, std::move(op), [out](std::exception_ptr e) {
            if (e && !out->first_error) out->first_error = e;
            --out->left;
        });
    auto done = [out] { return out->left == 0; };
    auto ended = [out] { return out->left == 0 || out->first_error; };

    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + timeout;
    std::size_t last = progress ? progress() : 0;
    auto last_change = clock::now();
    std::string why;
    for (;;) {
        auto until = progress ? std::min(deadline, last_change + stall_timeout) : deadline;
        if (run_until(ended, std::chrono::ceil<std::chrono::milliseconds>(until - clock::now()))) break;
        const auto now = clock::now();
        if (now >= deadline) {
            why = "did not finish within " + std::to_string(timeout.count()) + " ms";
            break;
        }
        if (const std::size_t p = progress(); p != last) {
            last = p;
            last_change = now;
        } else if (now - last_change >= stall_timeout) {
            why = "made no progress for " + std::to_string(stall_timeout.count()) + " ms";
            break;
        }
    }
    if (out->first_error) {
        // One failed: the others may wait for it forever, so end them too.
        if (out->left > 0) {
            if (cancel) cancel();
            run_until(done, std::chrono::seconds(5));
        }
        BOOST_FAIL(std::string(what) + " failed: " + describe(out->first_error));
    }
    if (!why.empty()) fail_timeout(what, why, done, cancel);
}

void test_io::fail_timeout(std::string_view what, const std::string& why, const std::function<bool()>& done,
                           const std::function<void()>& cancel) {
    if (cancel) cancel();
    // Closing the socket makes the operation end with an error soon; wait for that so its
    // coroutine does not outlive what it refers to.
    run_until(done, std::chrono::seconds(5));
    BOOST_FAIL(std::string(what) + " " + why);
    throw std::logic_error("BOOST_FAIL returned"); // it throws; this tells the compiler so
}

} // namespace wshub_test

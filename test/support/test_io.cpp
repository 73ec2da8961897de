#include "test_io.hpp"

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
                      std::chrono::milliseconds timeout, const std::function<void()>& cancel) {
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
    const bool ended = run_until([out] { return out->left == 0 || out->first_error; }, timeout);
    if (out->first_error) {
        // One failed: the others may wait for it forever, so end them too.
        if (out->left > 0) {
            if (cancel) cancel();
            run_until(done, std::chrono::seconds(5));
        }
        BOOST_FAIL(std::string(what) + " failed: " + describe(out->first_error));
    }
    if (!ended) fail_timeout(what, timeout, done, cancel);
}

void test_io::fail_timeout(std::string_view what, std::chrono::milliseconds timeout,
                           const std::function<bool()>& done, const std::function<void()>& cancel) {
    if (cancel) cancel();
    // Closing the socket makes the operation end with an error soon; wait for that so its
    // coroutine does not outlive what it refers to.
    run_until(done, std::chrono::seconds(5));
    BOOST_FAIL(std::string(what) + " did not finish within " + std::to_string(timeout.count()) + " ms");
    throw std::logic_error("BOOST_FAIL returned"); // it throws; this tells the compiler so
}

} // namespace wshub_test

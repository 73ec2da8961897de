// The io_context that a test's clients share, run only by the test's thread and only for as long
// as an operation needs: every wait has a deadline, so a silent server fails the test instead of
// hanging it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace wshub_test {

// Generous enough for the sanitizer builds (several times slower), short enough to fail fast.
inline constexpr std::chrono::milliseconds wait_timeout{std::chrono::seconds(30)};

std::string describe(const std::exception_ptr& e);

class test_io {
  public:
    test_io();
    ~test_io();
    test_io(const test_io&) = delete;
    test_io& operator=(const test_io&) = delete;

    boost::asio::io_context& context() noexcept { return ioc_; }

    // Runs handlers until `done()` holds; false if `timeout` passed first.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = wait_timeout);

    // Runs `op` to its end and returns its result. If it takes longer than `timeout`, calls
    // `cancel` (which must make it end, typically by closing its socket), lets it finish, and
    // fails the test naming `what`. An exception from `op` fails the test the same way.
    template <class T>
    T run(boost::asio::awaitable<T> op, std::string_view what, std::chrono::milliseconds timeout,
          const std::function<void()>& cancel);

    // Runs coroutines concurrently until all have ended, with the same timeout handling as run().
    // The first exception calls `cancel` (the others may be waiting for the one that failed) and
    // fails the test with that exception's message. With `progress` (a count that grows while
    // the work advances), the test also fails as soon as it has not grown for `stall_timeout`:
    // a lost message then costs seconds, not the whole timeout.
    void run_all(std::vector<boost::asio::awaitable<void>> ops, std::string_view what,
                 std::chrono::milliseconds timeout, const std::function<void()>& cancel,
                 const std::function<std::size_t()>& progress = {},
                 std::chrono::milliseconds stall_timeout = std::chrono::seconds(10));

  private:
    [[noreturn]] void fail_timeout(std::string_view what, const std::string& why,
                                   const std::function<bool()>& done, const std::function<void()>& cancel);

    boost::asio::io_context ioc_{1};
    // Keeps run_one_for() waiting for events instead of returning when nothing is pending.
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
};

template <class T>
T test_io::run(boost::asio::awaitable<T> op, std::string_view what, std::chrono::milliseconds timeout,
               const std::function<void()>& cancel) {
    struct outcome {
        bool done = false;
        std::exception_ptr error;
        std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> value{};
    };
    auto out = std::make_shared<outcome>();
    if constexpr (std::is_void_v<T>) {
        boost::asio::co_spawn(ioc_, std::move(op), [out](std::exception_ptr e) {
            out->error = e;
            out->done = true;
        });
    } else {
        boost::asio::co_spawn(ioc_, std::move(op), [out](std::exception_ptr e, T v) {
            out->error = e;
            if (!e) out->value.emplace(std::move(v));
            out->done = true;
        });
    }
    auto done = [out] { return out->done; };
    if (!run_until(done, timeout))
        fail_timeout(what, "did not finish within " + std::to_string(timeout.count()) + " ms", done, cancel);
    if (out->error) BOOST_FAIL(std::string(what) + " failed: " + describe(out->error));
    if constexpr (!std::is_void_v<T>) return std::move(*out->value);
}

} // namespace wshub_test

// Tasks that are stopped together, each on its own io_context (after the task_group of Beast's
// advanced_server_flex_awaitable example). A task learns of the stop through its coroutine's
// cancellation state: `total` asks it to wind down politely, `terminal` to end now. It checks
// the state between steps, and the operation it awaits is cancelled with operation_aborted.
// Emissions are posted to each task's own context, since a cancellation slot is not thread-safe.
#pragma once

#include "event.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace wshub {

class task_group {
  public:
    // wait_until() completes on `home`.
    explicit task_group(boost::asio::io_context& home);

    // Starts `task` on `ctx` as a member of the group; an exception that ends it is logged under
    // `name`. Thread safety: any thread, before emit().
    void spawn(boost::asio::io_context& ctx, boost::asio::awaitable<void> task, const char* name);

    // Asks every task still running to stop (`total`: politely; `terminal`: now). Any thread.
    void emit(boost::asio::cancellation_type type);

    // True once every task has ended, false if `deadline` came first.
    // Home thread; cancellation: none.
    boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);

    // The stop the calling task has been asked for so far: none, total or terminal. For the
    // task's own checks between steps. Task thread only; cancellation: none (it never suspends).
    static boost::asio::awaitable<boost::asio::cancellation_type> requested_stop();

  private:
    struct member {
        explicit member(boost::asio::io_context& c)
            : ctx(c) {}
        boost::asio::io_context& ctx;
        boost::asio::cancellation_signal signal; // ctx's thread only
        bool running = true;                     // ctx's thread only
    };

    boost::asio::io_context& home_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<member>> members_;
    std::size_t running_ = 0;
    event all_done_;
};

} // namespace wshub

#include "task_group.hpp"

#include "log_exception.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace asio = boost::asio;

namespace wshub {

namespace {

// Lets `total` through to the awaited operation (a coroutine lets only `terminal` through by
// default) and keeps awaiting once cancelled, so a task can wind down after the polite stop
// and still be cut short by the forced one. The task's thread; cancellation: as just said.
asio::awaitable<void> as_group_member(asio::awaitable<void> task) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await std::move(task);
}

} // namespace

task_group::task_group(asio::io_context& home)
    : home_(home)
    , all_done_(home.get_executor()) {}

void task_group::spawn(asio::io_context& ctx, asio::awaitable<void> task, const char* name) {
    auto m = std::make_shared<member>(ctx);
    {
        std::lock_guard lock(mutex_);
        members_.push_back(m);
        ++running_;
    }
    asio::co_spawn(
        ctx, as_group_member(std::move(task)),
        asio::bind_cancellation_slot(m->signal.slot(), [this, m, name](const std::exception_ptr& e) {
            log_exception{name}(e);
            m->running = false;
            std::lock_guard lock(mutex_);
            if (--running_ == 0) all_done_.set();
        }));
}

void task_group::emit(asio::cancellation_type type) {
    std::lock_guard lock(mutex_);
    for (auto& m : members_)
        asio::post(m->ctx, [m, type] {
            if (m->running) m->signal.emit(type);
        });
}

asio::awaitable<bool> task_group::wait_until(std::chrono::steady_clock::time_point deadline) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(home_, deadline);
    auto done = co_await (all_done_.wait() || timer.async_wait(asio::use_awaitable));
    co_return done.index() == 0;
}

asio::awaitable<asio::cancellation_type> task_group::requested_stop() {
    co_return (co_await asio::this_coro::cancellation_state).cancelled();
}

} // namespace wshub

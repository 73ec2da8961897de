#include "shard.hpp"

#include "session.hpp"
#include "task_group.hpp"
#include "wshub/client_text.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

namespace wshub {

shard::shard(unsigned index, server_state& state)
    : index_(index)
    , state_(state) {}

void shard::add(session& s) {
    s.registry_index = sessions_.size();
    sessions_.push_back(&s);
    state_.counters.sessions.fetch_add(1, std::memory_order_relaxed);
}

void shard::remove(session& s) {
    const std::size_t i = s.registry_index;
    sessions_[i] = sessions_.back();
    sessions_[i]->registry_index = i;
    sessions_.pop_back();
    state_.counters.sessions.fetch_sub(1, std::memory_order_relaxed);
    if (closing_clients_ && sessions_.empty()) all_left_.set();
}

template <class F>
void shard::for_each_session(F f) {
    for (session* s : sessions_) {
        try {
            f(*s);
        } catch (const std::exception& e) {
            spdlog::error("closing user_id={}: {}", client_text{s->user_id()}, e.what());
            s->force_close();
        }
    }
}

boost::asio::awaitable<void> shard::deliver(frame_batch_ptr batch) {
    // deliver() may close a session, which only schedules work: the list does not change here.
    const auto now = std::chrono::steady_clock::now();
    for_each_session([&batch, now](session& s) { s.deliver(batch, now); });
    co_return;
}

boost::asio::awaitable<void> shard::run() {
    namespace asio = boost::asio;
    using asio::cancellation_type;
    const auto& cfg = state_.cfg;
    // A quarter of the shorter interval keeps a ping or a drop at most that late.
    const auto tick = std::clamp(std::min(cfg.ping_interval, cfg.idle_timeout) / 4,
                                 std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
    asio::steady_timer timer(ioc_);
    while (co_await task_group::requested_stop() == cancellation_type::none) {
        timer.expires_after(tick);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        const auto now = std::chrono::steady_clock::now();
        for_each_session([now](session& s) { s.keepalive(now); });
    }

    closing_clients_ = true;
    close_all(close_status::going_away, "server shutting down");
    bool forced = false;
    while (!sessions_.empty()) {
        if (!forced && co_await task_group::requested_stop() == cancellation_type::terminal) {
            forced = true;
            force_close_all(); // the sessions leave as their reads fail
        }
        try {
            co_await all_left_.wait();
        } catch (const boost::system::system_error&) {
            // the forced stop cancelled the wait: look again
        }
    }
}

void shard::close_all(close_status code, std::string_view reason) {
    for_each_session([&](session& s) { s.close(code, reason); });
}

void shard::force_close_all() {
    for_each_session([](session& s) { s.force_close(); });
}

} // namespace wshub

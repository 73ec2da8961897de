#include "shard.hpp"

#include "session.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace wshub {

shard::shard(unsigned index, server_state& state)
    : index_(index)
    , state_(state) {}

void shard::add(session& s) {
    s.registry_index = sessions_.size();
    sessions_.push_back(&s);
    state_.counters.sessions.fetch_add(1, std::memory_order_relaxed);
    state_.counters.sessions_total.fetch_add(1, std::memory_order_relaxed);
}

void shard::remove(session& s) {
    const std::size_t i = s.registry_index;
    sessions_[i] = sessions_.back();
    sessions_[i]->registry_index = i;
    sessions_.pop_back();
    if (state_.counters.sessions.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
        state_.on_all_sessions_closed)
        state_.on_all_sessions_closed();
}

boost::asio::awaitable<void> shard::deliver(frame_batch_ptr batch) {
    // deliver() may close a session, which only schedules work: the list does not change here.
    for (session* s : sessions_)
        s->deliver(batch);
    co_return;
}

boost::asio::awaitable<void> shard::keepalive_loop(std::stop_token stop) {
    namespace asio = boost::asio;
    const auto& cfg = state_.cfg;
    // A quarter of the shorter interval keeps a ping or a drop at most that late.
    const auto tick = std::clamp(std::min(cfg.ping_interval, cfg.idle_timeout) / 4,
                                 std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
    asio::steady_timer timer(ioc_);
    while (!stop.stop_requested()) {
        timer.expires_after(tick);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        const auto now = std::chrono::steady_clock::now();
        for (session* s : sessions_)
            s->keepalive(now);
    }
}

void shard::close_all(close_status code, std::string_view reason) {
    for (session* s : sessions_)
        s->close(code, reason);
}

void shard::force_close_all() {
    for (session* s : sessions_)
        s->force_close();
}

} // namespace wshub

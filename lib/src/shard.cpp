#include "shard.hpp"

#include "session.hpp"
#include "task_group.hpp"
#include "wshub/client_text.hpp"
#include "wshub/frame.hpp"

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
    by_user_.add(s.user_id(), s, s.user_place());
    for (auto& place : s.channel_places())
        by_channel_.add(place.channel, s, place.place);
    state_.counters.sessions.fetch_add(1, std::memory_order_relaxed);
}

void shard::remove(session& s) {
    const std::size_t i = s.registry_index;
    sessions_[i] = sessions_.back();
    sessions_[i]->registry_index = i;
    sessions_.pop_back();
    by_user_.remove(s.user_place());
    for (auto& place : s.channel_places())
        by_channel_.remove(place.place);
    state_.counters.sessions.fetch_sub(1, std::memory_order_relaxed);
    if (closing_clients_ && sessions_.empty()) all_left_.set();
}

template <class F>
void shard::guarded(session& s, F f) {
    try {
        f(s);
    } catch (const std::exception& e) {
        spdlog::error("closing user_id={}: {}", client_text{s.user_id()}, e.what());
        s.force_close();
    }
}

template <class F>
void shard::for_each_session(F f) {
    for (session* s : sessions_)
        guarded(*s, f);
}

std::size_t shard::deliver_to_everyone(const frame_batch_ptr& batch, std::string_view run,
                                       std::uint64_t last_seq, std::chrono::steady_clock::time_point now) {
    std::size_t reached = 0;
    for_each_session([&](session& s) { reached += s.deliver(batch, run, last_seq, now); });
    return reached;
}

boost::asio::awaitable<void> shard::deliver(frame_batch_ptr batch) {
    // deliver() may close a session, which only schedules work: the lists do not change here.
    const auto now = std::chrono::steady_clock::now();
    const std::string_view bytes = batch->bytes;
    if (batch->routed.empty()) { // a broadcast: one run of bytes for everyone
        const std::size_t reached = deliver_to_everyone(batch, bytes, batch->last_seq, now);
        for (std::size_t i = 0; batch->delivered && i < batch->messages; ++i)
            count(*batch, i, reached);
        co_return;
    }
    // Messages in seq order; consecutive ones for everyone still go out as one run.
    const auto& routed = batch->routed;
    for (std::size_t i = 0; i < routed.size();) {
        const auto& first = routed[i];
        if (first.target.everyone()) {
            std::size_t j = i + 1;
            while (j < routed.size() && routed[j].target.everyone())
                ++j;
            const auto& last = routed[j - 1];
            const auto run = bytes.substr(first.begin, last.begin + last.size - first.begin);
            const std::size_t reached = deliver_to_everyone(batch, run, last.seq, now);
            for (std::size_t k = i; k < j; ++k)
                count(*batch, k, reached);
            i = j;
            continue;
        }
        count(*batch, i, deliver_targeted(batch, first, now));
        ++i;
    }
    co_return;
}

std::size_t shard::deliver_targeted(const frame_batch_ptr& batch, const frame_batch::routed_frame& f,
                                    std::chrono::steady_clock::time_point now) {
    const auto frame = std::string_view(batch->bytes).substr(f.begin, f.size);
    const auto& channel = f.target.channel;
    std::size_t reached = 0;
    auto offer = [&](session& s) {
        guarded(s, [&](session& to) { reached += to.deliver(batch, frame, f.seq, now); });
    };
    if (f.target.user_ids.empty()) {
        for (const auto& e : by_channel_.find(channel))
            offer(*e.member);
        return reached;
    }
    for (const auto& user : f.target.user_ids)
        for (const auto& e : by_user_.find(user))
            if (channel.empty() || e.member->subscribed_to(channel)) offer(*e.member);
    return reached;
}

void shard::count(const frame_batch& batch, std::size_t i, std::size_t reached) noexcept {
    if (batch.delivered) batch.delivered[i].fetch_add(reached, std::memory_order_relaxed);
}

std::size_t shard::disconnect_user(const std::string& user_id) {
    // close() only schedules work: the list does not change while we walk it.
    const auto& members = by_user_.find(user_id);
    for (const auto& e : members)
        e.member->close(close_status::disconnected, "disconnected by the server");
    return members.size();
}

presence shard::presence_of(const std::string& channel) const {
    presence p;
    if (channel.empty()) {
        p.connections = sessions_.size();
        by_user_.for_each(
            [&p](const std::string& user, const auto& members) { p.users[user] = members.size(); });
        return p;
    }
    const auto& members = by_channel_.find(channel);
    p.connections = members.size();
    for (const auto& e : members)
        ++p.users[e.member->user_id()];
    return p;
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

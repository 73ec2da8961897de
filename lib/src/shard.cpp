#include "shard.hpp"

#include "session.hpp"
#include "task_group.hpp"
#include "wshub/client_text.hpp"
#include "wshub/envelope.hpp"
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
    , state_(state)
    , history_(state.cfg.history_size, state.cfg.history_bytes, state.cfg.history_ttl)
    , epoch_(state.epoch) {}

void shard::add(session& s) {
    ++encoding_sessions_[encoding_of(s)];
    s.registry_index = sessions_.size();
    sessions_.push_back(&s);
    by_user_.add(s.user_id(), s, s.user_place());
    for (auto& place : s.channel_places())
        by_channel_.add(place.channel, s, place.place);
    state_.counters.sessions.fetch_add(1, std::memory_order_relaxed);
    state_.counters.connects.fetch_add(1, std::memory_order_relaxed);
}

void shard::remove(session& s) {
    const std::size_t i = s.registry_index;
    sessions_[i] = sessions_.back();
    sessions_[i]->registry_index = i;
    sessions_.pop_back();
    by_user_.remove(s.user_place());
    for (auto& place : s.channel_places())
        by_channel_.remove(place.place);
    --encoding_sessions_[encoding_of(s)];
    state_.counters.sessions.fetch_sub(1, std::memory_order_relaxed);
    state_.counters.count_disconnect(s.disconnect_reason());
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

shard::encoding shard::encoding_of(const session& s) noexcept {
    return static_cast<encoding>((s.envelope() ? 1 : 0) + (s.deflate() ? 2 : 0));
}

inflater& shard::shared_inflater() {
    if (!inflater_) inflater_ = std::make_unique<inflater>();
    return *inflater_;
}

shard::frame_run shard::run_of(const frame_batch& batch, std::size_t first, std::size_t last) const {
    const auto& a = batch.frames[first];
    const auto& z = batch.frames[last - 1];
    frame_run r;
    r.bytes[raw] = std::string_view(batch.bytes).substr(a.begin, z.begin + z.size - a.begin);
    r.last_order = z.order;
    // The other encodings are made once per batch, by the first shard that needs them.
    auto span_of = [&](const frame_batch::enveloped& e) {
        const auto begin = e.ranges[first].first;
        return std::string_view(e.bytes).substr(begin,
                                                e.ranges[last - 1].first + e.ranges[last - 1].second - begin);
    };
    if (encoding_sessions_[enveloped] > 0) r.bytes[enveloped] = span_of(batch.envelope());
    const auto min_size = state_.cfg.compression_min_size;
    if (encoding_sessions_[deflated] > 0) r.bytes[deflated] = span_of(batch.deflated(false, min_size));
    if (encoding_sessions_[deflated_enveloped] > 0)
        r.bytes[deflated_enveloped] = span_of(batch.deflated(true, min_size));
    return r;
}

std::size_t shard::deliver_to_everyone(const frame_batch_ptr& batch, const frame_run& run,
                                       std::chrono::steady_clock::time_point now) {
    std::size_t reached = 0;
    for_each_session(
        [&](session& s) { reached += s.deliver(batch, run.for_session(s), run.last_order, now); });
    return reached;
}

boost::asio::awaitable<void> shard::deliver(frame_batch_ptr batch) {
    // deliver() may close a session, which only schedules work: the lists do not change here.
    const auto now = std::chrono::steady_clock::now();
    if (!batch->epoch.empty() && batch->epoch != epoch_) renumbered(batch);
    std::vector<stream_history::hole> holes;
    for (const auto& [channel, seq] : batch->positions)
        history_.advance(channel, seq, &holes);
    // Recorded in the same step as it is delivered: a session that joins between two batches has
    // every earlier message in the history and every later one in its queue.
    if (!batch->from_history) history_.record(batch, &holes);
    for (const auto& h : holes)
        tell_of_hole(h);
    const auto& frames = batch->frames;
    if (frames.empty() || batch->from_history) co_return; // an announcement from the bus
    if (batch->for_everyone) {                            // a broadcast: one run of bytes for everyone
        const std::size_t reached = deliver_to_everyone(batch, run_of(*batch, 0, frames.size()), now);
        for (std::size_t i = 0; batch->delivered && i < frames.size(); ++i)
            count(*batch, i, reached);
        counters_.messages_out.add(reached * frames.size());
        co_return;
    }
    std::size_t sent = 0; // messages handed to sessions, added to the counter once per batch
    // Messages in order; consecutive ones with the same target go out as one run, so that a
    // burst to a channel costs each subscriber one write, as a burst to everyone does, instead
    // of one per message.
    for (std::size_t i = 0; i < frames.size();) {
        const auto& target = frames[i].target;
        std::size_t j = i + 1;
        while (j < frames.size() && frames[j].target.channel == target.channel &&
               frames[j].target.user_ids == target.user_ids)
            ++j;
        const auto run = run_of(*batch, i, j);
        const std::size_t reached = target.everyone() ? deliver_to_everyone(batch, run, now)
                                                      : deliver_targeted(batch, target, run, now);
        for (std::size_t k = i; k < j; ++k)
            count(*batch, k, reached);
        sent += reached * (j - i);
        i = j;
    }
    counters_.messages_out.add(sent);
    co_return;
}

std::size_t shard::deliver_targeted(const frame_batch_ptr& batch, const message_target& target,
                                    const frame_run& run, std::chrono::steady_clock::time_point now) {
    std::size_t reached = 0;
    auto offer = [&](session& s) {
        guarded(s,
                [&](session& to) { reached += to.deliver(batch, run.for_session(to), run.last_order, now); });
    };
    if (target.user_ids.empty()) {
        for (const auto& e : by_channel_.find(target.channel))
            offer(*e.member);
        return reached;
    }
    for (const auto& user : target.user_ids)
        for (const auto& e : by_user_.find(user))
            if (target.channel.empty() || e.member->subscribed_to(target.channel)) offer(*e.member);
    return reached;
}

void shard::renumbered(const frame_batch_ptr& batch_ptr) {
    const auto& batch = *batch_ptr;
    // The positions of the old numbering mean nothing in the new one: the history starts again,
    // at the positions Redis has, and every envelope client gets a join frame for it.
    // After the first epoch from the bus (which replaces this node's own), what was in flight
    // when the numbering changed is lost: each client is told, as for a hole.
    spdlog::info("shard {}: stream numbering is now epoch {}", index_, batch.epoch);
    const bool lost = bus_epoch_seen_;
    bus_epoch_seen_ = true;
    epoch_ = batch.epoch;
    std::vector<stream_history::hole> holes;
    auto mark = [&](std::string_view channel) {
        if (lost) holes.push_back({std::string(channel), history_.last(channel), 1});
    };
    mark({});
    by_channel_.for_each([&](const std::string& channel, const auto&) { mark(channel); });
    history_.clear();
    // What Redis keeps of each stream is this node's history from the start: a client that
    // reconnects here from another node resumes as it would there.
    if (batch.from_history) history_.record(batch_ptr, nullptr);
    for (const auto& [channel, seq] : batch.positions)
        history_.advance(channel, seq, nullptr);
    for_each_session([&](session& s) {
        if (s.envelope()) s.send_text(join_frame_for(s));
    });
    for (auto& h : holes) {
        h.next = history_.last(h.channel) + 1;
        tell_of_hole(h);
    }
}

void shard::tell_of_hole(const stream_history::hole& h) {
    const auto notice = gap_json(h.channel, h.since, h.next);
    if (h.channel.empty()) {
        for_each_session([&](session& s) { s.send_text(notice); });
        return;
    }
    for (const auto& e : by_channel_.find(h.channel))
        guarded(*e.member, [&](session& s) { s.send_text(notice); });
}

std::string shard::join_frame_for(const session& s) const {
    std::vector<std::pair<std::string, std::uint64_t>> joined_at;
    for (const auto& place : s.channel_places())
        joined_at.emplace_back(place.channel, history_.last(place.channel));
    return join_json(epoch_, history_.last({}), joined_at);
}

void shard::catch_up(session& s, const std::optional<resume_positions>& resume) {
    const auto now = std::chrono::steady_clock::now();
    if (s.envelope()) s.send_text(join_frame_for(s));
    if (!resume) return;
    // Positions of another epoch are another process's numbering: all that is kept is news.
    const bool same_epoch = resume->epoch.empty() || resume->epoch == epoch_;
    std::vector<stream_history::kept> replay;
    auto resume_stream = [&](std::string_view channel) {
        const auto since = resume->position(channel);
        if (!since) return; // no position: the stream starts live, at the join point
        auto c = history_.after(channel, same_epoch ? *since : 0, now, replay);
        if (!same_epoch) c.covered = false;
        if (!c.covered) s.send_text(gap_json(channel, *since, c.oldest));
    };
    resume_stream({});
    for (const auto& place : s.channel_places())
        resume_stream(place.channel);
    // The streams interleave as the hub numbered them; each message is sent if it is for `s`.
    std::sort(replay.begin(), replay.end(),
              [](const auto& a, const auto& b) { return a.frame().order < b.frame().order; });
    std::size_t replayed = 0;
    for (const auto& k : replay) {
        const auto& target = k.frame().target;
        if (!target.user_ids.empty() &&
            std::find(target.user_ids.begin(), target.user_ids.end(), s.user_id()) == target.user_ids.end())
            continue;
        const auto run = run_of(*k.batch, k.index, k.index + 1);
        if (!s.send_shared(k.batch, run.for_session(s))) break;
        ++replayed;
    }
    counters_.messages_out.add(replayed); // a replay's messages are sent to the client too
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
        history_.expire(now);
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

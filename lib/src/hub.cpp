#include "hub.hpp"

#include "bus.hpp"
#include "log_exception.hpp"
#include "publish_outcome.hpp"
#include "shard.hpp"
#include "task_group.hpp"
#include "wshub/frame.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;
namespace json = boost::json;

namespace wshub {

namespace {

// Upper bounds on one batch: large enough that a burst costs one write per client, small enough
// that the first message in it is not held back long.
constexpr std::size_t max_batch_messages = 1024;
constexpr std::size_t max_batch_bytes = std::size_t{256} * 1024;
// Event-loop turns without a new message after which the sender stops gathering and sends; why
// 6 is in BENCHMARKS.md ("Tuning constants").
constexpr int gather_idle_turns = 6;
// How long a question to every node (presence, disconnect) waits for their answers: a node that
// died after Redis counted it never answers.
constexpr std::chrono::milliseconds ask_timeout{2000};

// The shards' part of a delivery or of the stop runs to its end: a stop forwarded into the
// co_spawned operations on the other threads could reach one that had already finished.
auto not_cancellable() {
    return asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
}

} // namespace

hub::hub(asio::io_context& sender_context, std::size_t inbox_capacity, std::size_t inbox_bytes,
         const std::vector<std::unique_ptr<shard>>& shards, std::unique_ptr<bus> message_bus)
    : inbox_(sender_context, inbox_capacity, inbox_bytes)
    , sender_(sender_context.get_executor())
    , shards_(shards)
    , bus_(std::move(message_bus))
    , own_batch_back_(sender_context)
    , receiver_done_(sender_context.get_executor()) {}

hub::~hub() = default;

bool hub::bus_down() const noexcept {
    return bus_ && !bus_->up();
}

std::optional<metrics_snapshot::bus_state> hub::bus_state() const noexcept {
    if (!bus_) return std::nullopt;
    return metrics_snapshot::bus_state{bus_->up(), bus_->reconnects()};
}

asio::awaitable<bool> hub::publish(message m) {
    m.accepted = std::chrono::steady_clock::now();
    return inbox_.send(std::move(m));
}

asio::awaitable<void> hub::run_sender() {
    if (bus_) {
        // What Redis publishes, this node's batches among it, comes back through the receiver.
        asio::co_spawn(co_await asio::this_coro::executor, run_bus_receiver(),
                       [this](const std::exception_ptr& e) {
                           if (e) log_exception{"bus receiver"}(e);
                           receiver_done_.set();
                       });
    }
    std::vector<message> batch;
    std::size_t batch_bytes = 0;
    auto take = [&](boost::system::error_code ec, message m) {
        if (ec) return;
        batch_bytes += m.payload.size();
        batch.push_back(std::move(m));
    };
    auto drain = [&] {
        while (batch.size() < max_batch_messages && batch_bytes < max_batch_bytes &&
               inbox_.try_receive(take)) {
        }
    };

    while (co_await task_group::requested_stop() == asio::cancellation_type::none) {
        auto [ec, first] = co_await inbox_.receive();
        if (ec) break; // the stop cancelled the wait
        take(ec, std::move(first));
        drain();
        co_await gather_more(batch, batch_bytes, drain);
        co_await dispatch(batch);
        batch_bytes = 0;
    }

    // Stopping: once no reader adds to the inbox, what it holds is all there is to deliver.
    // Readers still waiting for room in a full inbox get their message refused.
    co_await stop_publishing();
    inbox_.cancel();
    for (drain(); !batch.empty(); drain()) {
        if (co_await task_group::requested_stop() == asio::cancellation_type::terminal) break;
        co_await dispatch(batch);
        batch_bytes = 0;
    }
    inbox_.close();
    if (bus_) {
        // This node's last batches reach its own clients through Redis too: wait for them
        // (while Redis answers), unless the stop is forced.
        while (own_batches_back_ < batches_published_ && bus_->up() &&
               co_await task_group::requested_stop() != asio::cancellation_type::terminal) {
            own_batch_back_.expires_at(std::chrono::steady_clock::time_point::max());
            co_await own_batch_back_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        bus_->stop();
        co_await receiver_done_.wait();
    }
}

asio::awaitable<void> hub::dispatch(std::vector<message>& batch) {
    if (!bus_) {
        for (auto& m : batch)
            m.seq = m.target.channel.empty() ? ++all_clients_seq_ : ++channel_seq_[m.target.channel];
        bus_positions none; // named: GCC 12 mishandles a temporary in a co_await's arguments
        co_await fan_out(batch, std::move(none));
        co_return;
    }
    // Registered before the batch goes out: it can come back through the subscription before
    // Redis answers the publish.
    const std::uint64_t id = ++batches_published_;
    pending_batch waiting{id, {}};
    for (std::size_t i = 0; i < batch.size(); ++i)
        if (batch[i].receipt || batch[i].outcome)
            waiting.messages.push_back({i, std::move(batch[i].receipt), std::move(batch[i].outcome),
                                        batch[i].outcome_index, batch[i].accepted});
    if (!waiting.messages.empty()) pending_.push_back(std::move(waiting));
    // Refused for good or given up at a stop: it will not come back.
    if (co_await bus_->publish(id, batch) != bus::outcome::published) {
        own_batches_back_ = std::max(own_batches_back_, id);
        while (!pending_.empty() && pending_.back().id >= id) {
            report_lost(pending_.back());
            pending_.pop_back();
        }
    }
    batch.clear();
}

void hub::report_lost(pending_batch& p) {
    for (auto& a : p.messages) {
        if (a.receipt) { // its session stops waiting for it
            a.receipt->last_order.store(0, std::memory_order_relaxed);
            a.receipt->numbered.fetch_add(1, std::memory_order_release);
        }
        if (a.outcome) a.outcome->report(a.outcome_index, {0, 0});
    }
}

void hub::absorb(bus_batch& received, std::vector<message>& batch) {
    const std::size_t first = batch.size();
    for (auto& b : received.messages) {
        auto& m = batch.emplace_back();
        m.kind = b.kind;
        m.payload = std::move(b.payload);
        m.target = std::move(b.target);
        m.seq = b.seq;
    }
    if (received.node != bus_->node_id() || received.messages.empty()) return;
    // Our batches come back in the order we published them: older ones still waiting were lost
    // on the way (the subscription was down when Redis published them).
    while (!pending_.empty() && pending_.front().id < received.batch_id) {
        report_lost(pending_.front());
        pending_.pop_front();
    }
    if (!pending_.empty() && pending_.front().id == received.batch_id) {
        for (auto& a : pending_.front().messages) {
            if (a.index >= received.messages.size()) continue;
            auto& m = batch[first + a.index];
            m.receipt = std::move(a.receipt);
            m.outcome = std::move(a.outcome);
            m.outcome_index = a.outcome_index;
            m.accepted = a.accepted;
        }
        pending_.pop_front();
    }
    own_batches_back_ = std::max(own_batches_back_, received.batch_id);
    own_batch_back_.cancel();
}

asio::awaitable<void> hub::run_bus_receiver() {
    std::optional<bus_batch> held; // already read, for the next fan-out
    for (;;) {
        std::optional<bus_batch> received;
        if (held) {
            received = std::exchange(held, std::nullopt);
        } else {
            auto next = co_await bus_->receive();
            if (!next) break;
            if (auto* question = std::get_if<bus_question>(&*next)) {
                // Answered here, in the bus's order: after what came before it is delivered.
                co_await answer(*question);
                continue;
            }
            received = std::get<bus_batch>(std::move(*next));
        }
        std::vector<message> batch;
        bus_positions announced{received->epoch, std::move(received->positions), received->history};
        absorb(*received, batch);
        // What the subscription has already read joins this fan-out, as a burst joins one batch
        // in the sender: a node that falls behind catches up with one write per client for many
        // messages, not one per published batch. Another epoch, or new positions, wait for the
        // next one.
        while (!announced.history && batch.size() < max_batch_messages) {
            auto more = bus_->try_receive();
            if (!more) break;
            if (more->epoch != announced.epoch || !more->positions.empty()) {
                held = std::move(more);
                break;
            }
            absorb(*more, batch);
        }
        co_await fan_out(batch, std::move(announced));
    }
    while (!pending_.empty()) {
        report_lost(pending_.front());
        pending_.pop_front();
    }
    own_batch_back_.cancel();
}

asio::awaitable<void> hub::stop_publishing() {
    auto stop_one = [](shard& s) -> asio::awaitable<void> {
        s.stop_publishing();
        co_return;
    };
    using op_type =
        decltype(asio::co_spawn(shards_.front()->context(), stop_one(*shards_.front()), asio::deferred));
    std::vector<op_type> ops;
    for (auto& s : shards_)
        ops.push_back(asio::co_spawn(s->context(), stop_one(*s), asio::deferred));
    co_await asio::experimental::make_parallel_group(std::move(ops))
        .async_wait(asio::experimental::wait_for_all(), not_cancellable());
}

template <class Drain>
asio::awaitable<void> hub::gather_more(std::vector<message>& batch, std::size_t& batch_bytes, Drain& drain) {
    // Readers on this thread can only add to the inbox when the sender lets the event loop turn.
    // Keep yielding while messages keep arriving, so a burst becomes one batch (one write per
    // client) instead of one fan-out per message; stop as soon as a few turns bring
    // nothing, so a lone message waits only a few microseconds.
    auto ex = co_await asio::this_coro::executor;
    for (int idle_turns = 0; idle_turns < gather_idle_turns && batch.size() < max_batch_messages &&
                             batch_bytes < max_batch_bytes;) {
        const std::size_t before = batch.size();
        co_await asio::post(ex, asio::use_awaitable);
        drain();
        idle_turns = batch.size() == before ? idle_turns + 1 : 0;
    }
}

asio::awaitable<void> hub::fan_out(std::vector<message>& batch, bus_positions from_bus) {
    auto frames = std::make_shared<frame_batch>();
    frames->epoch = std::move(from_bus.epoch);
    frames->positions = std::move(from_bus.positions);
    frames->from_history = from_bus.history;
    std::size_t total = 0;
    bool counted = false;
    for (const auto& m : batch) {
        total += frame_header_size(m.payload.size()) + m.payload.size();
        frames->for_everyone = frames->for_everyone && m.target.everyone();
        counted = counted || m.outcome;
    }
    frames->bytes.reserve(total);
    frames->frames.reserve(batch.size());
    if (counted) frames->delivered = std::make_unique<std::atomic<std::size_t>[]>(batch.size());
    frames->numbered_at = std::chrono::steady_clock::now();
    for (auto& m : batch) {
        m.order = ++order_;
        if (m.receipt) { // before the shards deliver the batch, so its sender sees it numbered
            m.receipt->last_order.store(m.order, std::memory_order_relaxed);
            m.receipt->numbered.fetch_add(1, std::memory_order_release);
        }
        frame_batch::frame f;
        f.begin = frames->bytes.size();
        f.header = static_cast<std::uint8_t>(frame_header_size(m.payload.size()));
        append_frame(frames->bytes, opcode_for(m.kind), m.payload);
        f.size = frames->bytes.size() - f.begin;
        f.kind = m.kind;
        f.order = m.order;
        f.seq = m.seq;
        f.target = std::move(m.target);
        frames->frames.push_back(std::move(f));
    }

    // Each shard enqueues on its own thread; wait for all of them so that one batch is fully
    // handed out before the next, which keeps the order the same for every client.
    frame_batch_ptr shared = frames;
    co_await deliver_to_shards(shared);
    // Every shard has handed the batch to every recipient's socket or queue: the end of its
    // messages' fan-out latency. Before the publish answers, so that an answer implies it.
    const auto handed_out = std::chrono::steady_clock::now();
    auto& latency = shards_.front()->state().counters.fan_out_latency;
    for (const auto& m : batch)
        if (m.accepted != std::chrono::steady_clock::time_point{}) // another node's: not timed here
            latency.observe(handed_out - m.accepted);
    if (counted) {
        for (std::size_t i = 0; i < batch.size(); ++i)
            if (auto& m = batch[i]; m.outcome)
                m.outcome->report(m.outcome_index,
                                  {m.seq, frames->delivered[i].load(std::memory_order_relaxed)});
    }
    batch.clear();
}

asio::awaitable<void> hub::deliver_to_shards(const frame_batch_ptr& shared) {
    if (shards_.size() == 1) {
        co_await asio::co_spawn(shards_.front()->context(), shards_.front()->deliver(shared),
                                not_cancellable());
        co_return;
    }
    using op_type = decltype(asio::co_spawn(shards_.front()->context(), shards_.front()->deliver(shared),
                                            asio::deferred));
    std::vector<op_type> ops;
    ops.reserve(shards_.size());
    for (auto& s : shards_)
        ops.push_back(asio::co_spawn(s->context(), s->deliver(shared), asio::deferred));
    co_await asio::experimental::make_parallel_group(std::move(ops))
        .async_wait(asio::experimental::wait_for_all(), not_cancellable());
}

template <class F>
auto hub::on_every_shard(F f) -> asio::awaitable<std::vector<decltype(f(std::declval<shard&>()))>> {
    using result_type = decltype(f(std::declval<shard&>()));
    auto run_one = [](shard& s, F f) -> asio::awaitable<result_type> { co_return f(s); };
    using op_type =
        decltype(asio::co_spawn(shards_.front()->context(), run_one(*shards_.front(), f), asio::deferred));
    std::vector<op_type> ops;
    ops.reserve(shards_.size());
    for (auto& s : shards_)
        ops.push_back(asio::co_spawn(s->context(), run_one(*s, f), asio::deferred));
    auto [order, errors, results] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                        .async_wait(asio::experimental::wait_for_all(), not_cancellable());
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
    co_return std::move(results);
}

asio::awaitable<std::size_t> hub::disconnect_here(const std::string& user_id) {
    auto counts = co_await on_every_shard([&user_id](shard& s) { return s.disconnect_user(user_id); });
    std::size_t total = 0;
    for (auto n : counts)
        total += n;
    co_return total;
}

asio::awaitable<presence> hub::presence_here(const std::string& channel) {
    auto parts = co_await on_every_shard([&channel](shard& s) { return s.presence_of(channel); });
    presence all;
    for (const auto& p : parts)
        all.add(p);
    co_return all;
}

asio::awaitable<bus_answers> hub::ask_every_node(std::string what, std::string argument) {
    // The bus lives on the sender's thread.
    auto asking = bus_->ask(std::move(what), std::move(argument), ask_timeout);
    co_return co_await asio::co_spawn(sender_, std::move(asking), asio::use_awaitable);
}

asio::awaitable<void> hub::answer(const bus_question& q) {
    std::string reply;
    if (q.what == "presence") {
        const auto p = co_await presence_here(q.argument);
        reply = json::serialize(presence_json(p));
    } else if (q.what == "disconnect") {
        reply = std::to_string(co_await disconnect_here(q.argument));
    } // a question this version does not know gets an empty answer, so the asker need not wait
    try {
        co_await bus_->answer(q, std::move(reply));
    } catch (const std::exception& e) {
        spdlog::warn("bus: could not answer node {}'s question: {}", q.asker, e.what());
    }
}

asio::awaitable<disconnect_result> hub::disconnect_user(std::string user_id) {
    if (!bus_) {
        const std::size_t here = co_await disconnect_here(user_id);
        co_return disconnect_result{here, std::nullopt};
    }
    const auto replies = co_await ask_every_node("disconnect", std::move(user_id));
    disconnect_result all{0, node_count{replies.answers.size(), replies.asked}};
    for (const auto& a : replies.answers) {
        std::size_t n = 0;
        if (std::from_chars(a.data(), a.data() + a.size(), n).ec == std::errc{}) all.disconnected += n;
    }
    co_return all;
}

asio::awaitable<presence> hub::query_presence(std::string channel) {
    if (!bus_) co_return co_await presence_here(channel);
    const auto replies = co_await ask_every_node("presence", std::move(channel));
    presence all;
    all.nodes = node_count{replies.answers.size(), replies.asked};
    for (const auto& a : replies.answers) {
        boost::system::error_code ec;
        const auto v = json::parse(a, ec);
        if (auto p = presence_from_json(v); !ec && p)
            all.add(*p);
        else
            spdlog::warn("bus: skipped a malformed presence answer of {} bytes", a.size());
    }
    co_return all;
}

} // namespace wshub

// The hub: readers push what clients send into one inbox (bounded in messages and bytes); one sender
// coroutine takes messages out in order, numbers them (in the hub's order, and in their stream:
// their channel's or the all-clients one), encodes each frame once and hands the batch to every
// shard, awaiting each shard's fan-out before it takes the next batch.
// The inbox is the one entry point for every producer of messages: the readers and the publish API.
#pragma once

#include "event.hpp"
#include "presence.hpp"
#include "wshub/frame.hpp"
#include "wshub/inbox.hpp"
#include "wshub/message.hpp"
#include "wshub/metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wshub {

class shard;
class bus;
struct bus_batch;
struct bus_answers;
struct bus_question;

class hub {
  public:
    // `message_bus` null: this node alone numbers and delivers what it takes in. Otherwise every
    // batch goes through Redis (bus.hpp), which numbers it, and comes back to be delivered.
    hub(boost::asio::io_context& sender_context, std::size_t inbox_capacity, std::size_t inbox_bytes,
        const std::vector<std::unique_ptr<shard>>& shards, std::unique_ptr<bus> message_bus = nullptr);
    ~hub();

    // With a bus: Redis is unreachable (or refuses to take messages), so nothing this node takes in goes out
    // (for /readyz and the publish API). Any thread.
    bool bus_down() const noexcept;
    // With a bus, its state for /metrics (nothing without one). Any thread.
    std::optional<metrics_snapshot::bus_state> bus_state() const noexcept;

    // Queues a message for the sender, waiting while the inbox is full in messages or bytes (that
    // backpressure reaches the publishing client through TCP). Returns false once the hub has
    // stopped taking messages. Any thread; cancellation: the hub's stop, or the caller's, ends a
    // wait for room (false).
    boost::asio::awaitable<bool> publish(message m);

    // The one sender, as a member of the server's task group. On the polite stop (`total`) every
    // shard's readers stop publishing, what the inbox already holds is delivered, and it returns;
    // the forced stop (`terminal`) ends it at once.
    // Sender thread; cancellation: the group's total (drain, then return) or terminal (return now).
    boost::asio::awaitable<void> run_sender();

    // Closes every connection of `user_id` on every shard with 4002 (after what is queued for
    // it) and returns how many there were; with the bus, on every node (and how many answered).
    // Throws when Redis is unreachable. Thread safety: any thread; the result comes back on
    // the caller's executor. Per-operation cancellation: none.
    boost::asio::awaitable<disconnect_result> disconnect_user(std::string user_id);

    // Connections and users, of one channel if `channel` is not empty, summed over the shards
    // (and, with the bus, over every node). Thread safety and cancellation as disconnect_user().
    boost::asio::awaitable<presence> query_presence(std::string channel);

  private:
    // Adds to the batch what arrives within a few event-loop turns.
    // Sender thread; cancellation: none (it ends after a few turns without a new message).
    template <class Drain>
    boost::asio::awaitable<void> gather_more(std::vector<message>& batch, std::size_t& batch_bytes,
                                             Drain& drain);
    // Alone: numbers the batch in its streams and fans it out. With the bus: publishes it to
    // Redis (one round trip), and keeps what waits for its outcome until it comes back.
    // Sender thread; cancellation: none (the bus's stop ends a publish).
    boost::asio::awaitable<void> dispatch(std::vector<message>& batch);
    // Delivers what the bus brings, every node's batches in Redis's order, until the bus stops.
    // Sender thread; cancellation: bus::stop().
    boost::asio::awaitable<void> run_bus_receiver();
    // What a batch from the bus says of the streams: their epoch, and (right after a
    // subscription) every stream's last seq, with what Redis keeps of it as the batch (history).
    struct bus_positions {
        std::string epoch;
        std::vector<std::pair<std::string, std::uint64_t>> positions;
        bool history = false;
    };
    // Encodes the numbered batch once, hands it to every shard and waits until each has taken
    // it, then reports its publishers' outcomes.
    // Sender thread; cancellation: none (every shard's delivery runs to its end).
    boost::asio::awaitable<void> fan_out(std::vector<message>& batch, bus_positions from_bus);
    // A batch of this node's that waits to come back through the bus, with what waits on it.
    struct awaited_message {
        std::size_t index = 0;
        std::shared_ptr<publish_receipt> receipt;
        std::shared_ptr<publish_outcome> outcome;
        std::size_t outcome_index = 0;
        std::chrono::steady_clock::time_point accepted; // its fan-out latency runs across the bus
    };
    struct pending_batch {
        std::uint64_t id = 0;
        std::vector<awaited_message> messages;
    };
    // Appends a batch from the bus to `batch`; one of ours gets back what waits on its messages.
    void absorb(bus_batch& received, std::vector<message>& batch);
    // It will not come back: its sessions and publishers stop waiting (outcome id 0).
    static void report_lost(pending_batch& p);
    boost::asio::awaitable<void> deliver_to_shards(const frame_batch_ptr& batch);
    // Runs f(shard) on every shard's thread, all at once, and returns the results in shard order.
    template <class F>
    auto on_every_shard(F f) -> boost::asio::awaitable<std::vector<decltype(f(std::declval<shard&>()))>>;
    // Runs shard::stop_publishing() on every shard's thread and waits for all of them: after it,
    // no reader adds to the inbox. Sender thread; cancellation: none.
    boost::asio::awaitable<void> stop_publishing();
    // This node's part of disconnect_user() and query_presence().
    boost::asio::awaitable<std::size_t> disconnect_here(const std::string& user_id);
    boost::asio::awaitable<presence> presence_here(const std::string& channel);
    // Asks every node through the bus, from any thread. Throws when Redis is unreachable.
    boost::asio::awaitable<bus_answers> ask_every_node(std::string what, std::string argument);
    // Answers another node's question (or this one's) with this node's part.
    // Sender thread; cancellation: none.
    boost::asio::awaitable<void> answer(const bus_question& q);

    inbox inbox_;
    boost::asio::any_io_executor sender_;
    const std::vector<std::unique_ptr<shard>>& shards_;
    // Sender only: the hub's order across every stream, and each stream's seq.
    std::uint64_t order_ = 0;
    std::uint64_t all_clients_seq_ = 0;
    std::unordered_map<std::string, std::uint64_t> channel_seq_;
    // With a bus (sender thread): the batches published and those back, and what waits on them.
    std::unique_ptr<bus> bus_;
    std::uint64_t batches_published_ = 0;
    std::uint64_t own_batches_back_ = 0;
    std::deque<pending_batch> pending_;
    boost::asio::steady_timer own_batch_back_; // cancelled when one of ours comes back
    event receiver_done_;
};

} // namespace wshub

// The hub: readers push what clients send into one inbox (bounded in messages and bytes); one sender
// coroutine takes messages out in order, numbers them (in the hub's order, and in their stream:
// their channel's or the all-clients one), encodes each frame once and hands the batch to every
// shard, awaiting each shard's fan-out before it takes the next batch.
// The inbox is the one entry point for every producer of messages: the readers and the publish API.
#pragma once

#include "presence.hpp"
#include "wshub/frame.hpp"
#include "wshub/inbox.hpp"
#include "wshub/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wshub {

class shard;

class hub {
  public:
    hub(boost::asio::io_context& sender_context, std::size_t inbox_capacity, std::size_t inbox_bytes,
        const std::vector<std::unique_ptr<shard>>& shards);

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
    // it) and returns how many there were. Thread safety: any thread; the result comes back on
    // the caller's executor. Per-operation cancellation: none.
    boost::asio::awaitable<std::size_t> disconnect_user(std::string user_id);

    // Connections and users, of one channel if `channel` is not empty, summed over the shards.
    // Thread safety and cancellation as disconnect_user().
    boost::asio::awaitable<presence> query_presence(std::string channel);

  private:
    // Adds to the batch what arrives within a few event-loop turns.
    // Sender thread; cancellation: none (it ends after a few turns without a new message).
    template <class Drain>
    boost::asio::awaitable<void> gather_more(std::vector<message>& batch, std::size_t& batch_bytes,
                                             Drain& drain);
    // Numbers and encodes the batch, hands it to every shard and waits until each has taken it.
    // Sender thread; cancellation: none (every shard's delivery runs to its end).
    boost::asio::awaitable<void> fan_out(std::vector<message>& batch);
    boost::asio::awaitable<void> deliver_to_shards(const frame_batch_ptr& batch);
    // Runs f(shard) on every shard's thread, all at once, and returns the results in shard order.
    template <class F>
    auto on_every_shard(F f) -> boost::asio::awaitable<std::vector<decltype(f(std::declval<shard&>()))>>;
    // Runs shard::stop_publishing() on every shard's thread and waits for all of them: after it,
    // no reader adds to the inbox. Sender thread; cancellation: none.
    boost::asio::awaitable<void> stop_publishing();

    inbox inbox_;
    const std::vector<std::unique_ptr<shard>>& shards_;
    // Sender only: the hub's order across every stream, and each stream's seq.
    std::uint64_t order_ = 0;
    std::uint64_t all_clients_seq_ = 0;
    std::unordered_map<std::string, std::uint64_t> channel_seq_;
};

} // namespace wshub

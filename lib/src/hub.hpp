// The hub: readers push what clients send into one inbox (an asio concurrent_channel); one sender
// coroutine takes messages out in order, numbers them, encodes each frame once and hands the
// batch to every shard, awaiting each shard's fan-out before it takes the next batch.
// Anything else that produces messages (a publish API, a bus) feeds the same inbox.
#pragma once

#include "wshub/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

namespace wshub {

class shard;

class hub {
  public:
    using inbox_type =
        boost::asio::experimental::concurrent_channel<void(boost::system::error_code, message)>;

    hub(boost::asio::io_context& sender_context, std::size_t inbox_capacity,
        const std::vector<std::unique_ptr<shard>>& shards);

    // Queues a message for the sender, waiting while the inbox is full (that backpressure reaches
    // the publishing client through TCP). Returns false once the hub has stopped taking messages.
    // Thread safety: any thread. Per-operation cancellation: none.
    boost::asio::awaitable<bool> publish(message m);

    // The one sender, on the sender context, as a member of the server's task group. On the
    // polite stop (`total`) every shard's readers stop publishing, what the inbox already holds is
    // delivered, and it returns; the forced stop (`terminal`) ends it at once.
    boost::asio::awaitable<void> run_sender();

  private:
    template <class Drain>
    boost::asio::awaitable<void> gather_more(std::vector<message>& batch, std::size_t& batch_bytes,
                                             Drain& drain);
    boost::asio::awaitable<void> fan_out(std::vector<message>& batch);
    // Runs shard::stop_publishing() on every shard's thread and waits for all of them: after it,
    // no reader adds to the inbox.
    boost::asio::awaitable<void> stop_publishing();

    inbox_type inbox_;
    const std::vector<std::unique_ptr<shard>>& shards_;
    std::uint64_t seq_ = 0; // sender only
};

} // namespace wshub

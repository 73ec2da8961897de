// The Redis bus between wshub nodes (--redis): one connection publishes this node's batches,
// one subscribes to every node's. A batch goes to Redis as one script call, which numbers its
// messages in their streams (a counter per stream, shared by all nodes), and publishes them as
// one message on the bus channel; every node, this one included, delivers what comes back, in
// the order Redis published it. So every node sees the same numbers in the same order, and a
// client can resume with since= on any node.
// Lives on the sender's thread; its coroutines are the hub's.
#pragma once

#include "redis_connection.hpp"
#include "wshub/bus_codec.hpp"
#include "wshub/message.hpp"
#include "wshub/redis_url.hpp"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wshub {

class bus {
  public:
    // If Redis has no epoch yet (the first node, or Redis lost its data), the bus sets a fresh
    // one, and the counters start again.
    bus(const boost::asio::any_io_executor& ex, redis_endpoint ep, std::string node_id);

    // Publishes `batch` as this node's batch `batch_id`: one round trip. While Redis is
    // unreachable it retries with backoff (the inbox fills behind it, and the readers wait);
    // a retry of a batch Redis already took is recognised and not published twice. False once
    // stop() was called, or the server's stop came while Redis was away.
    // Sender thread, inside the server's task group; cancellation: stop(), the group's stop.
    boost::asio::awaitable<bool> publish(std::uint64_t batch_id, const std::vector<message>& batch);

    // The next batch any node published, or, right after each (re)subscription, an
    // announcement of the epoch (a batch without messages). nullopt once stop() was called.
    // Sender thread; cancellation: stop().
    boost::asio::awaitable<std::optional<bus_batch>> receive();

    // The next batch if the subscription has already read it, without waiting (nullopt when
    // none is whole yet). Sender thread.
    std::optional<bus_batch> try_receive();

    void stop();

    const std::string& node_id() const noexcept { return node_; }
    // Subscribed, and the last publish went through (for /readyz and /metrics; any thread).
    bool up() const noexcept { return !publisher_failing_.load() && subscriber_up_.load(); }
    std::uint64_t reconnects() const noexcept { return reconnects_.load(); }

  private:
    // The batch a subscription's reply carries; nullopt for other replies and malformed ones.
    static std::optional<bus_batch> batch_of(const redis_reply& reply);
    boost::asio::awaitable<void> connect(redis_connection& c);
    // Waits the next backoff step (100 ms doubling to 5 s, with jitter). False once stopped.
    boost::asio::awaitable<bool> back_off(boost::asio::steady_timer& timer, std::chrono::milliseconds& delay);
    // The epoch (ours, if Redis has none) and every stream's last seq, as an announcement
    // (subscriber connection, before SUBSCRIBE).
    boost::asio::awaitable<bus_batch> current_positions(redis_connection& c);

    boost::asio::any_io_executor ex_;
    redis_endpoint endpoint_;
    std::string node_;
    std::optional<redis_connection> publisher_;
    std::optional<redis_connection> subscriber_;
    bool subscribed_ = false;
    boost::asio::steady_timer publish_backoff_;
    boost::asio::steady_timer subscribe_backoff_;
    bool stopped_ = false;
    std::atomic<bool> publisher_failing_{false}; // its last attempt failed
    std::atomic<bool> subscriber_up_{false};
    std::atomic<std::uint64_t> reconnects_{0};
};

} // namespace wshub

// The Redis bus between wshub nodes (--redis): one connection publishes this node's batches,
// one subscribes to every node's. A batch goes to Redis as one script call, which numbers its
// messages in their streams (a counter per stream, shared by all nodes), and publishes them as
// one message on the bus channel; every node, this one included, delivers what comes back, in
// the order Redis published it. So every node sees the same numbers in the same order, and a
// client can resume with since= on any node.
// Questions for every node (presence, disconnect) travel on the same two connections: a node
// publishes the question on `wshub:ask`, every node (this one included) answers on the asker's
// `wshub:answer:<node>`, and the asker waits for as many answers as Redis counted subscribers.
// Lives on the sender's thread; its coroutines are the hub's.
#pragma once

#include "redis_connection.hpp"
#include "wshub/bus_codec.hpp"
#include "wshub/message.hpp"
#include "wshub/redis_url.hpp"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace wshub {

// A question a node asks every node: `what` is "presence" (argument: a channel, or empty) or
// "disconnect" (argument: a user id).
struct bus_question {
    std::string asker;
    std::uint64_t id = 0;
    std::string what;
    std::string argument;
};

// What the subscription brings: a batch (or an announcement), or a question to answer.
using bus_event = std::variant<bus_batch, bus_question>;

struct bus_answers {
    std::size_t asked = 0;            // the nodes Redis delivered the question to
    std::vector<std::string> answers; // those that answered in time
};

class bus {
  public:
    // If Redis has no epoch yet (the first node, or Redis lost its data), the bus sets a fresh
    // one, and the counters start again. Redis keeps the last `history_size` messages of each
    // stream, `history_bytes` of them at most, for `history_ttl` after its last one, for the
    // nodes that start later.
    bus(const boost::asio::any_io_executor& ex, redis_endpoint ep, std::string node_id,
        std::size_t history_size, std::size_t history_bytes, std::chrono::seconds history_ttl);

    // Publishes `batch` as this node's batch `batch_id`: one round trip. While Redis is
    // unreachable, refuses for a while (out of memory, a read-only replica, a failed snapshot,
    // loading, busy), or this node is not subscribed (the batch would not come back to it), it
    // retries with backoff (the inbox fills behind it, and the readers wait); a retry of a batch
    // Redis already took is recognised and not published twice.
    enum class outcome {
        published,
        refused, // for good (a retry would be refused again): the batch is lost
        stopped, // stop() was called, or the server's stop came while Redis was away
    };
    // Sender thread, inside the server's task group; cancellation: stop(), the group's stop.
    boost::asio::awaitable<outcome> publish(std::uint64_t batch_id, const std::vector<message>& batch);

    // The next batch any node published, or, right after each (re)subscription, an
    // announcement of the epoch and every stream's last seq, whose messages are what Redis keeps
    // of each stream (history, already delivered), or a node's question, to answer with
    // answer(). nullopt once stop() was called.
    // Sender thread; cancellation: stop().
    boost::asio::awaitable<std::optional<bus_event>> receive();

    // The next batch if the subscription has already read it, without waiting (nullopt when
    // none is whole yet; a question it reads waits for receive()). Sender thread.
    std::optional<bus_batch> try_receive();

    // Asks every node subscribed to the bus, this one included, and collects their answers:
    // as many as Redis counted subscribers, or those that came within `timeout` (a node that
    // died meanwhile never answers). Throws when Redis is unreachable or on stop().
    // Sender thread; cancellation: stop().
    boost::asio::awaitable<bus_answers> ask(std::string what, std::string argument,
                                            std::chrono::milliseconds timeout);
    // Sends the answer to `q` to its asker. Throws when Redis is unreachable.
    // Sender thread; cancellation: stop().
    boost::asio::awaitable<void> answer(const bus_question& q, std::string answer);

    void stop();

    const std::string& node_id() const noexcept { return node_; }
    // Subscribed, and the last publish went through (for /readyz and /metrics; any thread).
    bool up() const noexcept { return !publisher_failing_.load() && subscriber_up_.load(); }
    std::uint64_t reconnects() const noexcept { return reconnects_.load(); }

  private:
    // What a subscription's reply carries: a batch, a question or an answer (handed to its
    // ask()); nullopt for other replies and malformed ones.
    std::optional<bus_event> event_of(const redis_reply& reply);
    void take_answer(std::string_view published);
    // Runs `commands` (`count` of them) on the publishing connection, connecting it first if
    // needed: one exchange at a time, for the sender's batches, questions and answers alike.
    // Throws (and drops the connection) on failure.
    boost::asio::awaitable<std::vector<redis_reply>> on_publisher(const std::string& commands,
                                                                  std::size_t count);
    boost::asio::awaitable<void> connect(redis_connection& c);
    // Waits the next backoff step (100 ms doubling to 5 s, with jitter). False once stopped.
    boost::asio::awaitable<bool> back_off(boost::asio::steady_timer& timer, std::chrono::milliseconds& delay);
    // The epoch (ours, if Redis has none), every stream's last seq and what Redis keeps of it,
    // as an announcement (subscriber connection, before SUBSCRIBE).
    boost::asio::awaitable<bus_batch> current_positions(redis_connection& c);

    boost::asio::any_io_executor ex_;
    redis_endpoint endpoint_;
    std::string node_;
    std::string history_size_; // the publish script's arguments
    std::string history_ttl_;
    std::string history_bytes_;
    std::optional<redis_connection> publisher_;
    // Held (full) while an exchange runs on the publishing connection.
    boost::asio::experimental::channel<void(boost::system::error_code)> publisher_lock_;
    std::optional<redis_connection> subscriber_;
    bool subscribed_ = false;
    std::string answer_channel_;         // wshub:answer:<node>
    std::deque<bus_question> questions_; // read by try_receive(), for receive()
    // This node's questions waiting for answers, by id.
    struct pending_question {
        std::vector<std::string> answers;
        boost::asio::steady_timer answered; // cancelled when an answer comes, or on stop()
    };
    std::uint64_t questions_asked_ = 0;
    std::unordered_map<std::uint64_t, pending_question*> asking_;
    boost::asio::steady_timer publish_backoff_;
    boost::asio::steady_timer subscribe_backoff_;
    bool stopped_ = false;
    std::atomic<bool> publisher_failing_{false}; // its last attempt failed
    std::atomic<bool> subscriber_up_{false};
    bool subscribe_failing_ = false; // the last attempt to subscribe failed (logged once a streak)
    std::atomic<std::uint64_t> reconnects_{0};
};

} // namespace wshub

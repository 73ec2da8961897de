// The hub's inbox: what readers publish waits here for the sender, bounded both in messages (the
// channel's capacity) and in the bytes of their payloads, so that a few readers of large messages
// cannot make it hold capacity x --max-message-size. Over either bound a publisher waits; that
// backpressure reaches its client through TCP.
//
// The byte bound is kept under one mutex: a publisher reserves its message's bytes before it
// enters the channel, and the sender gives them back as it takes messages out. A publisher that
// does not fit queues as a waiter (first come, first served) with a one-shot signal of its own;
// the sender, giving bytes back, reserves them for the waiters at the front that now fit and then
// signals them. Since the check, the queueing and the hand-over all happen under the mutex, and a
// signal sent before its waiter listens is kept by its channel, no wake-up is lost between threads.
#pragma once

#include "wshub/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

namespace wshub {

class inbox {
  public:
    using channel_type =
        boost::asio::experimental::concurrent_channel<void(boost::system::error_code, message)>;

    // At most `max_messages` messages and `max_bytes` payload bytes; a message larger than
    // max_bytes still enters an empty inbox, or it could never go through.
    inbox(boost::asio::io_context& receiver_context, std::size_t max_messages, std::size_t max_bytes);

    // Queues a message, waiting while the inbox is full in messages or bytes. False if the wait
    // was cancelled (cancel(), close(), or the caller's cancellation) or the inbox is closed.
    // Any thread; cancellation: the caller's ends the wait (false).
    boost::asio::awaitable<bool> send(message m);

    // Takes one message if there is one, calling f(error_code, message). Receiver thread.
    template <class F>
    bool try_receive(F&& f) {
        return channel_.try_receive([&](boost::system::error_code ec, message m) {
            if (!ec) release(m.payload.size());
            f(ec, std::move(m));
        });
    }

    // Waits for one message. Receiver thread; cancellation: the caller's ends the wait with
    // operation_aborted.
    boost::asio::awaitable<std::tuple<boost::system::error_code, message>> receive();

    // Every publisher waiting now gets false; later ones are taken in as before.
    void cancel();
    // Every publisher waiting now and later gets false.
    void close();
    bool is_open() const { return channel_.is_open(); }

    // Payload bytes reserved by messages in the inbox or about to enter it. Any thread.
    std::size_t bytes() const;
    std::size_t max_bytes() const noexcept { return max_bytes_; }

    struct waiter; // defined in inbox.cpp

  private:
    // Reserves `n` bytes, waiting for them if they do not fit. False if the wait was cancelled.
    boost::asio::awaitable<bool> reserve(std::size_t n);
    // Gives `n` bytes back and hands them on to the waiters that now fit. Any thread.
    void release(std::size_t n);
    // Takes the waiters at the front that now fit out of the queue, their bytes reserved, for the
    // caller to signal once the mutex is released.
    std::vector<std::shared_ptr<waiter>> grant_locked();
    // Ends every current waiter's wait with false; with `close`, every later one's too.
    void fail_waiters(bool close);
    bool fits(std::size_t n) const noexcept { return bytes_ == 0 || bytes_ + n <= max_bytes_; }

    channel_type channel_;
    const std::size_t max_bytes_;
    mutable std::mutex mutex_;
    std::size_t bytes_ = 0;                       // under mutex_
    bool closed_ = false;                         // under mutex_
    std::deque<std::shared_ptr<waiter>> waiters_; // under mutex_, oldest first
};

} // namespace wshub

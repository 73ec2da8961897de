// A one-shot event for coroutines: set() from any thread, any number of times; wait() completes
// once it is set, at once if it already is. Unlike a timer cancelled as a signal, a set() that
// comes before the wait is not lost.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace wshub {

class event {
  public:
    explicit event(const boost::asio::any_io_executor& ex)
        : channel_(ex, 1) {}

    // Thread safety: any thread. A full channel means the event is already set.
    void set() { channel_.try_send(boost::system::error_code{}); }

    // Completes once set(). Event's executor; cancellation: per-operation (throws
    // operation_aborted; the event stays as it was).
    boost::asio::awaitable<void> wait() {
        co_await channel_.async_receive(boost::asio::use_awaitable);
        set(); // stays set for the next wait
    }

  private:
    boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> channel_;
};

} // namespace wshub

// One connection to Redis, driven by coroutines: redis_protocol (hiredis's encoder and reply
// parser) over a Beast tcp_stream, whose timer bounds each exchange, so a slow or silent Redis
// never holds a thread: the coroutine waits, the thread serves clients meanwhile.
#pragma once

#include "wshub/redis_protocol.hpp"
#include "wshub/redis_url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wshub {

class redis_connection {
  public:
    explicit redis_connection(const boost::asio::any_io_executor& ex);

    // Resolves and connects, then AUTH and SELECT as the endpoint says. Throws
    // boost::system::system_error (or redis_error) on failure or after `timeout`.
    // Its executor's thread; cancellation: close().
    boost::asio::awaitable<void> connect(const redis_endpoint& ep, std::chrono::milliseconds timeout);

    // Writes `commands` (encoded by redis_protocol::append_command, `count` of them) in one write
    // and reads their `count` replies: one round trip however many commands. `commands` must
    // outlive the call (it is written from where it is, not copied). Throws on I/O failure or
    // after `timeout`; error replies are returned, not thrown.
    // Its executor's thread; cancellation: close().
    boost::asio::awaitable<std::vector<redis_reply>> execute(std::string_view commands, std::size_t count,
                                                             std::chrono::milliseconds timeout);

    // The next reply, however long it takes: a subscriber's next message.
    // Its executor's thread; cancellation: close().
    boost::asio::awaitable<redis_reply> next_reply();

    // A reply already read and whole, without waiting (a subscriber's backlog). Throws
    // redis_protocol_error.
    std::optional<redis_reply> buffered_reply() { return protocol_.next(); }

    void close() noexcept;
    bool is_open() const noexcept { return stream_.socket().is_open(); }

  private:
    boost::asio::awaitable<redis_reply> read_reply();

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    redis_protocol protocol_;
};

// An error reply where a command had to succeed (AUTH, SELECT, SUBSCRIBE).
struct redis_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace wshub

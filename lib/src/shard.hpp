// One I/O thread's share of the clients: its own io_context and the list of sessions it runs.
// Only this shard's thread touches the list, so fan-out to it needs no lock.
#pragma once

#include "server_state.hpp"
#include "wshub/frame.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <span>
#include <stop_token>
#include <vector>

namespace wshub {

class session;

class shard {
  public:
    shard(unsigned index, server_state& state);

    boost::asio::io_context& context() noexcept { return ioc_; }
    unsigned index() const noexcept { return index_; }
    server_state& state() noexcept { return state_; }

    // Shard thread only.
    void add(session& s);
    void remove(session& s);
    std::size_t size() const noexcept { return sessions_.size(); }

    // Hands one batch to every session of this shard. Per-client cost: one queue push or one
    // non-blocking write, never a wait.
    boost::asio::awaitable<void> deliver(frame_batch_ptr batch);

    // Pings silent clients and drops those past the idle timeout, on this shard's thread, until
    // `stop` is requested. One timer per shard, not per connection.
    boost::asio::awaitable<void> keepalive_loop(std::stop_token stop);

    // Where this shard's sessions read: one buffer for all of them, since a session parses what
    // it read before it yields, and keeps only what the parser copied out.
    std::span<char> read_buffer() noexcept { return {read_buffer_.get(), read_buffer_size}; }

    void close_all(close_status code, std::string_view reason);
    void force_close_all();

  private:
    unsigned index_;
    server_state& state_;
    boost::asio::io_context ioc_{1}; // run by exactly one thread
    std::vector<session*> sessions_;
    static constexpr std::size_t read_buffer_size = 64 * 1024;
    std::unique_ptr<char[]> read_buffer_ = std::make_unique_for_overwrite<char[]>(read_buffer_size);
};

} // namespace wshub

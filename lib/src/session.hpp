// One WebSocket client: a reader coroutine that feeds the hub's inbox and a writer coroutine that
// drains the client's bounded outbox while it has bytes. Lives on its shard's thread; nothing
// else touches it.
#pragma once

#include "session_stream.hpp"
#include "wshub/connection_limits.hpp"
#include "wshub/frame.hpp"
#include "wshub/outbox.hpp"
#include "wshub/token_bucket.hpp"

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <tuple>

namespace wshub {

class shard;

class session final : public std::enable_shared_from_this<session>, private detail::write_sink {
  public:
    using upgrade_request = boost::beast::http::request<boost::beast::http::empty_body>;

    session(shard& owner, boost::asio::ip::tcp::socket socket, std::string prefetched, std::string user_id,
            std::string remote, connection_limits::slot slot);
    ~session();

    // Completes the WebSocket handshake, then reads and writes until the connection ends.
    // Per-operation cancellation: none; end it with close() or force_close().
    boost::asio::awaitable<void> run(upgrade_request request);

    // Queues a frame batch for this client (shard thread only). A client whose backlog would pass
    // the limit is closed with 1008 and gets nothing more.
    void deliver(const frame_batch_ptr& batch);

    // Starts the closing handshake: the close frame goes out after what is already queued.
    void close(boost::beast::websocket::close_code code, std::string_view reason);

    // Closes the socket now: the drain time is over.
    void force_close();

    // Called by the shard's keep-alive sweep: pings a client silent for --ping-interval and
    // drops one silent for --idle-timeout.
    void keepalive(std::chrono::steady_clock::time_point now);

    const std::string& user_id() const noexcept { return user_id_; }
    std::size_t registry_index = 0; // position in the shard's list, for O(1) removal

  private:
    // Sends the outbox until it is empty, then ends; started by start_writer().
    boost::asio::awaitable<void> writer();
    void start_writer();
    void writer_done();
    // After the reader: waits (bounded) until the writer has sent the rest, then half-closes if
    // a close frame went out.
    boost::asio::awaitable<void> flush_before_close();
    // The lingering close: after our close frame and half-close, drains the peer's last bytes.
    boost::asio::awaitable<void> discard_until_peer_closes();
    void overflowed();
    // Whether this message keeps the client within its inbound rate limits.
    bool within_rate_limits(std::size_t bytes);
    boost::asio::ip::tcp::socket& socket() noexcept { return ws_.next_layer().next_layer(); }

    bool queue_protocol_bytes(std::string bytes) override;
    void teardown_after_flush() override;

    shard& shard_;
    std::string user_id_;
    std::string remote_;
    outbox outbox_;
    boost::asio::steady_timer flushed_; // bounds flush_before_close(); the writer's end cancels its wait
    boost::asio::steady_timer linger_;  // bounds the lingering close
    boost::beast::websocket::stream<detail::session_stream> ws_;
    std::array<char, 128> first_bytes_{};
    std::string close_reason_;     // why the connection ended, for the log
    connection_limits::slot slot_; // the admission this session holds until it ends
    token_bucket message_bucket_;
    token_bucket byte_bucket_;
    std::chrono::steady_clock::time_point last_heard_;  // last message or control frame from the peer
    std::chrono::steady_clock::time_point last_ping_{}; // when the last keep-alive ping was queued
    bool ping_in_flight_ = false;
    bool handshake_pending_ = false; // async_accept is running: the next protocol bytes are the response
    bool registered_ = false;
    bool writer_running_ = false; // the writer coroutine is sending the outbox
    bool reader_done_ = false;
    bool peer_sent_close_ = false; // the peer's close frame arrived: it sends nothing more
    bool closing_ = false;         // a close frame is queued or being sent
    bool dead_ = false;            // the socket failed or was closed: write nothing more
};

} // namespace wshub

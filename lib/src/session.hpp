// One WebSocket client, after its handshake: a reader coroutine that feeds the hub's inbox while
// the client has bytes to read, and a writer coroutine that drains the client's bounded outbox
// while it has bytes to send. An idle client has neither: it waits with one readiness wait and
// no buffer. Lives on its shard's thread; nothing else touches it.
#pragma once

#include "wshub/connection_limits.hpp"
#include "wshub/frame.hpp"
#include "wshub/frame_parser.hpp"
#include "wshub/message.hpp"
#include "wshub/outbox.hpp"
#include "wshub/token_bucket.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wshub {

class shard;

class session final : public std::enable_shared_from_this<session> {
  public:
    session(shard& owner, boost::asio::ip::tcp::socket socket, std::string user_id, std::string remote,
            connection_limits::slot slot);
    ~session();

    // Sends the handshake's 101 response, joins the shard and starts reading; `prefetched` holds
    // bytes the client sent right behind its upgrade request. Shard thread only.
    void start(std::string handshake_response, std::string prefetched);

    // Queues a frame batch for this client (shard thread only). A client whose backlog would pass
    // the hard limit, or has been over the soft limit for the slow-client timeout at `now`, is
    // closed with 1008 and gets nothing more.
    void deliver(const frame_batch_ptr& batch, std::chrono::steady_clock::time_point now);

    // Starts the closing handshake: the close frame goes out after what is already queued.
    void close(close_status code, std::string_view reason);

    // Closes the socket now: the drain time is over.
    void force_close();

    // The session may last until `when` (its token's exp plus the leeway): the keep-alive sweep
    // then closes it with 4001. Shard thread only, before start().
    void expire_at(std::chrono::steady_clock::time_point when) { expires_at_ = when; }

    // Called by the shard's keep-alive sweep: pings a client silent for --ping-interval, drops
    // one silent for --idle-timeout and closes one whose token has expired, or whose backlog
    // has stayed over --max-queued-bytes for --slow-client-timeout (1008).
    void keepalive(std::chrono::steady_clock::time_point now);

    const std::string& user_id() const noexcept { return user_id_; }
    std::size_t registry_index = 0; // position in the shard's list, for O(1) removal

  private:
    // Reads what the socket has (after `unread`), answers control frames and hands whole
    // messages to the hub; when the socket has nothing more it arms wait_readable() and ends.
    // Once the connection is over it finishes the session instead.
    boost::asio::awaitable<void> reader(std::string unread);
    void start_reader(std::string unread);
    // The idle state: one readiness wait, whose completion starts the reader again.
    void wait_readable();
    // What one pass of the reader over the bytes it has collects, to act on after parsing.
    struct reader_pass {
        std::chrono::steady_clock::time_point now; // when the bytes arrived, near enough
        std::vector<message> received;             // for the hub
        std::string pongs;                         // answers to the pings, back to back
    };
    // At most this many messages per pass, so a flood of small ones is handed on (or held back
    // by a full inbox) in bounded steps.
    static constexpr std::size_t max_messages_per_pass = 256;
    // Acts on one thing the parser found. False once the peer will send nothing more that
    // matters (its close frame, or a protocol violation).
    bool handle(frame_event event, reader_pass& pass);
    void send_pongs(std::string& pongs);
    // The client went over its rate limits: close it with 1008.
    void close_over_rate_limit(reader_pass& pass);
    // After the reader: leaves the shard, sends the rest, and ends the connection.
    boost::asio::awaitable<void> finish();

    // Sends the outbox until it is empty, then ends; started by start_writer().
    boost::asio::awaitable<void> writer();
    void start_writer();
    void writer_done();
    // Writes `c` now if nothing is queued before it, else queues it; a final chunk (the close
    // frame) is the last. False when the connection takes no more writes.
    bool send(outbox::chunk c, bool final,
              std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
    // send() for bytes of this connection's own (the 101, control frames), kept alive by the chunk.
    bool send_own(std::string bytes, bool final);
    bool send_control(opcode op, std::string_view payload);
    // Queues our close frame (code 0: none) and bounds the closing handshake.
    void send_close(std::uint16_t code, std::string_view reason);
    // After the reader: waits (bounded) until the writer has sent the rest, then half-closes if
    // a close frame went out.
    boost::asio::awaitable<void> flush_before_close();
    // The lingering close: after our close frame and half-close, drains the peer's last bytes.
    boost::asio::awaitable<void> discard_until_peer_closes();
    void overflowed();
    // Takes `frames` frames and `bytes` bytes, arrived at `now`, from the inbound rate limits;
    // false when they are over them.
    bool within_rate_limits(std::uint64_t frames, std::size_t bytes,
                            std::chrono::steady_clock::time_point now);
    // Whether every message this client published has been numbered by the hub and delivered
    // back to it.
    bool own_messages_delivered() const noexcept;
    // Waits until own_messages_delivered(), the connection closes, or --handshake-timeout passes.
    // Shard thread; ends early on force_close() or another close.
    boost::asio::awaitable<void> wait_for_own_messages();

    shard& shard_;
    boost::asio::ip::tcp::socket socket_;
    frame_parser parser_;
    std::string user_id_;
    std::string remote_;
    outbox outbox_;
    // The timers are made only when the connection ends: an idle client does not carry them
    // (120 B each). `flushed_` bounds flush_before_close(), and the writer's end cancels its
    // wait; `closing_deadline_` bounds the closing handshake once our close frame is queued.
    std::unique_ptr<boost::asio::steady_timer> flushed_;
    std::unique_ptr<boost::asio::steady_timer> closing_deadline_;
    // Bounds wait_for_own_messages(); cancelled when they are back, or when the connection closes.
    std::unique_ptr<boost::asio::steady_timer> own_messages_back_;
    std::string close_reason_;     // why the connection ended, for the log
    connection_limits::slot slot_; // the admission this session holds until it ends
    token_bucket message_bucket_;
    token_bucket byte_bucket_;
    std::uint64_t frames_counted_ = 0; // the parser's frames() already taken from the rate limits
    // A close the reader decided on (the peer's close frame to echo, or a violation), held until
    // the client's own messages before it have come back to it through the hub.
    struct pending_close {
        std::uint16_t code = 0;
        std::string reason;
    };
    std::optional<pending_close> pending_close_;
    std::shared_ptr<publish_receipt> receipt_;          // shared with the sender, made at the first message
    std::uint64_t published_ = 0;                       // messages the hub took from this client
    std::uint64_t delivered_seq_ = 0;                   // the last seq delivered to this client
    std::chrono::steady_clock::time_point last_heard_;  // last whole frame from the peer
    std::chrono::steady_clock::time_point last_ping_{}; // when the last keep-alive ping was queued
    std::chrono::steady_clock::time_point expires_at_ = std::chrono::steady_clock::time_point::max();
    bool registered_ = false;
    bool writer_running_ = false; // the writer coroutine is sending the outbox
    bool reader_done_ = false;
    bool peer_sent_close_ = false; // the peer's close frame arrived: it sends nothing more
    bool closing_ = false;         // our close frame is queued or sent
    bool dead_ = false;            // the socket failed or was closed: write nothing more
};

} // namespace wshub

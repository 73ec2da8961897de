// One WebSocket client, after its handshake: a reader coroutine that feeds the hub's inbox while
// the client has bytes to read, and a writer coroutine that drains the client's bounded outbox
// while it has bytes to send. An idle client has neither: it waits with one readiness wait and
// no buffer. Lives on its shard's thread; nothing else touches it. Where the connection stands
// (open, closing, closed, and why) is its connection_state's to say: this class does the I/O.
#pragma once

#include "wshub/connection_limits.hpp"
#include "wshub/connection_state.hpp"
#include "wshub/frame.hpp"
#include "wshub/frame_parser.hpp"
#include "wshub/message.hpp"
#include "wshub/name_index.hpp"
#include "wshub/outbox.hpp"
#include "wshub/resume_positions.hpp"
#include "wshub/token_bucket.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wshub {

class shard;

class session final : public std::enable_shared_from_this<session> {
  public:
    session(shard& owner, boost::asio::ip::tcp::socket socket, std::string user_id, std::string remote,
            connection_limits::slot slot);
    ~session();

    // Joins the shard, sends the handshake's 101 response, then what the shard's catch_up() has
    // for it (the join frame, a replay from `resume`), and starts reading; `prefetched` holds
    // bytes the client sent right behind its upgrade request. Shard thread only.
    void start(std::string handshake_response, std::string prefetched,
               const std::optional<resume_positions>& resume);

    // Queues `frames` (whole frames inside `batch`, the last in the hub's order `last_order`)
    // for this client; false when it takes no more. A client whose backlog would pass the hard limit, or
    // has been over the soft limit for the slow-client timeout at `now`, is closed with 1008
    // and gets nothing more. Shard thread only.
    bool deliver(const frame_batch_ptr& batch, std::string_view frames, std::uint64_t last_order,
                 std::chrono::steady_clock::time_point now);

    // Every message goes to this client as a JSON envelope with its seq (envelope.hpp). Shard
    // thread only, before start().
    void use_envelope() noexcept { envelope_ = true; }
    bool envelope() const noexcept { return envelope_; }

    // The client negotiated permessage-deflate: shared messages reach it from the batch's
    // compressed copy, and its compressed messages are inflated with the shard's inflater.
    // Shard thread only, before start().
    void use_deflate();
    bool deflate() const noexcept { return deflate_; }

    // Queues frames the session's catch-up replays (whole frames inside `batch`), or one text
    // frame of its own; false when the client takes no more. Shard thread only.
    bool send_shared(const frame_batch_ptr& batch, std::string_view frames);
    bool send_text(std::string_view text);

    // The channels the session receives besides broadcasts and messages to its user; validated
    // by the route. Shard thread only, before start().
    void subscribe(std::vector<std::string> channels);
    bool subscribed_to(std::string_view channel) const noexcept;

    // Starts the closing handshake: the close frame goes out after what is already queued.
    // Shard thread only; a second close, or one after the reader ended, does nothing.
    void close(close_status code, std::string_view reason);
    // The same, naming the reason /metrics counts when `code` alone does not tell it (1008).
    void close(close_status code, std::string_view reason, wshub::disconnect_reason why);

    // Closes the socket now: the drain time is over. Shard thread only.
    void force_close();

    // The session may last until `when` (its token's exp plus the leeway): the keep-alive sweep
    // then closes it with 4001. Shard thread only, before start().
    void expire_at(std::chrono::steady_clock::time_point when) { expires_at_ = when; }

    // Called by the shard's keep-alive sweep: pings a client silent for --ping-interval, drops
    // one silent for --idle-timeout and closes one whose token has expired, or whose backlog
    // has stayed over --max-queued-bytes for --slow-client-timeout (1008).
    void keepalive(std::chrono::steady_clock::time_point now);

    const std::string& user_id() const noexcept { return user_id_; }
    // Why the connection ended (or is ending), as /metrics counts it.
    wshub::disconnect_reason disconnect_reason() const noexcept { return state_.reason(); }
    std::size_t registry_index = 0; // position in the shard's list, for O(1) removal

    // Its places in the shard's indexes by user and by channel, kept by the shard.
    using membership = name_index<session>::membership;
    struct channel_place {
        std::string channel;
        membership place;
    };
    membership& user_place() noexcept { return user_place_; }
    std::span<channel_place> channel_places() noexcept { return channel_places_; }
    std::span<const channel_place> channel_places() const noexcept { return channel_places_; }

  private:
    // Reads what the socket has (after `unread`), answers control frames and hands whole
    // messages to the hub; when the socket has nothing more it arms wait_readable() and ends.
    // Once the connection is over it finishes the session instead.
    // Shard thread; not cancellable: the peer's close, or a failed read (force_close()), ends it.
    boost::asio::awaitable<void> reader(std::string unread);
    void start_reader(std::string unread);
    // The idle state: one readiness wait, whose completion starts the reader again.
    // Shard thread; closing the socket completes it (and the reader then ends).
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
    // Shard thread; no cancellation: bounded by flush_deadline_ and closing_deadline_.
    boost::asio::awaitable<void> finish();

    // Sends the outbox until it is empty, then ends; started by start_writer().
    // Shard thread; no cancellation: force_close() fails its write.
    boost::asio::awaitable<void> writer();
    void start_writer();
    void writer_done();
    // Writes `c` now if nothing is queued before it, else queues it; a final chunk (the close
    // frame) is the last. False when the connection takes no more writes.
    bool send(outbox::chunk c, bool final,
              std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
    // send() for bytes no other client shares (the 101, control frames), kept alive by the chunk.
    bool send_unshared(std::string bytes, bool final);
    // One frame of this connection's own (a ping, a notice; a close frame is the last).
    bool send_frame(opcode op, std::string_view payload);
    // Queues our close frame (code 0: none) and bounds the closing handshake.
    void send_close_frame(const connection_state::close_frame& frame);
    // After the reader: waits (bounded) until the writer has sent the rest, then half-closes if
    // a close frame went out.
    // Shard thread; no cancellation: writer_done() ends the wait, flush_deadline_ bounds it.
    boost::asio::awaitable<void> flush_before_close();
    // The lingering close: after our close frame and half-close, drains the peer's last bytes.
    // Shard thread; no cancellation: the peer's end or the closing deadline (which closes the
    // socket) ends it.
    boost::asio::awaitable<void> discard_until_peer_closes();
    void overflowed();
    // Takes `frames` frames and `bytes` bytes, arrived at `now`, from the inbound rate limits;
    // false when they are over them.
    bool within_rate_limits(std::uint64_t frames, std::size_t bytes,
                            std::chrono::steady_clock::time_point now);
    // Waits until the client's own messages have come back to it, the connection closes, or
    // --handshake-timeout passes.
    // Shard thread; no cancellation: deliver(), a close or force_close() cancels its timer.
    boost::asio::awaitable<void> wait_for_own_messages();
    // Our close frame is out, or the socket is closed: a wait for the own messages ends.
    void stop_waiting_for_own_messages();
    // Closes the socket, once connection_state said so: pending waits, reads and writes complete
    // with operation_aborted.
    void close_socket();

    shard& shard_;
    boost::asio::ip::tcp::socket socket_;
    frame_parser parser_;
    std::string user_id_;
    std::string remote_;
    membership user_place_;
    std::vector<channel_place> channel_places_; // not resized once the session has joined its shard
    outbox outbox_;
    connection_state state_;
    bool envelope_ = false;
    bool deflate_ = false;
    // The timers are made only when the connection ends: an idle client does not carry them
    // (120 B each). `flush_deadline_` bounds flush_before_close(), and the writer's end cancels
    // its wait; `closing_deadline_` bounds the closing handshake once our close frame is queued.
    std::unique_ptr<boost::asio::steady_timer> flush_deadline_;
    std::unique_ptr<boost::asio::steady_timer> closing_deadline_;
    // Bounds wait_for_own_messages(); cancelled when they are back, or when the connection closes.
    std::unique_ptr<boost::asio::steady_timer> own_messages_back_;
    connection_limits::slot slot_; // the admission this session holds until it ends
    token_bucket message_bucket_;
    token_bucket byte_bucket_;
    std::uint64_t frames_counted_ = 0; // the parser's frames() already taken from the rate limits
    std::uint64_t growth_counted_ = 0; // the parser's inflated_growth() already taken from them
    std::chrono::steady_clock::time_point last_heard_;  // last whole frame from the peer
    std::chrono::steady_clock::time_point last_ping_{}; // when the last keep-alive ping was queued
    std::chrono::steady_clock::time_point expires_at_ = std::chrono::steady_clock::time_point::max();
};

} // namespace wshub

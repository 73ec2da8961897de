// The lifecycle of one WebSocket connection, without I/O: open, then closing (a close frame either
// way, a protocol violation, a failed read), then closed (the socket is closed: nothing more is
// written), with who ended it and why. The session reports what happened on its socket and asks
// what to do next: whether to write, which close frame to send and when, whether to linger.
// Events that come too late (after the connection is closed, a second close) are ignored.
#pragma once

#include "wshub/disconnect_reason.hpp"
#include "wshub/frame.hpp"
#include "wshub/message.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wshub {

// Who ended the connection, and how. The first cause recorded stays, except that a close of ours
// (close_server(), idle_timeout()) replaces a peer's close or violation not yet answered.
enum class close_cause : std::uint8_t {
    none,
    peer_close_frame,  // the peer's close frame (code 0 when it carried none)
    peer_disconnected, // the peer closed TCP without a close frame
    peer_violation,    // the peer broke the protocol; we close with its code (1002, 1007, 1009)
    server_close,      // we close: 1001 shutdown, 1008 rate limit or queue overflow, 4001 token expired
    idle_timeout,      // the peer stayed silent past --idle-timeout: dropped without a close frame
    read_failed,       // the socket failed under the reader
    write_failed,      // or under a write
    forced,            // we closed the socket at once: the drain time or a deadline is over, or an error
};

class connection_state {
  public:
    enum class phase : std::uint8_t { open, closing, closed };

    // A close frame to send: `code` 0 for one without a body.
    struct close_frame {
        std::uint16_t code = 0;
        std::string reason;
    };

    // --- Events the session reports ---

    // The session joined its shard: from now on it is served (deliveries, keep-alive, closes).
    void started() noexcept { in_shard_ = true; }

    // The peer's close frame arrived. While we are open it is answered by echoing its code, once
    // the client's own messages have come back (take_held_close()); after our close frame it
    // completes the closing handshake.
    void peer_closed(std::uint16_t code, std::string_view reason);
    // The peer broke the protocol: the same, with `code` and `why` in our close frame.
    void peer_violated(std::uint16_t code, std::string why);
    // The read ended without a close frame: the peer's end of file, or an error.
    void peer_disconnected();
    void read_failed(std::string error);

    // We close for a reason (close_status `code`, `reason` for the client and the log). Returns
    // the close frame to send now; nothing when ours already went out, the reader has ended or
    // the connection is closed. A held answer to the peer is replaced by it. `why` is the
    // disconnect reason the close stands for; without it, the one `code` implies.
    std::optional<close_frame> close_server(close_status code, std::string_view reason);
    std::optional<close_frame> close_server(close_status code, std::string_view reason,
                                            disconnect_reason why);
    // The client's own messages are back (or waiting for them is over): the held answer to the
    // peer's close or violation, to send now; nothing when there is none or it is too late.
    std::optional<close_frame> take_held_close();

    // Closes the connection at once: true the first time, when the caller closes the socket.
    // They differ only in the cause they record.
    bool write_failed(std::string error);
    bool idle_timeout();
    bool force_close();

    // The writer coroutine: writer_starting() when the outbox has bytes, true when the writer is
    // to start now (none runs, the socket is open); writer_idle() when it has ended.
    bool writer_starting() noexcept;
    void writer_idle() noexcept { writer_running_ = false; }

    // The reader has ended for good (its finish, or an exception): true the first time while the
    // session is in its shard, when the caller removes it from there.
    bool reader_ended() noexcept;

    // --- The client's own messages, held back before its close ---

    // The receipt the hub's sender reports the client's messages on; made at the first message.
    const std::shared_ptr<publish_receipt>& receipt();
    // The hub took one more of the client's messages.
    void published() noexcept { ++published_; }
    // A batch up to the hub's `last_order` went into the client's queue.
    void delivered(std::uint64_t last_order) noexcept { delivered_order_ = last_order; }
    // Whether every message the client published has been numbered by the hub and delivered back
    // to it.
    bool own_messages_delivered() const noexcept;

    // --- What the session asks ---

    phase current() const noexcept { return phase_; }
    bool closed() const noexcept { return phase_ == phase::closed; }
    close_cause cause() const noexcept { return cause_; }
    // The close code sent or received with the cause (0: none).
    std::uint16_t code() const noexcept { return code_; }
    // Why the connection ended, for the log ("closed by peer (1000: bye)", "idle timeout: ...").
    std::string describe() const;
    // Why the connection ended, as one of the few reasons /metrics counts.
    disconnect_reason reason() const noexcept;

    // The socket takes writes: it has not been closed.
    bool may_write() const noexcept { return phase_ != phase::closed; }
    // The server still serves the client: delivers broadcasts, pings it, watches its deadlines and
    // may close it. Not before it joined its shard, after its reader ended, once our close frame
    // went out or once the socket is closed.
    bool serving() const noexcept { return in_shard_ && !close_sent_ && phase_ != phase::closed; }
    // What the peer sends is acted on (published, answered, counted against the rate limits);
    // after our close frame only its close frame is awaited.
    bool acts_on_frames() const noexcept { return !close_sent_ && phase_ != phase::closed; }
    bool writer_running() const noexcept { return writer_running_; }
    // A close is held until the client's own messages have come back.
    bool close_held() const noexcept { return held_close_.has_value(); }
    // The reader should still wait for the client's own messages before it answers.
    bool awaits_own_messages() const noexcept {
        return held_close_ && phase_ != phase::closed && !own_messages_delivered();
    }
    // Our close frame is queued (sent, once the writer is idle).
    bool close_sent() const noexcept { return close_sent_; }
    // The peer's close frame arrived.
    bool peer_close_received() const noexcept { return peer_close_received_; }
    // After the reader: the writer still has bytes to send on an open socket.
    bool flushing() const noexcept { return writer_running_ && phase_ != phase::closed; }
    // After the flush: our close frame is out on an open socket, so half-close it.
    bool half_close_due() const noexcept { return close_sent_ && phase_ != phase::closed; }
    // After the half-close: keep reading (and dropping) until the peer closes too, since closing a
    // socket with unread bytes sends a reset that can overtake our close frame. Not when its close
    // frame came: it sends nothing after it.
    bool lingers() const noexcept { return half_close_due() && !peer_close_received_; }

  private:
    // Records `cause` if none is yet; a close of ours replaces an unanswered close of the peer's.
    // True when it was recorded.
    bool record(close_cause cause, std::uint16_t code, std::string detail, bool ours);
    // Our close frame `frame` goes out now.
    close_frame send(close_frame frame);
    bool close_socket();

    phase phase_ = phase::open;
    close_cause cause_ = close_cause::none;
    std::uint16_t code_ = 0;
    std::string detail_; // the reason or error with the cause
    // With close_cause::server_close: the reason our close stands for.
    disconnect_reason server_reason_ = disconnect_reason::server_error;
    std::optional<close_frame> held_close_;
    std::shared_ptr<publish_receipt> receipt_;
    std::uint64_t published_ = 0;       // messages the hub took from this client
    std::uint64_t delivered_order_ = 0; // the hub's order of the last message delivered to this client
    bool in_shard_ = false;
    bool reader_ended_ = false;
    bool writer_running_ = false;
    bool close_sent_ = false;
    bool peer_close_received_ = false;
};

} // namespace wshub

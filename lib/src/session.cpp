#include "session.hpp"

#include "hub.hpp"
#include "log_exception.hpp"
#include "shard.hpp"
#include "wshub/client_text.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <span>
#include <spdlog/spdlog.h>
#include <utility>

namespace asio = boost::asio;
using boost::system::error_code;

namespace wshub {

namespace {

bool would_block(const error_code& ec) {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

} // namespace

session::session(shard& owner, asio::ip::tcp::socket socket, std::string user_id, std::string remote,
                 connection_limits::slot slot)
    : shard_(owner)
    , socket_(std::move(socket))
    , parser_(owner.state().cfg.max_message_size)
    , user_id_(std::move(user_id))
    , remote_(std::move(remote))
    , outbox_(outbox::limits{owner.state().cfg.max_queued_bytes, owner.state().cfg.queue_hard_limit(),
                             owner.state().cfg.slow_client_timeout},
              &owner.counters().queued_bytes)
    , slot_(std::move(slot))
    , message_bucket_(owner.state().cfg.rate_limit, std::max(1.0, owner.state().cfg.rate_limit))
    , byte_bucket_(owner.state().cfg.rate_limit_bytes, std::max(1.0, owner.state().cfg.rate_limit_bytes))
    , last_heard_(std::chrono::steady_clock::now()) {}

session::~session() = default;

void session::use_deflate() {
    deflate_ = true;
    parser_.use_inflater(&shard_.shared_inflater());
}

void session::start(std::string handshake_response, std::string prefetched,
                    const std::optional<resume_positions>& resume) {
    error_code ec;
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    // The kernel's buffer counts in what a stuck client holds: keep it near the queue limits.
    if (const auto sndbuf = shard_.state().cfg.socket_send_buffer; sndbuf > 0)
        socket_.set_option(asio::socket_base::send_buffer_size(static_cast<int>(sndbuf)), ec);
    // Reads and the writes of deliver()'s fast path return would_block instead of waiting.
    socket_.non_blocking(true, ec);
    // The session joins its shard as its 101 response is queued: a client that has seen the 101
    // gets every later broadcast, and those are queued behind the response.
    shard_.add(*this);
    state_.started();
    spdlog::info("connect user_id={} remote={}", client_text{user_id_}, remote_);
    send_unshared(std::move(handshake_response), false);
    // Its join point is here: the history holds what came before, its queue gets what follows.
    shard_.catch_up(*this, resume);
    // Admitted just as the server began to stop: the 1001 follows the 101.
    if (shard_.closing_clients()) close(close_status::going_away, "server shutting down");
    start_reader(std::move(prefetched));
}

void session::start_reader(std::string unread) {
    asio::co_spawn(socket_.get_executor(), reader(std::move(unread)),
                   [self = shared_from_this()](const std::exception_ptr& e) {
                       if (!e) return;
                       log_exception{"reader"}(e);
                       self->force_close();
                       if (self->closing_deadline_) self->closing_deadline_->cancel(); // it holds the session
                       if (self->state_.reader_ended()) self->shard_.remove(*self);    // finish() did not run
                   });
}

void session::wait_readable() {
    // With nothing to read, the reader has ended: an idle client costs this one pending wait,
    // not a coroutine frame and a buffer. Closing the socket completes it too.
    socket_.async_wait(asio::ip::tcp::socket::wait_read,
                       [self = shared_from_this()](error_code) { self->start_reader({}); });
}

asio::awaitable<void> session::reader(std::string unread) {
    // `unread`: bytes received but not parsed yet. At first those that came right behind the
    // upgrade request; later the rest of a read that held more messages than one pass takes.
    std::size_t unread_from = 0;
    bool socket_drained = false; // the last read emptied the socket
    reader_pass pass;
    for (bool open = true; open;) {
        pass.now = std::chrono::steady_clock::now();
        const bool from_unread = unread_from < unread.size();
        std::span<const char> bytes;
        if (from_unread) {
            bytes = std::span<const char>(unread).subspan(unread_from);
        } else {
            // The shard's buffer is shared by its sessions: the parser copies out what it keeps,
            // and nothing refers to the buffer after this pass, before the first co_await.
            const auto buffer = shard_.read_buffer();
            error_code ec;
            const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
            if (would_block(ec)) {
                socket_drained = true;
            } else if (ec) {
                if (ec == asio::error::eof)
                    state_.peer_disconnected();
                else
                    state_.read_failed(ec.message());
                open = false;
            } else {
                shard_.counters().bytes_in.add(n);
                bytes = buffer.first(n);
                // A short read emptied the socket (a new arrival wakes the readiness wait).
                socket_drained = n < buffer.size();
            }
        }
        while (open && pass.received.size() < max_messages_per_pass) {
            const std::size_t before = bytes.size();
            auto event = parser_.next(bytes);
            // Every frame and every byte counts, pings and fragments as much as messages: each
            // costs the server work (a ping, a pong to send). A compressed message counts as its
            // inflated size: that is what the hub fans out.
            const std::uint64_t growth =
                parser_.inflated_growth() - std::exchange(growth_counted_, parser_.inflated_growth());
            if (state_.acts_on_frames() &&
                !within_rate_limits(parser_.frames() - std::exchange(frames_counted_, parser_.frames()),
                                    before - bytes.size() + growth, pass.now)) {
                close_over_rate_limit(pass);
            }
            if (!event) break;
            open = handle(std::move(*event), pass);
        }
        // Keep what the pass left: copied out of the shared buffer, or marked in `unread`.
        if (!open || bytes.empty()) {
            unread.clear();
            unread_from = 0;
        } else if (from_unread) {
            unread_from = static_cast<std::size_t>(bytes.data() - unread.data());
        } else {
            unread.assign(bytes.data(), bytes.size());
            unread_from = 0;
        }
        send_pongs(pass.pongs);
        for (auto& m : pass.received) {
            m.receipt = state_.receipt();
            if (shard_.publishing() && co_await shard_.state().message_hub->publish(std::move(m)))
                state_.published();
            else
                spdlog::debug("message from user_id={} dropped: the hub is stopping", client_text{user_id_});
        }
        pass.received.clear();
        if (state_.close_held()) {
            // The client's last messages are the hub's: they reach it too before its close frame.
            co_await wait_for_own_messages();
            if (const auto frame = state_.take_held_close()) send_close_frame(*frame);
        }
        if (open && unread.empty() && socket_drained) {
            wait_readable();
            co_return;
        }
        // More is waiting: let the shard's other sessions (and the sender) have a turn first, so
        // a client that sends without pause cannot hold the thread.
        if (open) co_await asio::post(socket_.get_executor(), asio::use_awaitable);
    }
    co_await finish();
}

bool session::handle(frame_event event, reader_pass& pass) {
    auto& state = shard_.state();
    // Only whole frames count as signs of life: a client trickling a partial frame still times out.
    last_heard_ = pass.now;
    switch (event.what) {
    case frame_event::kind::message: {
        shard_.counters().messages_in.add(1);
        if (!state_.acts_on_frames()) return true; // keep reading until the peer answers the close
        if (state.cfg.client_messages == config::client_messages_mode::drop) return true;
        auto& m = pass.received.emplace_back(); // for everyone, as in the seed
        m.kind = event.text ? payload_kind::text : payload_kind::binary;
        m.payload = std::move(event.payload);
        return true;
    }
    case frame_event::kind::ping:
        // Answered after the pass, all pongs in one write: a burst of pings costs one system call.
        if (state_.acts_on_frames()) append_frame(pass.pongs, opcode::pong, event.payload);
        return true;
    case frame_event::kind::pong:
        return true;
    case frame_event::kind::close:
        state_.peer_closed(event.code, event.payload);
        send_pongs(pass.pongs);
        return false;
    case frame_event::kind::violation:
        state_.peer_violated(event.code, std::move(event.payload));
        send_pongs(pass.pongs);
        return false;
    }
    return false;
}

void session::close_over_rate_limit(reader_pass& pass) {
    shard_.state().counters.rate_limit_closes.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("closing user_id={} remote={}: over its rate limit", client_text{user_id_}, remote_);
    send_pongs(pass.pongs);
    // Nothing more of its frames is acted on: no message published, no ping answered.
    close(close_status::policy_violation, "rate limit exceeded", disconnect_reason::rate_limit);
}

asio::awaitable<void> session::wait_for_own_messages() {
    if (!state_.awaits_own_messages()) co_return;
    own_messages_back_ =
        std::make_unique<asio::steady_timer>(socket_.get_executor(), shard_.state().cfg.handshake_timeout);
    // deliver() cancels it once they are back; a close or force_close() cancels it too.
    co_await own_messages_back_->async_wait(asio::as_tuple(asio::use_awaitable));
    own_messages_back_.reset();
}

void session::stop_waiting_for_own_messages() {
    if (own_messages_back_) own_messages_back_->cancel();
}

void session::send_pongs(std::string& pongs) {
    if (!pongs.empty()) send_unshared(std::exchange(pongs, {}), false);
}

asio::awaitable<void> session::finish() {
    if (state_.reader_ended()) shard_.remove(*this);
    spdlog::info("disconnect user_id={} remote={} reason={}", client_text{user_id_}, remote_,
                 client_text{state_.describe()});
    co_await flush_before_close();
    co_await discard_until_peer_closes();
    if (closing_deadline_) closing_deadline_->cancel();
}

asio::awaitable<void> session::flush_before_close() {
    // Give a slow peer a bounded time to take the rest (the close frame among it). The writer's
    // end cancels the wait; the timer's expiry ends the connection.
    if (state_.flushing())
        flush_deadline_ = std::make_unique<asio::steady_timer>(socket_.get_executor(),
                                                               shard_.state().cfg.handshake_timeout);
    while (state_.flushing()) {
        auto [ec] = co_await flush_deadline_->async_wait(asio::as_tuple(asio::use_awaitable));
        if (!ec && state_.flushing()) force_close(); // expired with bytes still unsent
    }
    if (state_.half_close_due()) {
        // The close frame is out: half-close so the peer sees the end after it.
        error_code ec;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    }
}

asio::awaitable<void> session::discard_until_peer_closes() {
    // Closing a socket that still has unread bytes makes the kernel send a reset, which can
    // overtake our close frame: a client cut off mid-message (1009, 1002, ...) would see a reset
    // instead of the code. So after the half-close, read and drop what the peer still sends
    // until it closes its side too; the closing deadline bounds it. A peer whose close frame we
    // read sends nothing after it: the socket can close at once (and free its slot).
    if (!state_.lingers()) co_return;
    for (;;) {
        auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read,
                                                asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        for (;;) {
            const auto buffer = shard_.read_buffer();
            const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
            shard_.counters().bytes_in.add(n);
            if (would_block(ec) || (!ec && n < buffer.size())) break; // drained
            if (ec) co_return; // the peer's end, or the deadline closed the socket
            co_await asio::post(socket_.get_executor(), asio::use_awaitable); // others get a turn
        }
    }
}

void session::start_writer() {
    if (!state_.writer_starting()) return;
    // The writer coroutine exists only while the outbox has bytes: an idle client keeps no
    // writer frame. The completion handler holds the session until the writer has ended.
    asio::co_spawn(socket_.get_executor(), writer(),
                   [self = shared_from_this()](const std::exception_ptr& e) {
                       if (!e) return;
                       log_exception{"writer"}(e);
                       self->force_close();
                       self->writer_done();
                   });
}

void session::writer_done() {
    state_.writer_idle();
    if (flush_deadline_) flush_deadline_->cancel();
}

asio::awaitable<void> session::writer() {
    // Chunks are whole frame batches, so a few buffers cover a long backlog.
    std::array<asio::const_buffer, 16> buffers;
    while (!outbox_.empty() && state_.may_write()) {
        const std::size_t n = outbox_.prepare(buffers);
        auto [ec, written] = co_await socket_.async_write_some(std::span(buffers.data(), n),
                                                               asio::as_tuple(asio::use_awaitable));
        shard_.counters().bytes_out.add(written);
        outbox_.consume(written);
        if (ec) {
            if (state_.write_failed(ec.message())) close_socket(); // the reader learns of it through its read
            break;
        }
    }
    // Here, not in the completion handler: co_spawn posts that, and a delivery in between would
    // find the writer still marked running and leave its bytes unsent.
    writer_done();
}

bool session::send(outbox::chunk c, bool final, std::chrono::steady_clock::time_point now) {
    if (!state_.may_write()) return false;
    if (!state_.writer_running() && outbox_.empty() && !outbox_.closed()) {
        // Fast path: nothing is waiting, so write now, without starting the writer. The socket is
        // non-blocking; what the kernel does not take is queued.
        error_code ec;
        const std::size_t n = socket_.write_some(asio::buffer(c.data, c.size), ec);
        shard_.counters().bytes_out.add(n);
        if (ec && !would_block(ec)) {
            if (state_.write_failed(ec.message())) close_socket();
            return false;
        }
        if (n == c.size) {
            if (final) outbox_.close();
            return true;
        }
        c.data += n;
        c.size -= n;
    }
    switch (final ? outbox_.push_final(std::move(c)) : outbox_.push(std::move(c), now)) {
    case outbox::push_result::accepted:
        start_writer();
        return true;
    case outbox::push_result::overflow:
        overflowed();
        return false;
    case outbox::push_result::closed:
        return false;
    }
    return false;
}

bool session::send_unshared(std::string bytes, bool final) {
    auto owner = std::make_shared<const std::string>(std::move(bytes));
    return send(outbox::chunk{owner, owner->data(), owner->size()}, final);
}

bool session::send_frame(opcode op, std::string_view payload) {
    std::string frame;
    append_frame(frame, op, payload);
    return send_unshared(std::move(frame), op == opcode::close);
}

void session::send_close_frame(const connection_state::close_frame& frame) {
    stop_waiting_for_own_messages(); // nothing more is delivered
    std::string payload;
    if (frame.code != 0) {
        payload.push_back(static_cast<char>(frame.code >> 8));
        payload.push_back(static_cast<char>(frame.code & 0xFF));
        payload.append(
            std::string_view(frame.reason).substr(0, 123)); // control frames carry at most 125 bytes
    }
    send_frame(opcode::close, payload);
    closing_deadline_ =
        std::make_unique<asio::steady_timer>(socket_.get_executor(), shard_.state().cfg.handshake_timeout);
    closing_deadline_->async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->force_close();
    });
}

bool session::deliver(const frame_batch_ptr& batch, std::string_view frames, std::uint64_t last_order,
                      std::chrono::steady_clock::time_point now) {
    if (!state_.serving()) return false;
    if (!send(outbox::chunk{batch, frames.data(), frames.size()}, false, now)) return false;
    state_.delivered(last_order);
    if (!state_.awaits_own_messages()) stop_waiting_for_own_messages();
    return true;
}

bool session::send_shared(const frame_batch_ptr& batch, std::string_view frames) {
    return state_.serving() && send(outbox::chunk{batch, frames.data(), frames.size()}, false);
}

bool session::send_text(std::string_view text) {
    return state_.serving() && send_frame(opcode::text, text);
}

void session::subscribe(std::vector<std::string> channels) {
    channel_places_.reserve(channels.size());
    for (auto& c : channels)
        channel_places_.push_back(channel_place{std::move(c), {}});
}

bool session::subscribed_to(std::string_view channel) const noexcept {
    return std::any_of(channel_places_.begin(), channel_places_.end(),
                       [channel](const channel_place& p) { return p.channel == channel; });
}

bool session::within_rate_limits(std::uint64_t frames, std::size_t bytes,
                                 std::chrono::steady_clock::time_point now) {
    // Buckets with a rate of 0 are unlimited. The frames of one read are as many takes of one:
    // more than a burst's worth at once is over the limit (only a byte take may run into debt,
    // so that one message larger than the byte burst can pass).
    const auto n = static_cast<double>(frames);
    const bool frames_ok =
        message_bucket_.unlimited() || (n <= message_bucket_.burst() && message_bucket_.try_take(n, now));
    return frames_ok && byte_bucket_.try_take(static_cast<double>(bytes), now);
}

void session::keepalive(std::chrono::steady_clock::time_point now) {
    if (!state_.serving()) return;
    if (outbox_.too_slow(now)) { // a stopped reader to which nothing more was sent
        overflowed();
        return;
    }
    if (now >= expires_at_) {
        close(close_status::token_expired, "token expired");
        return;
    }
    const auto& cfg = shard_.state().cfg;
    const auto silent = now - last_heard_;
    if (silent >= cfg.idle_timeout) {
        shard_.state().counters.idle_closes.fetch_add(1, std::memory_order_relaxed);
        if (state_.idle_timeout()) close_socket();
        return;
    }
    // One ping per interval of silence: an unanswered ping is not repeated on every sweep.
    if (silent < cfg.ping_interval || now - last_ping_ < cfg.ping_interval) return;
    last_ping_ = now;
    send_frame(opcode::ping, {});
}

void session::overflowed() {
    shard_.state().counters.overflow_closes.fetch_add(1, std::memory_order_relaxed);
    const auto& limit = outbox_.limit();
    spdlog::warn("closing user_id={} remote={}: outbound queue of {} bytes, over {} for {} ms or past {} "
                 "(client too slow)",
                 client_text{user_id_}, remote_, outbox_.queued_bytes(), limit.soft,
                 std::chrono::duration_cast<std::chrono::milliseconds>(limit.grace).count(), limit.hard);
    outbox_.drop_unsent();
    close(close_status::policy_violation, "outbound queue overflow: client too slow",
          disconnect_reason::slow_consumer);
}

void session::close(close_status code, std::string_view reason) {
    // The reader keeps reading until the peer answers with its close frame; the closing deadline
    // ends the connection if it never does.
    if (const auto frame = state_.close_server(code, reason)) send_close_frame(*frame);
}

void session::close(close_status code, std::string_view reason, wshub::disconnect_reason why) {
    if (const auto frame = state_.close_server(code, reason, why)) send_close_frame(*frame);
}

void session::force_close() {
    if (state_.force_close()) close_socket();
}

void session::close_socket() {
    stop_waiting_for_own_messages();
    outbox_.close();
    error_code ec;
    socket_.close(ec); // the pending wait, read or write completes with operation_aborted
}

} // namespace wshub

#include "session.hpp"

#include "hub.hpp"
#include "log_exception.hpp"
#include "shard.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/error.hpp>
#include <span>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

namespace wshub {

namespace {

// Why a read ended, in words for the log.
std::string describe_end(const error_code& ec, const websocket::close_reason& peer) {
    if (ec == websocket::error::closed) {
        if (peer.code == websocket::close_code::none) return "closed";
        return fmt::format("closed by peer ({}{}{})", static_cast<unsigned>(peer.code),
                           peer.reason.empty() ? "" : ": ",
                           std::string_view(peer.reason.data(), peer.reason.size()));
    }
    return ec.message();
}

// Beast writes each control frame whole, so its first byte tells: FIN + close opcode. (The
// handshake response passes through here too, and starts with 'H'.)
bool is_close_frame(const std::string& bytes) {
    return !bytes.empty() &&
           static_cast<unsigned char>(bytes[0]) == (0x80 | static_cast<unsigned>(opcode::close));
}

} // namespace

session::session(shard& owner, asio::ip::tcp::socket socket, std::string prefetched, std::string user_id,
                 std::string remote, connection_limits::slot slot)
    : shard_(owner)
    , user_id_(std::move(user_id))
    , remote_(std::move(remote))
    , outbox_(owner.state().cfg.max_queued_bytes)
    , flushed_(socket.get_executor())
    , linger_(socket.get_executor())
    , ws_(std::move(socket), std::move(prefetched), static_cast<detail::write_sink&>(*this))
    , slot_(std::move(slot))
    , message_bucket_(owner.state().cfg.rate_limit, std::max(1.0, owner.state().cfg.rate_limit))
    , byte_bucket_(owner.state().cfg.rate_limit_bytes, std::max(1.0, owner.state().cfg.rate_limit_bytes))
    , last_heard_(std::chrono::steady_clock::now()) {}

session::~session() = default;

asio::awaitable<void> session::run(upgrade_request request) {
    // The reader: handshake, then messages into the hub until the connection ends. One frame
    // for the whole life of the session; the writer is spawned only while there is output.
    const auto& cfg = shard_.state().cfg;
    error_code nodelay_ec;
    socket().set_option(asio::ip::tcp::no_delay(true), nodelay_ec);
    socket().non_blocking(true, nodelay_ec); // deliver() writes directly when the writer is idle

    // Beast bounds the opening and closing handshakes; pings and the idle timeout come from the
    // shard's keep-alive sweep, which can keep the two intervals independent.
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = cfg.handshake_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.control_callback([this](websocket::frame_type, beast::string_view) {
        last_heard_ = std::chrono::steady_clock::now();
    });
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "wshub"); }));
    ws_.read_message_max(cfg.max_message_size);
    ws_.auto_fragment(false);

    // The session joins its shard when the 101 response is queued (queue_protocol_bytes), not when
    // the handshake completes: a client that has seen the 101 must get every later broadcast, and
    // those are queued behind the response.
    handshake_pending_ = true;
    auto [accept_ec] = co_await ws_.async_accept(request, asio::as_tuple(asio::use_awaitable));
    handshake_pending_ = false;
    request = {}; // its header fields would otherwise live in this frame as long as the client
    if (accept_ec) {
        spdlog::debug("handshake failed user_id={} remote={}: {}", user_id_, remote_, accept_ec.message());
        close_reason_ = "handshake failed";
        if (registered_) {
            shard_.remove(*this);
            registered_ = false;
        }
    } else {
        spdlog::info("connect user_id={} remote={}", user_id_, remote_);

        for (;;) {
            // Read in place rather than in a helper coroutine: an idle client then keeps one
            // coroutine frame, not two. The first bytes land in the small `first_bytes_`, since
            // Beast's async_read into a dynamic buffer would allocate a frame-sized one per
            // connection up front; a longer message is read straight into its payload string.
            std::string payload;
            error_code ec;
            do {
                std::size_t n = 0;
                if (payload.empty()) {
                    std::tie(ec, n) = co_await ws_.async_read_some(asio::buffer(first_bytes_),
                                                                   asio::as_tuple(asio::use_awaitable));
                    payload.assign(first_bytes_.data(), n);
                } else {
                    const std::size_t old = payload.size();
                    payload.resize(old + std::max<std::size_t>(old, 16 * 1024));
                    std::tie(ec, n) =
                        co_await ws_.async_read_some(asio::buffer(payload.data() + old, payload.size() - old),
                                                     asio::as_tuple(asio::use_awaitable));
                    payload.resize(old + n);
                }
            } while (!ec && !ws_.is_message_done());
            if (ec) {
                if (close_reason_.empty()) close_reason_ = describe_end(ec, ws_.reason());
                peer_sent_close_ = ec == websocket::error::closed;
                break;
            }
            last_heard_ = std::chrono::steady_clock::now();
            shard_.state().counters.messages_in.fetch_add(1, std::memory_order_relaxed);
            if (closing_) continue; // keep reading until the peer answers the close
            if (!within_rate_limits(payload.size())) {
                shard_.state().counters.rate_limit_closes.fetch_add(1, std::memory_order_relaxed);
                spdlog::warn("closing user_id={} remote={}: over its rate limit", user_id_, remote_);
                close(websocket::close_code::policy_error, "rate limit exceeded");
                continue;
            }
            if (cfg.client_messages == config::client_messages_mode::drop) continue;
            message m;
            m.kind = ws_.got_text() ? payload_kind::text : payload_kind::binary;
            m.payload = std::move(payload);
            if (!co_await shard_.state().the_hub->publish(std::move(m))) {
                spdlog::debug("message from user_id={} dropped: the hub is stopping", user_id_);
            }
        }
        shard_.remove(*this);
        registered_ = false;
        spdlog::info("disconnect user_id={} remote={} reason={}", user_id_, remote_, close_reason_);
    }

    reader_done_ = true;
    co_await flush_before_close();
    co_await discard_until_peer_closes();
}

asio::awaitable<void> session::flush_before_close() {
    // Give a slow peer a bounded time to take the rest (the close frame among it). The writer's
    // end cancels the wait; the timer's expiry ends the connection.
    flushed_.expires_after(shard_.state().cfg.handshake_timeout);
    while (writer_running_ && !dead_) {
        auto [ec] = co_await flushed_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!ec && writer_running_) force_close(); // expired with bytes still unsent
    }
    if (!dead_ && closing_) {
        // The close frame is out: half-close so the peer sees the end after it.
        error_code ec;
        socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    }
}

void session::start_writer() {
    if (writer_running_ || dead_) return;
    writer_running_ = true;
    // The writer coroutine exists only while the outbox has bytes: an idle client keeps no
    // writer frame. The completion handler holds the session until the writer has ended.
    asio::co_spawn(ws_.get_executor(), writer(), [self = shared_from_this()](std::exception_ptr e) {
        if (!e) return;
        log_exception{"writer"}(e);
        self->force_close();
        self->writer_done();
    });
}

void session::writer_done() {
    writer_running_ = false;
    flushed_.cancel();
}

asio::awaitable<void> session::writer() {
    // Chunks are whole frame batches, so a few buffers cover a long backlog.
    std::array<asio::const_buffer, 16> buffers;
    while (!outbox_.empty() && !dead_) {
        const std::size_t n = outbox_.prepare(buffers);
        auto [ec, written] = co_await socket().async_write_some(std::span(buffers.data(), n),
                                                                asio::as_tuple(asio::use_awaitable));
        outbox_.consume(written);
        if (ec) {
            force_close(); // the reader learns of it through its read
            break;
        }
    }
    // Here, not in the completion handler: co_spawn posts that, and a delivery in between would
    // find the writer still marked running and leave its bytes unsent.
    writer_done();
}

asio::awaitable<void> session::discard_until_peer_closes() {
    // Closing a socket that still has unread bytes makes the kernel send a reset, which can
    // overtake our close frame: a client cut off mid-message (1009, 1002, ...) would see a reset
    // instead of the code. So after the half-close, read and drop what the peer still sends
    // until it closes its side too, for at most the closing-handshake time. A peer whose close
    // frame we read sends nothing after it: the socket can close at once (and free its slot).
    if (dead_ || !closing_ || peer_sent_close_) co_return;
    linger_.expires_after(shard_.state().cfg.handshake_timeout);
    linger_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->force_close();
    });
    for (;;) {
        auto [ec, n] = co_await socket().async_read_some(asio::buffer(first_bytes_),
                                                         asio::as_tuple(asio::use_awaitable));
        if (ec) break;
    }
    linger_.cancel();
}

void session::deliver(const frame_batch_ptr& batch) {
    if (dead_ || closing_ || !registered_) return;
    outbox::chunk c{batch, batch->bytes.data(), batch->bytes.size()};
    if (!writer_running_ && outbox_.empty()) {
        // Fast path: nothing is waiting, so write now, without starting the writer. The socket is
        // non-blocking; what the kernel does not take is queued.
        error_code ec;
        const std::size_t n = socket().write_some(asio::buffer(c.data, c.size), ec);
        if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
            force_close();
            return;
        }
        if (n == c.size) return;
        c.data += n;
        c.size -= n;
    }
    switch (outbox_.push(std::move(c))) {
    case outbox::push_result::accepted:
        start_writer();
        break;
    case outbox::push_result::overflow:
        overflowed();
        break;
    case outbox::push_result::closed:
        break;
    }
}

bool session::within_rate_limits(std::size_t bytes) {
    // Buckets with a rate of 0 are unlimited. last_heard_ is the arrival time of this message.
    return message_bucket_.try_take(1, last_heard_) &&
           byte_bucket_.try_take(static_cast<double>(bytes), last_heard_);
}

void session::keepalive(std::chrono::steady_clock::time_point now) {
    if (dead_ || closing_ || !registered_) return;
    const auto& cfg = shard_.state().cfg;
    const auto silent = now - last_heard_;
    if (silent >= cfg.idle_timeout) {
        shard_.state().counters.idle_closes.fetch_add(1, std::memory_order_relaxed);
        close_reason_ = "idle timeout: no answer to pings";
        force_close();
        return;
    }
    // One ping per interval of silence: an unanswered ping is not repeated on every sweep.
    if (silent < cfg.ping_interval || now - last_ping_ < cfg.ping_interval || ping_in_flight_) return;
    ping_in_flight_ = true;
    last_ping_ = now;
    asio::co_spawn(
        ws_.get_executor(),
        [self = shared_from_this()]() -> asio::awaitable<void> {
            co_await self->ws_.async_ping({}, asio::as_tuple(asio::use_awaitable));
            self->ping_in_flight_ = false;
        },
        asio::detached);
}

void session::overflowed() {
    shard_.state().counters.overflow_closes.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("closing user_id={} remote={}: outbound queue over {} bytes (client too slow)", user_id_,
                 remote_, outbox_.limit());
    outbox_.drop_unsent();
    close(websocket::close_code::policy_error, "outbound queue overflow: client too slow");
}

void session::close(websocket::close_code code, std::string_view reason) {
    if (closing_ || dead_ || reader_done_) return;
    closing_ = true;
    close_reason_ = fmt::format("closed by server ({} {})", static_cast<unsigned>(code), reason);
    asio::co_spawn(
        ws_.get_executor(),
        [self = shared_from_this(), cr = websocket::close_reason(code, reason)]() -> asio::awaitable<void> {
            // The reader's pending read ends with `closed` when the peer answers (or the
            // handshake timeout closes the socket); it finishes the session.
            co_await self->ws_.async_close(cr, asio::as_tuple(asio::use_awaitable));
        },
        asio::detached);
}

void session::force_close() {
    if (dead_) return;
    dead_ = true;
    outbox_.close();
    error_code ec;
    socket().close(ec); // pending reads and writes complete with operation_aborted
}

bool session::queue_protocol_bytes(std::string bytes) {
    if (dead_) return false;
    const bool joins_shard = handshake_pending_ && !registered_ && bytes.starts_with("HTTP/1.1 101");
    const bool is_close = is_close_frame(bytes);
    if (is_close) closing_ = true; // the close frame gets out even past the limit; nothing follows it
    auto owner = std::make_shared<const std::string>(std::move(bytes));
    outbox::chunk c{owner, owner->data(), owner->size()};
    const auto result = is_close ? outbox_.push_final(std::move(c)) : outbox_.push(std::move(c));
    if (result == outbox::push_result::overflow) {
        overflowed(); // pongs for a peer that does not read count against its limit too
        return false;
    }
    if (result == outbox::push_result::closed) return false;
    if (joins_shard) {
        shard_.add(*this);
        registered_ = true;
    }
    start_writer();
    return true;
}

void session::teardown_after_flush() {
    // flush_before_close() half-closes once the reader has ended and the outbox is sent.
    closing_ = true;
}

} // namespace wshub

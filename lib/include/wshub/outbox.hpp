// One client's bounded queue of bytes to send: references to shared frame batches and the
// connection's own control frames, in order. Pure bookkeeping, no I/O: the session's writer asks
// for the next buffers, writes them, and reports how much went out.
#pragma once

#include "wshub/metrics_counters.hpp"

#include <boost/asio/buffer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace wshub {

class outbox {
  public:
    // A run of bytes and whatever keeps them alive (a frame batch, or a private string).
    struct chunk {
        std::shared_ptr<const void> owner;
        const char* data = nullptr;
        std::size_t size = 0;
    };

    using clock = std::chrono::steady_clock;

    // How far a client may fall behind. The backlog may pass `soft` for up to `grace` (a burst
    // that a client reading at the average rate catches up with); it may never pass `hard`.
    struct limits {
        std::size_t soft;
        std::size_t hard;
        clock::duration grace;
    };

    enum class push_result { accepted, overflow, closed };

    // A plain cap: `limit` bytes, no grace.
    explicit outbox(std::size_t limit) noexcept
        : outbox(limits{limit, limit, clock::duration::max()}) {}
    // `queued_gauge`, if set, follows the unsent bytes: it gets every change of queued_bytes(),
    // and loses what is left when the outbox goes (a gauge summed over many outboxes).
    explicit outbox(limits l, owned_counter* queued_gauge = nullptr) noexcept
        : limits_(l)
        , gauge_(queued_gauge) {}
    ~outbox() { set_queued(0); }
    outbox(const outbox&) = delete;
    outbox& operator=(const outbox&) = delete;

    // Queues a chunk. An empty queue takes any chunk, so one large message never trips the
    // limits by itself; otherwise a chunk is refused with `overflow` (and the caller closes the
    // client) when it would take the backlog past the hard limit, or when the backlog has been
    // over the soft limit for the grace period at `now`. After close() everything is refused.
    push_result push(chunk c, clock::time_point now = {});

    // Whether the backlog has been over the soft limit for the grace period at `now`.
    bool too_slow(clock::time_point now) const noexcept {
        return over_soft_since_ && now - *over_soft_since_ >= limits_.grace;
    }

    // Queues the connection's last chunk (its close frame) whatever the backlog, then close()s.
    push_result push_final(chunk c);

    // Fills `out` with the unsent bytes, front first, and remembers how many chunks an
    // in-flight write now refers to (those are kept alive until consume()).
    std::size_t prepare(std::span<boost::asio::const_buffer> out);

    // `n` bytes of what prepare() returned were written.
    void consume(std::size_t n);

    // Gives up on what is not yet on the wire, for a client that is being cut off; chunks an
    // in-flight write still refers to, or that are partly written, stay so frames stay whole.
    void drop_unsent();

    // Refuse further pushes (a close frame is the last thing a connection sends).
    void close() noexcept { closed_ = true; }

    bool closed() const noexcept { return closed_; }
    bool empty() const noexcept { return head_ == chunks_.size(); }
    std::size_t queued_bytes() const noexcept { return queued_; }
    const limits& limit() const noexcept { return limits_; }

  private:
    // Every change of queued_ goes through here, so the gauge follows it.
    void set_queued(std::size_t n) noexcept {
        if (gauge_) {
            if (n > queued_)
                gauge_->add(n - queued_);
            else
                gauge_->sub(queued_ - n);
        }
        queued_ = n;
    }

    std::vector<chunk> chunks_;
    std::size_t head_ = 0;        // first unsent chunk
    std::size_t head_offset_ = 0; // bytes of it already written
    std::size_t in_flight_ = 0;   // chunks referred to by the write in progress
    std::size_t queued_ = 0;      // unsent bytes
    limits limits_;
    std::optional<clock::time_point> over_soft_since_; // when the backlog went over the soft limit
    owned_counter* gauge_ = nullptr;
    bool closed_ = false;
};

} // namespace wshub

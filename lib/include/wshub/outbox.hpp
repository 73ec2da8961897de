// One client's bounded queue of bytes to send: references to shared frame batches and the
// connection's own control frames, in order. Pure bookkeeping, no I/O: the session's writer asks
// for the next buffers, writes them, and reports how much went out.
#pragma once

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <memory>
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

    enum class push_result { accepted, overflow, closed };

    explicit outbox(std::size_t limit) noexcept
        : limit_(limit) {}

    // Queues a chunk. An empty queue takes any chunk, so one large message never trips the
    // limit by itself; otherwise a chunk that would take the backlog past the limit is refused
    // with `overflow` and the caller closes the client. After close() everything is refused.
    push_result push(chunk c);

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
    std::size_t limit() const noexcept { return limit_; }

  private:
    std::vector<chunk> chunks_;
    std::size_t head_ = 0;        // first unsent chunk
    std::size_t head_offset_ = 0; // bytes of it already written
    std::size_t in_flight_ = 0;   // chunks referred to by the write in progress
    std::size_t queued_ = 0;      // unsent bytes
    std::size_t limit_;
    bool closed_ = false;
};

} // namespace wshub

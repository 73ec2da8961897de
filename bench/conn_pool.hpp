#pragma once

#include "proc_stats.hpp"
#include "ws_client.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <unistd.h>
#include <vector>

namespace wsbench {

// A growable FIFO of bytes to send; frames are built in place at its tail.
class ByteQueue {
  public:
    uint8_t* reserve(size_t n) {
        if (buf_.size() - tail_ < n) grow(n);
        return buf_.data() + tail_;
    }
    void commit(size_t n) { tail_ += n; }
    const uint8_t* data() const { return buf_.data() + head_; }
    size_t size() const { return tail_ - head_; }
    bool empty() const { return head_ == tail_; }
    void consume(size_t n) {
        head_ += n;
        if (head_ == tail_) head_ = tail_ = 0;
    }

  private:
    void grow(size_t n);

    std::vector<uint8_t> buf_;
    size_t head_ = 0;
    size_t tail_ = 0;
};

enum class ConnState : uint8_t { queued, connecting, handshaking, open, closed, failed };

struct Conn {
    uint32_t index = 0;
    uint8_t role = 0;
    ConnState state = ConnState::queued;
    bool reading = true;     // registered for EPOLLIN once open
    bool want_write = false; // EPOLLOUT requested for pending output
    bool server_closed = false;
    bool to_publish_endpoint = false; // connects to Options::publish_endpoint instead of endpoint
    uint8_t attempts = 0;
    int fd = -1;
    int rcvbuf = 0; // SO_RCVBUF set before connect, 0 = system default
    uint64_t user_id = 0;
    std::string_view query; // appended to the upgrade's target after user_id (e.g. "channels=x"); not owned
    uint64_t deadline = 0;  // handshake deadline while in flight; earliest retry while queued
    uint64_t bytes_written = 0;
    std::string close_reason;
    std::string handshake; // response bytes until its header is complete
    ByteQueue out;
    FrameParser parser;
};

// Single-threaded epoll client pool: opens WebSocket connections with bounded concurrency (a burst
// of thousands of SYNs would overrun the server's accept backlog), then reads every connection with
// one large buffer and hands complete messages to a handler:
//   h.on_open(Conn&), h.on_message(Conn&, const Message&, uint64_t now_ns), h.on_close(Conn&),
//   h.on_extra(uint32_t tag, uint64_t now_ns) for fds added with add_extra_fd.
class ConnPool {
  public:
    struct Options {
        Endpoint endpoint;
        // where connections marked to_publish_endpoint go (another node of the same hub); defaults to
        // endpoint
        std::optional<Endpoint> publish_endpoint;
        std::string path = "/im";
        int sources = 1; // > 1: bind to 127.0.0.2 .. 127.0.0.(1+sources) round robin
        int concurrency = 256;
        int max_attempts = 3;
        double handshake_timeout_s = 10;
        bool deflate = false; // offer permessage-deflate in the upgrade request
    };

    explicit ConnPool(Options opts);
    ~ConnPool();
    ConnPool(const ConnPool&) = delete;
    ConnPool& operator=(const ConnPool&) = delete;

    Conn& add(uint8_t role, uint64_t user_id, int rcvbuf = 0, std::string_view query = {});
    Conn& operator[](size_t i) { return conns_[i]; }
    const Conn& operator[](size_t i) const { return conns_[i]; }
    size_t size() const { return conns_.size(); }

    size_t open_count() const { return open_; }
    size_t failed_count() const { return failed_; }
    size_t pending_count() const { return queue_.size() + in_flight_; } // not yet open nor failed
    bool connecting_done() const { return queue_.empty() && in_flight_ == 0; }
    const std::map<std::string, uint64_t>& errors() const { return errors_; }
    uint64_t protocol_errors() const { return protocol_errors_; }

    void add_extra_fd(int fd, uint32_t tag, bool want_write = false);
    // Asks for (or stops asking for) writability of an extra fd as well as readability.
    void watch_extra_fd(int fd, uint32_t tag, bool want_write);
    void remove_extra_fd(int fd);
    // Stops reading a connection for good (its receive buffer is left to fill up).
    void stop_reading(Conn& c);
    void close(Conn& c, std::string reason);

    // Output: reserve + commit frames at the tail of c.out, then flush (one write for all of them).
    uint8_t* reserve(Conn& c, size_t n) { return c.out.reserve(n); }
    void commit(Conn& c, size_t n) { c.out.commit(n); }
    void flush(Conn& c);
    void send(Conn& c, const uint8_t* p, size_t n);
    uint32_t next_mask() { return masks_.next(); }

    // Waits up to timeout_ms for events and handles them; returns the number of events.
    template <class H>
    int poll(int timeout_ms, H& h);

  private:
    const Endpoint& endpoint_of(const Conn& c) const {
        return c.to_publish_endpoint && opts_.publish_endpoint ? *opts_.publish_endpoint : opts_.endpoint;
    }

    static constexpr uint64_t extra_bit = uint64_t{1} << 63;
    static constexpr size_t read_size = 256 * 1024;

    void launch(uint64_t now);
    void start_connect(Conn& c, uint64_t now);
    void on_connected(Conn& c, uint64_t now);
    void retry_or_fail(Conn& c, const std::string& why, uint64_t now);
    void check_timeouts(uint64_t now);
    void note_error(const std::string& what) { ++errors_[what]; }
    static uint32_t open_events(bool want_write) {
        return EPOLLIN | EPOLLET | (want_write ? uint32_t{EPOLLOUT} : 0u);
    }
    bool reply_control(Conn& c, uint8_t opcode, const uint8_t* p, size_t n);

    template <class H>
    void on_handshake_readable(Conn& c, H& h);
    template <class H>
    void on_readable(Conn& c, H& h);
    template <class H>
    void feed(Conn& c, const uint8_t* p, size_t n, uint64_t now, H& h);

    Options opts_;
    int ep_ = -1;
    std::deque<Conn> conns_; // a deque: references stay valid as connections are added
    std::deque<uint32_t> queue_;
    std::vector<uint32_t> again_; // open connections with data left unread
    std::vector<uint32_t> again_swap_;
    std::vector<epoll_event> events_;
    std::vector<uint8_t> rbuf_;
    std::map<std::string, uint64_t> errors_;
    MaskSource masks_;
    size_t in_flight_ = 0;
    size_t open_ = 0;
    size_t failed_ = 0;
    uint64_t protocol_errors_ = 0;
    uint64_t next_timeout_check_ = 0;
};

template <class H>
int ConnPool::poll(int timeout_ms, H& h) {
    int n =
        ::epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), again_.empty() ? timeout_ms : 0);
    if (n < 0) n = 0; // EINTR
    for (int i = 0; i < n; ++i) {
        const epoll_event& e = events_[static_cast<size_t>(i)];
        if (e.data.u64 & extra_bit) {
            h.on_extra(static_cast<uint32_t>(e.data.u64), now_ns());
            continue;
        }
        Conn& c = conns_[e.data.u64];
        switch (c.state) {
        case ConnState::connecting:
            on_connected(c, now_ns());
            break;
        case ConnState::handshaking:
            if (e.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_handshake_readable(c, h);
            break;
        case ConnState::open:
            if ((e.events & EPOLLOUT) && c.want_write) flush(c);
            if (c.state == ConnState::open && (e.events & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(c, h);
            if (c.state == ConnState::closed) h.on_close(c);
            break;
        default: // a stale event of a connection closed earlier in this batch
            break;
        }
    }
    if (!again_.empty()) {
        again_swap_.swap(again_);
        for (uint32_t i : again_swap_) {
            Conn& c = conns_[i];
            if (c.state != ConnState::open) continue;
            on_readable(c, h);
            if (c.state == ConnState::closed) h.on_close(c);
        }
        again_swap_.clear();
    }
    if (!queue_.empty() || in_flight_ > 0) {
        uint64_t now = now_ns();
        if (now >= next_timeout_check_) {
            check_timeouts(now);
            next_timeout_check_ = now + 100'000'000;
        }
        launch(now);
    }
    return n;
}

template <class H>
void ConnPool::on_handshake_readable(Conn& c, H& h) {
    char buf[8192];
    ssize_t r = ::read(c.fd, buf, sizeof buf);
    uint64_t now = now_ns();
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        retry_or_fail(
            c, r == 0 ? "handshake: connection closed" : std::string("handshake: ") + std::strerror(errno),
            now);
        return;
    }
    if (r < 0) return;
    c.handshake.append(buf, static_cast<size_t>(r));
    size_t header_len = 0;
    switch (parse_upgrade_response(c.handshake, header_len)) {
    case HandshakeStatus::incomplete:
        if (c.handshake.size() > 16384) retry_or_fail(c, "handshake: response header too long", now);
        return;
    case HandshakeStatus::rejected: {
        auto eol = c.handshake.find("\r\n");
        // the server answered: asking again would get the same answer
        c.attempts = static_cast<uint8_t>(opts_.max_attempts);
        retry_or_fail(c, "handshake rejected: " + c.handshake.substr(0, std::min<size_t>(eol, 60)), now);
        return;
    }
    case HandshakeStatus::accepted:
        break;
    }
    std::string rest = c.handshake.substr(header_len);
    c.handshake = std::string();
    c.state = ConnState::open;
    --in_flight_;
    ++open_;
    epoll_event ev{};
    ev.events = open_events(c.want_write);
    ev.data.u64 = c.index;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    h.on_open(c);
    if (!rest.empty() && c.state == ConnState::open)
        feed(c, reinterpret_cast<const uint8_t*>(rest.data()), rest.size(), now, h);
    if (c.state == ConnState::closed) h.on_close(c);
}

template <class H>
void ConnPool::on_readable(Conn& c, H& h) {
    // Edge-triggered: a short read means the socket is drained (data arriving later makes a new
    // edge). After a few full buffers the connection goes to the back of the line, so one fast
    // connection cannot starve the others.
    for (int i = 0; c.state == ConnState::open && c.reading; ++i) {
        if (i == 8) {
            again_.push_back(c.index);
            return;
        }
        ssize_t r = ::recv(c.fd, rbuf_.data(), rbuf_.size(), 0);
        if (r > 0) {
            feed(c, rbuf_.data(), static_cast<size_t>(r), now_ns(), h);
            if (static_cast<size_t>(r) < rbuf_.size()) return;
            continue;
        }
        if (r == 0) {
            c.server_closed = true;
            close(c, "closed by server (EOF)");
        } else if (errno != EAGAIN && errno != EINTR) {
            c.server_closed = errno == ECONNRESET || errno == EPIPE;
            close(c, std::string("read: ") + std::strerror(errno));
        }
        return;
    }
}

template <class H>
void ConnPool::feed(Conn& c, const uint8_t* p, size_t n, uint64_t now, H& h) {
    bool ok = c.parser.feed(
        p, n, [&](const Message& m) { h.on_message(c, m, now); },
        [&](uint8_t opcode, const uint8_t* d, size_t len) { return reply_control(c, opcode, d, len); });
    if (!ok) {
        ++protocol_errors_;
        close(c, std::string("protocol error: ") + c.parser.error());
    }
}

} // namespace wsbench

#include "conn_pool.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <iterator>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace wsbench {

void ByteQueue::grow(size_t n) {
    if (head_ > 0) {
        std::memmove(buf_.data(), buf_.data() + head_, size());
        tail_ -= head_;
        head_ = 0;
    }
    if (buf_.size() - tail_ < n) buf_.resize(std::max({buf_.size() * 2, tail_ + n, size_t{4096}}));
}

namespace {

// An abortive close (RST) leaves no TIME_WAIT behind: back-to-back runs would otherwise use up the
// ephemeral ports of a source address.
void close_abortively(int fd) {
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);
}

} // namespace

ConnPool::ConnPool(Options opts)
    : opts_(std::move(opts))
    , events_(4096)
    , rbuf_(read_size) {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) throw std::runtime_error(fmt::format("epoll_create1: {}", std::strerror(errno)));
    if (opts_.endpoint.family != AF_INET) opts_.sources = 1;
    opts_.sources = std::clamp(opts_.sources, 1, 253);
    opts_.concurrency = std::max(opts_.concurrency, 1);
}

ConnPool::~ConnPool() {
    for (auto& c : conns_)
        if (c.fd >= 0) close_abortively(c.fd);
    if (ep_ >= 0) ::close(ep_);
}

Conn& ConnPool::add(uint8_t role, uint64_t user_id, int rcvbuf, std::string_view query) {
    Conn& c = conns_.emplace_back();
    c.index = static_cast<uint32_t>(conns_.size() - 1);
    c.role = role;
    c.user_id = user_id;
    c.rcvbuf = rcvbuf;
    c.query = query;
    queue_.push_back(c.index);
    return c;
}

void ConnPool::add_extra_fd(int fd, uint32_t tag, bool want_write) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want_write ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = extra_bit | tag;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
}

void ConnPool::watch_extra_fd(int fd, uint32_t tag, bool want_write) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want_write ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = extra_bit | tag;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
}

void ConnPool::remove_extra_fd(int fd) {
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
}

void ConnPool::launch(uint64_t now) {
    while (in_flight_ < static_cast<size_t>(opts_.concurrency) && !queue_.empty()) {
        Conn& c = conns_[queue_.front()];
        if (c.deadline > now) break; // a retry still backing off
        queue_.pop_front();
        start_connect(c, now);
    }
}

void ConnPool::start_connect(Conn& c, uint64_t now) {
    const Endpoint& ep = endpoint_of(c);
    ++in_flight_;
    c.state = ConnState::connecting;
    c.deadline = now + static_cast<uint64_t>(opts_.handshake_timeout_s * 1e9);
    c.fd = ::socket(ep.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        int err = errno;
        --in_flight_;
        c.state = ConnState::failed;
        ++failed_;
        note_error(fmt::format("socket: {}", std::strerror(err)));
        return;
    }
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c.rcvbuf > 0) ::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &c.rcvbuf, sizeof c.rcvbuf);
    if (opts_.sources > 1) {
        // the port is chosen at connect() time, so each source address has its own ephemeral range
        ::setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl((127u << 24) | static_cast<uint32_t>(2 + c.index % opts_.sources));
        if (::bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
            retry_or_fail(c, fmt::format("bind: {}", std::strerror(errno)), now);
            return;
        }
    }
    if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.addr_len) != 0 &&
        errno != EINPROGRESS) {
        retry_or_fail(c, fmt::format("connect: {}", std::strerror(errno)), now);
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = c.index;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
}

void ConnPool::on_connected(Conn& c, uint64_t now) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        retry_or_fail(c, fmt::format("connect: {}", std::strerror(err)), now);
        return;
    }
    std::string target = fmt::format("{}{}user_id={}", opts_.path,
                                     opts_.path.find('?') == std::string::npos ? '?' : '&', c.user_id);
    if (!c.query.empty()) fmt::format_to(std::back_inserter(target), "&{}", c.query);
    std::string req = upgrade_request(endpoint_of(c), target, make_websocket_key());
    if (opts_.deflate)
        req.insert(req.size() - 2,
                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    ssize_t w = ::write(c.fd, req.data(), req.size());
    if (w != static_cast<ssize_t>(req.size())) { // a fresh socket takes a few hundred bytes whole
        retry_or_fail(c, w < 0 ? fmt::format("write: {}", std::strerror(errno)) : "write: short", now);
        return;
    }
    c.state = ConnState::handshaking;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c.index;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
}

void ConnPool::retry_or_fail(Conn& c, const std::string& why, uint64_t now) {
    note_error(why);
    if (c.fd >= 0) {
        ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        close_abortively(c.fd);
        c.fd = -1;
    }
    if (c.state == ConnState::connecting || c.state == ConnState::handshaking) --in_flight_;
    c.handshake.clear();
    if (++c.attempts < opts_.max_attempts) {
        c.state = ConnState::queued;
        c.deadline = now + 200'000'000ULL * c.attempts; // back off: the server may be overloaded
        queue_.push_back(c.index);
    } else {
        c.state = ConnState::failed;
        c.close_reason = why;
        ++failed_;
    }
}

void ConnPool::check_timeouts(uint64_t now) {
    for (auto& c : conns_)
        if ((c.state == ConnState::connecting || c.state == ConnState::handshaking) && now >= c.deadline)
            retry_or_fail(c, c.state == ConnState::connecting ? "connect: timed out" : "handshake: timed out",
                          now);
}

void ConnPool::stop_reading(Conn& c) {
    if (c.fd < 0 || !c.reading) return;
    // removed from epoll altogether: with events = 0 a reset would still be reported over and over
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    c.reading = false;
}

void ConnPool::close(Conn& c, std::string reason) {
    if (c.fd >= 0) {
        if (c.reading) ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        close_abortively(c.fd);
        c.fd = -1;
    }
    if (c.state == ConnState::open) --open_;
    if (c.state == ConnState::connecting || c.state == ConnState::handshaking) --in_flight_;
    c.state = ConnState::closed;
    if (c.close_reason.empty()) c.close_reason = std::move(reason);
}

void ConnPool::flush(Conn& c) {
    while (!c.out.empty() && c.state == ConnState::open) {
        ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (w > 0) {
            c.bytes_written += static_cast<uint64_t>(w);
            c.out.consume(static_cast<size_t>(w));
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
        c.server_closed = errno == ECONNRESET || errno == EPIPE;
        close(c, fmt::format("write: {}", std::strerror(errno)));
        return;
    }
    bool want = !c.out.empty();
    if (want != c.want_write && c.state == ConnState::open && c.reading) {
        epoll_event ev{};
        ev.events = open_events(want);
        ev.data.u64 = c.index;
        ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    }
    c.want_write = want;
}

void ConnPool::send(Conn& c, const uint8_t* p, size_t n) {
    std::memcpy(c.out.reserve(n), p, n);
    c.out.commit(n);
    flush(c);
}

bool ConnPool::reply_control(Conn& c, uint8_t opcode, const uint8_t* p, size_t n) {
    uint8_t frame[client_frame_size(125)];
    if (opcode == op::ping) {
        send(c, frame, put_client_frame(frame, op::pong, p, n, next_mask()));
        return c.state == ConnState::open;
    }
    if (opcode == op::close) {
        // echo the status code, then drop the connection
        size_t code_len = n >= 2 ? 2 : 0;
        size_t len = put_client_frame(frame, op::close, p, code_len, next_mask());
        (void)!::send(c.fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        uint16_t code = n >= 2 ? static_cast<uint16_t>((p[0] << 8) | p[1]) : 0;
        c.server_closed = true;
        close(c, fmt::format("close frame from server (code {})", code));
        return false;
    }
    return true; // pong: nothing to do
}

} // namespace wsbench

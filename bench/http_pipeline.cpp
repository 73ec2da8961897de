#include "http_pipeline.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsbench {

std::string HttpPipeline::connect() {
    close();
    int fd = ::socket(ep_.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fmt::format("socket: {}", std::strerror(errno));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&ep_.addr), ep_.addr_len) != 0) {
        std::string why = fmt::format("connect: {}", std::strerror(errno));
        ::close(fd);
        return why;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    fd_ = fd;
    ++connects_;
    // what the previous connection left unanswered goes first, in its order
    for (const auto& r : pending_)
        out_ += r.bytes;
    flush();
    return {};
}

void HttpPipeline::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    out_.clear();
    out_off_ = 0;
    in_.clear();
    write_failed_ = false;
    new_parser();
}

void HttpPipeline::submit(HttpRequest r) {
    pending_.push_back(std::move(r));
    if (fd_ < 0 || write_failed_) return;
    out_ += pending_.back().bytes;
    flush();
}

bool HttpPipeline::flush() {
    while (fd_ >= 0 && out_off_ < out_.size()) {
        ssize_t w = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
        if (w > 0) {
            out_off_ += static_cast<size_t>(w);
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) return true;
        error_ = fmt::format("write: {}", std::strerror(errno));
        write_failed_ = true;
        out_.clear();
        out_off_ = 0;
        return false;
    }
    if (out_off_ == out_.size()) {
        out_.clear();
        out_off_ = 0;
    }
    return fd_ >= 0 && !write_failed_;
}

} // namespace wsbench

#pragma once

#include "ws_client.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace wsbench {

// A request on an HTTP connection, kept until it is answered so that it can be written again on a
// new connection if the server closes this one first.
struct HttpRequest {
    std::string bytes;
    uint64_t first_seq = 0; // the first message it carries, in the caller's numbering
    uint32_t messages = 0;
    uint64_t queued_ns = 0; // when it was first handed to the connection
};

// One keep-alive HTTP/1.1 connection with requests pipelined on it: written back to back and
// answered in order, the answers read with Beast's response parser. The server may end the
// connection after any answer (wshub closes after --max-requests-per-connection): the requests it
// did not answer are written again, in order, once the caller has called connect() again.
class HttpPipeline {
  public:
    enum class ReadStatus { open, ended, protocol_error };

    explicit HttpPipeline(Endpoint ep)
        : ep_(std::move(ep)) {}
    ~HttpPipeline() { close(); }
    HttpPipeline(const HttpPipeline&) = delete;
    HttpPipeline& operator=(const HttpPipeline&) = delete;

    // Connects (a loopback server accepts at once, so this blocks only briefly) and writes every
    // request not yet answered. Returns an error text, empty on success.
    std::string connect();
    void close();

    int fd() const { return fd_; }
    bool is_open() const { return fd_ >= 0; }
    size_t unanswered() const { return pending_.size(); }
    bool want_write() const { return out_off_ < out_.size(); }
    uint64_t connects() const { return connects_; }
    const std::string& error() const { return error_; }

    // Queues a request; it is written at once unless the connection is down.
    void submit(HttpRequest r);
    // Writes what the socket takes; false if writing failed. The connection then stays open for
    // reading: the answers the server sent before closing are still to be read, and read() reports
    // the end.
    bool flush();

    // Reads what arrived and calls on_answer(const HttpRequest&, unsigned status, std::string_view
    // body) for each complete answer, in order. `ended`: the server closed the connection or said
    // it would (Connection: close); reconnect to go on.
    template <class F>
    ReadStatus read(F&& on_answer);

  private:
    using parser_type = boost::beast::http::response_parser<boost::beast::http::string_body>;

    void new_parser() {
        parser_.emplace();
        parser_->eager(true);
        parser_->body_limit(64u << 20);
    }
    ReadStatus fail(std::string why) {
        error_ = std::move(why);
        close();
        return ReadStatus::protocol_error;
    }

    Endpoint ep_;
    int fd_ = -1;
    std::deque<HttpRequest> pending_; // unanswered, in order
    bool write_failed_ = false;
    std::string out_;
    size_t out_off_ = 0;
    std::string in_;
    std::optional<parser_type> parser_;
    uint64_t connects_ = 0;
    std::string error_;
};

template <class F>
HttpPipeline::ReadStatus HttpPipeline::read(F&& on_answer) {
    char buf[64 * 1024];
    for (;;) {
        if (fd_ < 0) return ReadStatus::ended;
        ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
        if (r == 0) {
            close();
            return ReadStatus::ended;
        }
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) return ReadStatus::open;
            close(); // a reset: the server closed with requests of ours still unread
            return ReadStatus::ended;
        }
        in_.append(buf, static_cast<size_t>(r));
        size_t off = 0;
        while (off < in_.size()) {
            boost::beast::error_code ec;
            size_t used = parser_->put(boost::asio::buffer(in_.data() + off, in_.size() - off), ec);
            off += used;
            if (ec == boost::beast::http::error::need_more) break;
            if (ec) return fail("bad answer: " + ec.message());
            if (!parser_->is_done()) {
                if (used == 0) break;
                continue;
            }
            if (pending_.empty()) return fail("an answer to no request");
            auto& res = parser_->get();
            const bool keep_alive = res.keep_alive();
            on_answer(pending_.front(), res.result_int(), std::string_view(res.body()));
            pending_.pop_front();
            new_parser();
            if (!keep_alive) {
                close();
                return ReadStatus::ended;
            }
        }
        in_.erase(0, off);
        if (static_cast<size_t>(r) < sizeof buf) return ReadStatus::open;
    }
}

} // namespace wsbench

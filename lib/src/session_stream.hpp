// The layer below a session's websocket::stream. Reads come from the socket (after any bytes that
// arrived behind the upgrade request); writes do not touch the socket at all: they are handed to
// the session, which queues them in its outbox behind the frames already there. So every byte for
// the socket goes through one writer, and Beast's own frames (handshake response, pong, close)
// can never interleave with a broadcast mid-frame.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/role.hpp>
#include <string>

namespace wshub::detail {

// What the stream needs from its session.
class write_sink {
  public:
    // Queues bytes Beast wants on the wire; false when the connection no longer takes writes.
    virtual bool queue_protocol_bytes(std::string bytes) = 0;
    // The WebSocket closing handshake is over: send what is queued, then half-close.
    virtual void teardown_after_flush() = 0;

  protected:
    ~write_sink() = default;
};

class session_stream {
  public:
    using socket_type = boost::asio::ip::tcp::socket;
    using executor_type = socket_type::executor_type;
    using next_layer_type = socket_type;

    session_stream(socket_type socket, std::string prefetched, write_sink& sink)
        : socket_(std::move(socket))
        , prefetched_(std::move(prefetched))
        , sink_(&sink) {}

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    socket_type& next_layer() noexcept { return socket_; }
    const socket_type& next_layer() const noexcept { return socket_; }
    write_sink& sink() noexcept { return *sink_; }

    template <class MutableBufferSequence, class ReadHandler>
    auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
        return boost::asio::async_initiate<ReadHandler, void(boost::system::error_code, std::size_t)>(
            [this](auto h, const MutableBufferSequence& b) {
                if (prefetched_.empty()) return socket_.async_read_some(b, std::move(h));
                const std::size_t n = boost::asio::buffer_copy(b, boost::asio::buffer(prefetched_));
                prefetched_.erase(0, n);
                boost::asio::post(get_executor(), boost::beast::bind_front_handler(
                                                      std::move(h), boost::system::error_code{}, n));
            },
            handler, buffers);
    }

    template <class ConstBufferSequence, class WriteHandler>
    auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
        return boost::asio::async_initiate<WriteHandler, void(boost::system::error_code, std::size_t)>(
            [this](auto h, const ConstBufferSequence& b) {
                std::string bytes(boost::asio::buffer_size(b), '\0');
                boost::asio::buffer_copy(boost::asio::buffer(bytes), b);
                const std::size_t n = bytes.size();
                boost::system::error_code ec;
                if (!sink_->queue_protocol_bytes(std::move(bytes))) ec = boost::asio::error::broken_pipe;
                boost::asio::post(get_executor(),
                                  boost::beast::bind_front_handler(std::move(h), ec, ec ? 0 : n));
            },
            handler, buffers);
    }

  private:
    socket_type socket_;
    std::string prefetched_;
    write_sink* sink_;
};

// Found by Beast through argument-dependent lookup when a close handshake ends.
inline void teardown(boost::beast::role_type, session_stream& s, boost::system::error_code& ec) {
    s.sink().teardown_after_flush();
    ec = {};
}

template <class TeardownHandler>
void async_teardown(boost::beast::role_type, session_stream& s, TeardownHandler&& handler) {
    s.sink().teardown_after_flush();
    boost::asio::post(s.get_executor(),
                      boost::beast::bind_front_handler(std::forward<TeardownHandler>(handler),
                                                       boost::system::error_code{}));
}

} // namespace wshub::detail

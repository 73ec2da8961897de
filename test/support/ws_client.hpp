// A WebSocket client for the tests, on Beast. Every operation is asynchronous on the shared
// test_io and bounded in time. The plain forms (connect, read, ...) run the io_context until the
// operation ends and fail the test on timeout; the async_ forms are coroutines for tests that run
// many clients at once.
#pragma once

#include "test_io.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wshub_test {

struct ws_message {
    bool is_text = false;
    std::string payload;
};

struct close_result {
    unsigned code = 0; // 0 when the close frame carried no code
    std::string reason;
    std::size_t messages_before = 0; // data messages read (and dropped) while waiting for it
    // Empty if the closing handshake also ended cleanly at the TCP level; otherwise what failed
    // after the close frame had arrived (e.g. the server reset the connection).
    std::string transport_error;
};

// The outcome of an upgrade the server may refuse: `ec` is set and `status`/`body` tell why.
struct handshake_result {
    boost::system::error_code ec;
    unsigned status = 0;
    std::string body;
    std::string extensions; // the response's Sec-WebSocket-Extensions
};

class ws_client {
  public:
    using stream_type = boost::beast::websocket::stream<boost::beast::tcp_stream>;

    explicit ws_client(test_io& io, std::chrono::milliseconds timeout = wait_timeout);

    // The next connects offer permessage-deflate as Beast does with these options (Beast's own
    // deflate, not zlib: an implementation independent of the server's).
    void offer_deflate(boost::beast::websocket::permessage_deflate options) { deflate_ = options; }
    // Sec-WebSocket-Extensions of the last successful upgrade's 101.
    const std::string& extensions() const noexcept { return extensions_; }
    ~ws_client();
    ws_client(const ws_client&) = delete;
    ws_client& operator=(const ws_client&) = delete;

    // `host` is a loopback address, "127.0.0.1" or "::1". Sends an Origin header like a browser.
    void connect(std::uint16_t port, std::string_view target, std::string_view host = "127.0.0.1");
    // Like connect(), but a refused upgrade is a result rather than a failure.
    handshake_result try_connect(std::uint16_t port, std::string_view target,
                                 std::string_view host = "127.0.0.1");

    void send_text(std::string_view payload);
    void send_binary(std::string_view payload);
    // One message in several frames: every part but the last is a non-final frame.
    void send_fragmented(std::vector<std::string> parts, bool text);

    ws_message read();
    // Reads (dropping messages) until the server's close frame; fails if the connection ends
    // without one. The client answers the close frame and waits for the end of the connection.
    close_result read_close();
    // The closing handshake, started by the client.
    void close(boost::beast::websocket::close_code code = boost::beast::websocket::close_code::normal);
    // Closes the TCP connection without a closing handshake, as a vanished peer would.
    void drop();

    boost::asio::awaitable<void> async_connect(std::uint16_t port, std::string target,
                                               std::string host = "127.0.0.1");
    boost::asio::awaitable<handshake_result> async_try_connect(std::uint16_t port, std::string target,
                                                               std::string host = "127.0.0.1");
    boost::asio::awaitable<void> async_send(std::string payload, bool text);
    boost::asio::awaitable<void> async_send_fragmented(std::vector<std::string> parts, bool text);
    boost::asio::awaitable<ws_message> async_read();
    boost::asio::awaitable<close_result> async_read_close();
    boost::asio::awaitable<void> async_close(boost::beast::websocket::close_code code);

    stream_type& stream() noexcept { return *ws_; }
    test_io& io() noexcept { return io_; }

  private:
    template <class T>
    T run(boost::asio::awaitable<T> op, std::string_view what);

    test_io& io_;
    std::chrono::milliseconds timeout_;
    std::unique_ptr<stream_type> ws_;
    std::optional<boost::beast::websocket::permessage_deflate> deflate_;
    std::string extensions_;
    // Operations in progress; the destructor lets them end before the stream goes away.
    std::shared_ptr<int> pending_ = std::make_shared<int>(0);
};

} // namespace wshub_test

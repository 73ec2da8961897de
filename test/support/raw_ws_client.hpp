// A WebSocket client made by hand on a plain TCP socket: it sends the upgrade request itself and
// then only reads raw bytes, so a test controls exactly when (and whether) anything is read and
// sees every byte the server sent. Used for clients that stop reading.
#pragma once

#include "test_io.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wshub_test {

struct raw_read_result {
    std::string bytes;             // everything after the handshake response
    boost::system::error_code end; // why reading stopped: eof, or e.g. connection_reset
};

class raw_ws_client {
  public:
    // With `receive_buffer`, SO_RCVBUF is set before connecting, so the TCP window stays that small.
    explicit raw_ws_client(test_io& io, std::optional<int> receive_buffer = std::nullopt,
                           std::chrono::milliseconds timeout = wait_timeout);
    ~raw_ws_client();
    raw_ws_client(const raw_ws_client&) = delete;
    raw_ws_client& operator=(const raw_ws_client&) = delete;

    // Connects, sends the upgrade request and reads the response header; fails unless it is 101.
    void upgrade(std::uint16_t port, std::string_view target);

    // Reads until the server ends the connection; fails the test on timeout.
    raw_read_result read_until_end();

    boost::asio::awaitable<void> async_upgrade(std::uint16_t port, std::string target);
    boost::asio::awaitable<raw_read_result> async_read_until_end();

    boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }

  private:
    void close_socket();

    test_io& io_;
    std::optional<int> receive_buffer_;
    std::chrono::milliseconds timeout_;
    boost::asio::ip::tcp::socket socket_;
    std::string leftover_; // bytes read past the response header
};

} // namespace wshub_test

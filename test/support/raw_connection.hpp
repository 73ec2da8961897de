// A TCP connection on which the test writes exactly the bytes it chooses: requests a real client
// would never send, half requests, hand-built WebSocket frames (masked or not, any opcode or
// reserved bits). It connects from any 127.0.0.x address, reads the server's answer one HTTP
// response or one frame at a time, and can end with a reset instead of a FIN. Every operation is
// bounded in time like the other test clients.
#pragma once

#include "http_client.hpp"
#include "raw_ws_client.hpp"
#include "server_frames.hpp"
#include "test_io.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wshub_test {

struct raw_http_response {
    unsigned status = 0;
    std::string header; // the status line and the fields, up to the blank line
    std::string body;   // Content-Length bytes (none for 101)
    // The value of the first field called `name` (compared without regard to case); "" if none.
    std::string field(std::string_view name) const;
};

// An upgrade request to /im as a browser sends it. `origin` is the Origin header (none when
// empty); `extra` fields are added after the standard ones.
std::string upgrade_request(std::uint16_t port, std::string_view target,
                            std::string_view origin = "http://127.0.0.1", const header_list& extra = {});

// A client frame: FIN (unless `fin` is false), the reserved bits `rsv` (0-7, RSV1 = 4), `opcode`,
// the payload length and, when `masked`, a mask key with the payload masked by it.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true,
                         std::uint8_t rsv = 0);
// The payload of a close frame: the code (big-endian), then the reason.
std::string close_payload(std::uint16_t code, std::string_view reason = {});

class raw_connection {
  public:
    explicit raw_connection(test_io& io, std::chrono::milliseconds timeout = wait_timeout);
    ~raw_connection();
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    // Connects to 127.0.0.1:`port` from `source` (a loopback address; the kernel picks the port).
    // With `receive_buffer`, SO_RCVBUF is set before connecting, so the TCP window stays small.
    void connect(std::uint16_t port, std::string_view source = "127.0.0.1",
                 std::optional<int> receive_buffer = std::nullopt);
    void send(std::string_view bytes);
    raw_http_response read_response();
    // Waits until the server has sent something; the bytes stay for the next read.
    void wait_for_bytes();
    // connect(), upgrade_request(), read_response(): a refusal is a result, not a failure.
    raw_http_response upgrade(std::uint16_t port, std::string_view target,
                              std::string_view origin = "http://127.0.0.1", const header_list& extra = {},
                              std::string_view source = "127.0.0.1");
    // Like upgrade(), but fails the test unless the answer is 101.
    void upgrade_ok(std::uint16_t port, std::string_view target, std::string_view source = "127.0.0.1");
    server_frame read_frame();
    // The next frame if one arrives within `wait`, else nothing; the connection stays usable.
    std::optional<server_frame> read_frame_within(std::chrono::milliseconds wait);
    // Reads until the server ends the connection (FIN or reset); fails the test after `timeout`.
    raw_read_result read_until_end(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    boost::asio::awaitable<void> async_connect(std::uint16_t port, std::string source = "127.0.0.1",
                                               std::optional<int> receive_buffer = std::nullopt);
    boost::asio::awaitable<void> async_send(std::string bytes);
    boost::asio::awaitable<raw_http_response> async_read_response();
    boost::asio::awaitable<raw_http_response> async_upgrade(std::uint16_t port, std::string target,
                                                            std::string source = "127.0.0.1");
    boost::asio::awaitable<server_frame> async_read_frame();
    boost::asio::awaitable<raw_read_result> async_read_until_end();

    // Ends the connection with a RST (SO_LINGER on with a zero timeout, then close).
    void reset();
    // Closes the socket (a FIN, or a RST if unread bytes are left); pending operations end.
    void close();
    bool is_open() const { return socket_.is_open(); }
    boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }

  private:
    // Reads more bytes into `buffer_`; throws on error (the error is kept in `read_error_`).
    boost::asio::awaitable<void> fill();
    std::optional<server_frame> take_frame();

    test_io& io_;
    std::chrono::milliseconds timeout_;
    boost::asio::ip::tcp::socket socket_;
    std::string buffer_; // bytes read and not consumed, from `consumed_` on
    std::size_t consumed_ = 0;
};

} // namespace wshub_test

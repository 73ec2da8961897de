#include "raw_ws_client.hpp"

#include "raw_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

namespace asio = boost::asio;
using boost::system::error_code;

namespace wshub_test {

raw_ws_client::raw_ws_client(test_io& io, std::optional<int> receive_buffer,
                             std::chrono::milliseconds timeout)
    : io_(io)
    , receive_buffer_(receive_buffer)
    , timeout_(timeout)
    , socket_(io.context()) {}

raw_ws_client::~raw_ws_client() {
    close_socket();
}

void raw_ws_client::close_socket() {
    error_code ignored;
    socket_.close(ignored);
}

asio::awaitable<void> raw_ws_client::async_upgrade(std::uint16_t port, std::string target) {
    const asio::ip::tcp::endpoint ep(asio::ip::address_v4::loopback(), port);
    socket_.open(ep.protocol());
    if (receive_buffer_) socket_.set_option(asio::socket_base::receive_buffer_size(*receive_buffer_));
    auto [cec] = co_await socket_.async_connect(ep, asio::as_tuple(asio::use_awaitable));
    if (cec) throw boost::system::system_error(cec, "connect");

    // The server's answer to the request's key is not checked here.
    const std::string request = upgrade_request(port, target);
    auto [wec, wn] =
        co_await asio::async_write(socket_, asio::buffer(request), asio::as_tuple(asio::use_awaitable));
    if (wec) throw boost::system::system_error(wec, "write upgrade request");

    std::string buffer;
    auto [rec, header_end] = co_await asio::async_read_until(socket_, asio::dynamic_buffer(buffer),
                                                             "\r\n\r\n", asio::as_tuple(asio::use_awaitable));
    if (rec) throw boost::system::system_error(rec, "read upgrade response");
    const std::string header = buffer.substr(0, header_end);
    if (!header.starts_with("HTTP/1.1 101"))
        throw std::runtime_error("upgrade refused: " + header.substr(0, header.find("\r\n")));
    leftover_ = buffer.substr(header_end);
}

asio::awaitable<raw_read_result> raw_ws_client::async_read_until_end() {
    raw_read_result result;
    result.bytes = std::move(leftover_);
    char chunk[16 * 1024];
    for (;;) {
        auto [ec, n] =
            co_await socket_.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
        result.bytes.append(chunk, n);
        if (ec) {
            result.end = ec;
            co_return result;
        }
    }
}

void raw_ws_client::upgrade(std::uint16_t port, std::string_view target) {
    io_.run(async_upgrade(port, std::string(target)), "raw upgrade of " + std::string(target), timeout_,
            [this] { close_socket(); });
}

raw_read_result raw_ws_client::read_until_end() {
    return io_.run(async_read_until_end(), "reading until the server ends the connection", timeout_,
                   [this] { close_socket(); });
}

} // namespace wshub_test

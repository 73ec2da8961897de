#include "ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/system/system_error.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

namespace wshub_test {

namespace {

// Counts an operation in progress for as long as its coroutine frame lives.
class op_guard {
  public:
    explicit op_guard(std::shared_ptr<int> pending)
        : pending_(std::move(pending)) {
        ++*pending_;
    }
    ~op_guard() { --*pending_; }
    op_guard(const op_guard&) = delete;
    op_guard& operator=(const op_guard&) = delete;

  private:
    std::shared_ptr<int> pending_;
};

std::string host_header(std::string_view host, std::uint16_t port) {
    const std::string h(host);
    return (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + std::to_string(port);
}

[[noreturn]] void throw_error(const error_code& ec, const std::string& what) {
    throw boost::system::system_error(ec, what);
}

} // namespace

ws_client::ws_client(test_io& io, std::chrono::milliseconds timeout)
    : io_(io)
    , timeout_(timeout)
    , ws_(std::make_unique<stream_type>(io.context())) {}

ws_client::~ws_client() {
    drop();
    io_.run_until([p = pending_] { return *p == 0; }, std::chrono::seconds(5));
}

template <class T>
T ws_client::run(asio::awaitable<T> op, std::string_view what) {
    return io_.run(std::move(op), what, timeout_, [this] { drop(); });
}

asio::awaitable<handshake_result> ws_client::async_try_connect(std::uint16_t port, std::string target,
                                                               std::string host) {
    op_guard guard(pending_);
    ws_ = std::make_unique<stream_type>(io_.context());
    auto& ws = *ws_;
    const asio::ip::tcp::endpoint ep(asio::ip::make_address(host), port);
    auto [cec] = co_await beast::get_lowest_layer(ws).async_connect(ep, asio::as_tuple(asio::use_awaitable));
    if (cec) throw_error(cec, "connect to " + host_header(host, port));
    // As browsers do: without it, a message sent as several frames waits for delayed ACKs.
    beast::get_lowest_layer(ws).socket().set_option(asio::ip::tcp::no_delay(true));

    ws.set_option(websocket::stream_base::decorator(
        [origin = "http://" + host_header(host, port)](websocket::request_type& req) {
            req.set(beast::http::field::origin, origin);
            req.set(beast::http::field::user_agent, "wshub-integration-test");
        }));
    ws.read_message_max(64 * 1024 * 1024);
    if (deflate_) ws.set_option(*deflate_);
    websocket::response_type res;
    auto [hec] = co_await ws.async_handshake(res, host_header(host, port), target,
                                             asio::as_tuple(asio::use_awaitable));
    std::string extensions(res[beast::http::field::sec_websocket_extensions]);
    if (!hec) extensions_ = extensions;
    co_return handshake_result{hec, res.result_int(), res.body(), std::move(extensions)};
}

asio::awaitable<void> ws_client::async_connect(std::uint16_t port, std::string target, std::string host) {
    op_guard guard(pending_);
    auto r = co_await async_try_connect(port, target, host);
    if (r.ec)
        throw_error(r.ec, "WebSocket upgrade of " + target + " refused with status " +
                              std::to_string(r.status) + " " + r.body);
}

asio::awaitable<void> ws_client::async_send(std::string payload, bool text) {
    op_guard guard(pending_);
    ws_->text(text);
    auto [ec, n] = co_await ws_->async_write(asio::buffer(payload), asio::as_tuple(asio::use_awaitable));
    if (ec) throw_error(ec, "send");
}

asio::awaitable<void> ws_client::async_send_fragmented(std::vector<std::string> parts, bool text) {
    op_guard guard(pending_);
    ws_->text(text);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const bool last = i + 1 == parts.size();
        auto [ec, n] =
            co_await ws_->async_write_some(last, asio::buffer(parts[i]), asio::as_tuple(asio::use_awaitable));
        if (ec) throw_error(ec, "send fragment " + std::to_string(i));
    }
}

asio::awaitable<ws_message> ws_client::async_read() {
    op_guard guard(pending_);
    beast::flat_buffer buffer;
    auto [ec, n] = co_await ws_->async_read(buffer, asio::as_tuple(asio::use_awaitable));
    if (ec == websocket::error::closed) {
        const auto& r = ws_->reason();
        throw_error(ec, "read: the server closed the connection with code " +
                            std::to_string(static_cast<unsigned>(r.code)) + " '" +
                            std::string(r.reason.data(), r.reason.size()) + "'");
    }
    if (ec) throw_error(ec, "read");
    co_return ws_message{ws_->got_text(), beast::buffers_to_string(buffer.data())};
}

asio::awaitable<close_result> ws_client::async_read_close() {
    op_guard guard(pending_);
    close_result result;
    for (;;) {
        beast::flat_buffer buffer;
        auto [ec, n] = co_await ws_->async_read(buffer, asio::as_tuple(asio::use_awaitable));
        const auto& r = ws_->reason();
        // Beast keeps the close frame's reason even when the teardown after it fails.
        const bool got_close_frame = ec == websocket::error::closed || r.code != websocket::close_code::none;
        if (ec && got_close_frame) {
            result.code = static_cast<unsigned>(r.code);
            result.reason.assign(r.reason.data(), r.reason.size());
            if (ec != websocket::error::closed) result.transport_error = ec.message();
            co_return result;
        }
        if (ec)
            throw_error(ec, "waiting for the close frame (after " + std::to_string(result.messages_before) +
                                " messages)");
        ++result.messages_before;
    }
}

asio::awaitable<void> ws_client::async_close(websocket::close_code code) {
    op_guard guard(pending_);
    auto [ec] = co_await ws_->async_close(code, asio::as_tuple(asio::use_awaitable));
    if (ec) throw_error(ec, "close");
}

void ws_client::connect(std::uint16_t port, std::string_view target, std::string_view host) {
    run(async_connect(port, std::string(target), std::string(host)), "connect to " + std::string(target));
}

handshake_result ws_client::try_connect(std::uint16_t port, std::string_view target, std::string_view host) {
    return run(async_try_connect(port, std::string(target), std::string(host)),
               "upgrade of " + std::string(target));
}

void ws_client::send_text(std::string_view payload) {
    run(async_send(std::string(payload), true), "send text");
}

void ws_client::send_binary(std::string_view payload) {
    run(async_send(std::string(payload), false), "send binary");
}

void ws_client::send_fragmented(std::vector<std::string> parts, bool text) {
    run(async_send_fragmented(std::move(parts), text), "send fragmented message");
}

ws_message ws_client::read() {
    return run(async_read(), "read");
}

close_result ws_client::read_close() {
    return run(async_read_close(), "read until the close frame");
}

void ws_client::close(websocket::close_code code) {
    run(async_close(code), "close");
}

void ws_client::drop() {
    error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
}

} // namespace wshub_test

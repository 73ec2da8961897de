#include "http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace wshub_test {

namespace {

asio::awaitable<http_response> exchange(beast::tcp_stream& stream, asio::ip::tcp::endpoint ep,
                                        http::request<http::string_body> req) {
    auto [cec] = co_await stream.async_connect(ep, asio::as_tuple(asio::use_awaitable));
    if (cec) throw boost::system::system_error(cec, "connect");
    auto [wec, wn] = co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
    if (wec) throw boost::system::system_error(wec, "write request");
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{16} * 1024 * 1024);
    // The answer to HEAD has a Content-Length but no body.
    parser.skip(req.method() == http::verb::head);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (rec) throw boost::system::system_error(rec, "read response");
    co_return parser.release();
}

} // namespace

http_response http_request(std::uint16_t port, http::verb method, std::string_view target, std::string body,
                           const header_list& headers, std::string_view host,
                           std::chrono::milliseconds timeout) {
    const std::string h(host);
    const auto address = asio::ip::make_address(h);
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, (address.is_v6() ? "[" + h + "]" : h) + ":" + std::to_string(port));
    req.set(http::field::user_agent, "wshub-integration-test");
    for (const auto& [name, value] : headers)
        req.set(name, value);
    if (method == http::verb::post) {
        req.body() = std::move(body);
        req.prepare_payload();
    }

    test_io io;
    beast::tcp_stream stream(io.context());
    return io.run(exchange(stream, {address, port}, std::move(req)),
                  std::string(http::to_string(method)) + " " + std::string(target), timeout, [&stream] {
                      boost::system::error_code ignored;
                      stream.socket().close(ignored);
                  });
}

http_response http_get(std::uint16_t port, std::string_view target, const header_list& headers,
                       std::string_view host, std::chrono::milliseconds timeout) {
    return http_request(port, http::verb::get, target, {}, headers, host, timeout);
}

http_response http_post(std::uint16_t port, std::string_view target, std::string body,
                        const header_list& headers) {
    return http_request(port, http::verb::post, target, std::move(body), headers);
}

} // namespace wshub_test

#include "http_connection.hpp"

#include "session.hpp"
#include "shard.hpp"
#include "wshub/auth.hpp"
#include "wshub/connection_limits.hpp"
#include "wshub/http_routes.hpp"
#include "wshub/websocket_handshake.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace wshub {

namespace {

constexpr std::size_t max_request_header = 8 * 1024;

std::string_view as_view(beast::string_view s) {
    return {s.data(), s.size()};
}

std::string endpoint_string(const asio::ip::tcp::socket& s) {
    error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "?";
    return ep.address().is_v6() ? fmt::format("[{}]:{}", ep.address().to_string(), ep.port())
                                : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

http::response<http::string_body> make_response(const http_reply& r, unsigned version, bool keep_alive,
                                                bool head) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "wshub");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    if (r.upgrade_required) {
        res.set(http::field::upgrade, "websocket");
        res.set(http::field::connection, "Upgrade");
    }
    if (r.allow_get) res.set(http::field::allow, "GET");
    if (r.bearer_challenge) res.set(http::field::www_authenticate, "Bearer");
    if (r.websocket_version) res.set(http::field::sec_websocket_version, "13");
    res.body() = r.body;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    if (head) res.body().clear(); // Content-Length still tells the size of the GET answer
    return res;
}

struct admission {
    std::string user_id;
    connection_limits::slot slot;
    std::string handshake_response; // the 101
};

// The checks between an upgrade request and a session, cheapest refusal first: the handshake's
// fields (400, 426), origin (403), token (401, or 403 when the URL names another user), then a
// connection slot (503).
std::variant<admission, http_reply> admit(server_state& state, const http::request<http::empty_body>& req,
                                          websocket_accept accept, const asio::ip::tcp::socket& socket) {
    auto refuse = [](unsigned status, std::string_view why) {
        return http_reply{status, fmt::format("{}\n", why)};
    };
    auto handshake = accept_websocket_handshake({req.count(http::field::host) > 0,
                                                 as_view(req[http::field::sec_websocket_key]),
                                                 as_view(req[http::field::sec_websocket_version])});
    if (auto* refused = std::get_if<http_reply>(&handshake)) return std::move(*refused);

    const auto origin = req[http::field::origin];
    if (!state.origins.allowed(std::string_view(origin.data(), origin.size())))
        return refuse(403, "origin not allowed");

    if (state.jwt) {
        const auto authorization = req[http::field::authorization];
        const auto token =
            extract_token(std::string_view(authorization.data(), authorization.size()), accept.token);
        if (!token) {
            auto r = refuse(401, "missing token: send Authorization: Bearer <jwt> or ?token=<jwt>");
            r.bearer_challenge = true;
            return r;
        }
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        auto verified = state.jwt->verify(*token, now);
        if (auto* err = std::get_if<auth_error>(&verified)) {
            auto r = refuse(401, err->reason);
            r.bearer_challenge = true;
            return r;
        }
        auto& identity = std::get<verified_identity>(verified);
        // A user_id in the URL must name the token's subject: a token never speaks for another user.
        if (!accept.user_id.empty() && accept.user_id != identity.sub)
            return refuse(403, "user_id does not match the token's subject");
        accept.user_id = std::move(identity.sub);
    }

    error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return refuse(400, "connection already closed");
    connection_limits::refusal why{};
    auto slot = state.limits.try_acquire(peer.address(), &why);
    if (!slot) return refuse(503, connection_limits::reason(why));
    return admission{std::move(accept.user_id), std::move(*slot),
                     std::get<std::string>(std::move(handshake))};
}

} // namespace

asio::awaitable<void> serve_http(shard& owner, asio::ip::tcp::socket socket) {
    const auto& cfg = owner.state().cfg;
    const std::string remote = endpoint_string(socket);
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;

    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(max_request_header);
        stream.expires_after(cfg.handshake_timeout);
        auto [ec, bytes] =
            co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
                ec != http::error::end_of_stream && ec != http::error::partial_message) {
                // A malformed request gets a one-line reason before the connection closes.
                http_reply r{ec == http::error::header_limit ? 431u : 400u,
                             fmt::format("bad request: {}\n", ec.message())};
                auto res = make_response(r, 11, false, false);
                co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
            }
            spdlog::debug("http connection {} ended: {}", remote, ec.message());
            co_return;
        }
        auto& req = parser.get();
        auto& state = owner.state();
        auto decision =
            route(http_request_view{std::string_view(req.method_string().data(), req.method_string().size()),
                                    std::string_view(req.target().data(), req.target().size()),
                                    beast::websocket::is_upgrade(req), state.jwt.has_value()});

        http_reply reply;
        if (auto* accept = std::get_if<websocket_accept>(&decision)) {
            auto admitted = admit(state, req, std::move(*accept), stream.socket());
            if (auto* ok = std::get_if<admission>(&admitted)) {
                stream.expires_never();
                // Frames a client sent right behind its request are already in the buffer.
                std::string prefetched = beast::buffers_to_string(buffer.data());
                // The session holds itself through its pending operations; this frame, the HTTP
                // stream's timer and the request buffer are freed now instead of living as long
                // as the client.
                auto s = std::make_shared<session>(owner, stream.release_socket(), std::move(ok->user_id),
                                                   remote, std::move(ok->slot));
                s->start(std::move(ok->handshake_response), std::move(prefetched));
                co_return;
            }
            reply = std::get<http_reply>(std::move(admitted));
        } else {
            reply = std::get<http_reply>(std::move(decision));
        }

        const std::string_view path = std::string_view(req.target()).substr(0, req.target().find('?'));
        if (reply.status >= 400 && path == "/im") {
            state.counters.rejected_upgrades.fetch_add(1, std::memory_order_relaxed);
            // The query is not logged: it may carry a token.
            spdlog::info("refused {} {} from {}: {} {}", std::string_view(req.method_string()), path, remote,
                         reply.status, std::string_view(reply.body).substr(0, reply.body.size() - 1));
        }
        const bool keep_alive = req.keep_alive() && reply.status < 400;
        auto res = make_response(reply, req.version(), keep_alive, req.method() == http::verb::head);
        auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        if (wec || !keep_alive) {
            error_code ignored;
            stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
            co_return;
        }
    }
}

} // namespace wshub

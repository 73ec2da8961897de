#include "http_connection.hpp"

#include "api_handler.hpp"
#include "hub.hpp"
#include "session.hpp"
#include "shard.hpp"
#include "wshub/admission.hpp"
#include "wshub/api_access.hpp"
#include "wshub/client_text.hpp"
#include "wshub/http_routes.hpp"
#include "wshub/metrics.hpp"
#include "wshub/metrics_counters.hpp"
#include "wshub/websocket_handshake.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <cstdint>
#include <fmt/format.h>
#include <optional>
#include <spdlog/spdlog.h>
#include <tuple>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace wshub {

namespace {

constexpr std::size_t max_request_header = std::size_t{8} * 1024;
// What is read of a connection and not parsed yet: a request's header, a chunk header, the start
// of a body, or the frames a client sent behind its upgrade request.
constexpr std::size_t max_unparsed_request_bytes = std::size_t{64} * 1024;

// How long a connection that wshub ends after an answer is still read before it is closed: long
// enough for a client to read the answer and close its side.
constexpr std::chrono::seconds lingering_close_limit{2};

// Ends the connection after its last answer (a lingering close, as RFC 9112 section 9.6 asks).
// The write side is shut at once, so a FIN follows the answer; what the client still sends is read
// and dropped until it closes its side, or for lingering_close_limit at most. Closed with the
// client's bytes unread, the kernel would reset the connection and drop the part of the answer it
// had not sent yet: a client pipelining requests, or still sending a refused body, lost the answer.
asio::awaitable<void> close_after_answer(beast::tcp_stream& stream) {
    error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    stream.expires_after(lingering_close_limit);
    std::array<char, 4096> dropped{};
    for (;;) {
        auto [read_ec, n] =
            co_await stream.async_read_some(asio::buffer(dropped), asio::as_tuple(asio::use_awaitable));
        if (read_ec) co_return;
    }
}

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
    if (!r.static_content_type.empty()) {
        res.set(http::field::content_type, r.static_content_type);
        res.set(http::field::cache_control, "no-cache");
    } else {
        res.set(http::field::content_type, r.json         ? "application/json"
                                           : r.prometheus ? "text/plain; version=0.0.4; charset=utf-8"
                                                          : "text/plain; charset=utf-8");
    }
    if (r.upgrade_required) {
        res.set(http::field::upgrade, "websocket");
        res.set(http::field::connection, "Upgrade");
    }
    if (r.allow_get) res.set(http::field::allow, "GET");
    if (r.allow_post) res.set(http::field::allow, "POST");
    if (r.bearer_challenge) res.set(http::field::www_authenticate, "Bearer");
    if (r.websocket_version) res.set(http::field::sec_websocket_version, "13");
    res.body() = r.body;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    if (head) res.body().clear(); // Content-Length still tells the size of the GET answer
    return res;
}

// Writes an answer that ends the connection, then closes it lingering.
asio::awaitable<void> answer_and_close(beast::tcp_stream& stream, const http_reply& r, unsigned version,
                                       bool head) {
    auto res = make_response(r, version, false, head);
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (!ec) co_await close_after_answer(stream);
}

// The steady-clock time of a Unix time, for timers that must not jump with the wall clock; max()
// for one beyond a year, a token that never expires in practice.
std::chrono::steady_clock::time_point steady_time_of(std::int64_t unix_seconds) {
    using namespace std::chrono;
    const std::int64_t left =
        unix_seconds - duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
    if (left > std::int64_t{366} * 86400) return steady_clock::time_point::max();
    return steady_clock::now() + seconds(std::max<std::int64_t>(left, 0));
}

// Admission's view of an upgrade request from `client`.
std::variant<admission, http_reply> admit(server_state& state, const credentials& creds,
                                          const http::request_header<>& req, upgrade_request upgrade,
                                          const asio::ip::address& client) {
    const admission_policy policy{state.origins, creds.jwt ? &*creds.jwt : nullptr, state.limits,
                                  &state.upgrade_rate, state.cfg.compression};
    auto handshake = websocket_handshake_fields(req);
    const upgrade_fields fields{req.count(http::field::host) > 0,
                                as_view(req[http::field::sec_websocket_key]),
                                as_view(req[http::field::sec_websocket_version]),
                                as_view(req[http::field::origin]),
                                as_view(req[http::field::authorization]),
                                client,
                                std::move(handshake.offered_subprotocols),
                                std::move(handshake.offered_extensions)};
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    return wshub::admit(policy, std::move(upgrade), fields, now, std::chrono::steady_clock::now());
}

} // namespace

asio::awaitable<void> serve_http(shard& owner, asio::ip::tcp::socket socket) {
    auto& state = owner.state();
    const auto& cfg = state.cfg;
    const std::string remote = endpoint_string(socket);

    // This connection's place among those that have not upgraded, held until it upgrades or ends;
    // a trusted proxy's connection carries many clients, known per request, so it counts in the
    // total only. Over the limits, the first request is read (so that the answer is not lost to a
    // reset) and answered 503.
    std::optional<connection_limits::slot> http_slot;
    std::optional<http_reply> over_limit;
    asio::ip::address peer;
    bool via_proxy = false;
    {
        error_code ec;
        peer = socket.remote_endpoint(ec).address();
        if (ec) co_return;
        via_proxy = state.proxies.trusts(peer);
        connection_limits::refusal why{};
        http_slot = via_proxy ? state.http_limits.try_acquire_unaddressed(&why)
                              : state.http_limits.try_acquire(peer, &why);
        if (!http_slot) over_limit = refuse_http_connection(why);
    }

    beast::tcp_stream stream(std::move(socket));
    // Bounded: the header has its own limit and the body goes into the parser as it comes, but a
    // chunk header is kept whole until its line ends, however long its extensions.
    beast::flat_buffer buffer(max_unparsed_request_bytes);

    for (std::size_t requests = 1;; ++requests) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(max_request_header);
        // Checked against Content-Length as the header is parsed, before any body is read.
        parser.body_limit(cfg.max_publish_body);
        stream.expires_after(requests == 1 ? cfg.handshake_timeout
                                           : std::min(cfg.handshake_timeout, cfg.http_idle_timeout));
        auto [ec, bytes] =
            co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        // Requests to the API may carry a body (bounded); any other request must not (Beast
        // refuses one with 400).
        bool api_path = false;
        api_endpoint endpoint = api_endpoint::unknown;
        if (!ec || ec == http::error::body_limit) { // over the limit, the header is parsed still
            const auto target = std::string_view(parser.get().target().data(), parser.get().target().size());
            api_path = target.starts_with("/api/");
            endpoint = api_endpoint_of(target.substr(0, target.find('?')));
        }
        // Every answer to an API request is counted, refusals included.
        auto count_api_answer = [&](unsigned status) {
            if (api_path) state.counters.api_requests.count(endpoint, status);
        };
        if (!ec) {
            const auto& h = parser.get();
            std::string codings;
            for (auto [it, end] = h.equal_range(http::field::transfer_encoding); it != end; ++it) {
                if (!codings.empty()) codings += ',';
                codings.append(it->value().data(), it->value().size());
            }
            if (auto refused =
                    check_request_framing({h.version(), h.count(http::field::host),
                                           h.count(http::field::transfer_encoding) > 0, codings})) {
                count_api_answer(refused->status);
                co_await answer_and_close(stream, *refused, 11, false);
                co_return;
            }
        }
        std::optional<http::request_parser<http::string_body>> body_parser;
        const http::request_header<>* head = nullptr; // in whichever parser holds the request
        bool wants_keep_alive = false;
        if (!ec && api_path && !parser.is_done()) {
            wants_keep_alive = parser.get().keep_alive();
            body_parser.emplace(std::move(parser));
            body_parser->body_limit(cfg.max_publish_body); // for a chunked body
            head = &body_parser->get();
            if (head->version() >= 11 && beast::iequals((*head)[http::field::expect], "100-continue")) {
                // The client waits to be told before it sends the body (curl does for a large
                // one, and sends it anyway a second later): the body is wanted, now.
                http::response<http::empty_body> go_on{http::status::continue_, 11};
                auto [cec, cn] =
                    co_await http::async_write(stream, go_on, asio::as_tuple(asio::use_awaitable));
                if (cec) co_return;
            }
            std::tie(ec, bytes) =
                co_await http::async_read(stream, buffer, *body_parser, asio::as_tuple(asio::use_awaitable));
        } else if (!ec) {
            wants_keep_alive = parser.get().keep_alive();
            head = &parser.get();
            std::tie(ec, bytes) =
                co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        }
        if (ec == http::error::body_limit) {
            const auto r = api_error_reply(
                413, fmt::format("the body is over --max-publish-body ({} bytes)", cfg.max_publish_body));
            count_api_answer(r.status);
            co_await answer_and_close(stream, r, 11, false);
            co_return;
        }
        if (ec) {
            if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
                ec != http::error::end_of_stream && ec != http::error::partial_message) {
                // A malformed request gets a one-line reason before the connection closes.
                http_reply r{ec == http::error::header_limit ? 431u : 400u,
                             ec == http::error::buffer_overflow
                                 ? fmt::format("bad request: a chunk header is over {} bytes\n",
                                               max_unparsed_request_bytes)
                                 : fmt::format("bad request: {}\n", ec.message())};
                count_api_answer(r.status);
                co_await answer_and_close(stream, r, 11, false);
            }
            spdlog::debug("http connection {} ended: {}", remote, ec.message());
            co_return;
        }
        const auto& req = *head;
        if (over_limit) {
            spdlog::debug("refused HTTP connection from {}: {}", remote,
                          std::string_view(over_limit->body).substr(0, over_limit->body.size() - 1));
            count_api_answer(over_limit->status);
            co_await answer_and_close(stream, *over_limit, req.version(), req.method() == http::verb::head);
            co_return;
        }
        // From a trusted proxy, the client is the one its forwarding headers name; the logs and
        // the per-address limits are about that client.
        asio::ip::address client = peer;
        std::string client_name = remote;
        if (via_proxy) {
            std::string forwarded_for;
            for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
                if (!forwarded_for.empty()) forwarded_for += ',';
                forwarded_for.append(it->value().data(), it->value().size());
            }
            client = state.proxies.client_address(peer, forwarded_for, as_view(req["X-Real-IP"]));
            client_name = client.to_string();
        }
        const auto creds = state.current_credentials();
        auto decision = route(http_request_view{
            std::string_view(req.method_string().data(), req.method_string().size()),
            std::string_view(req.target().data(), req.target().size()), is_websocket_upgrade(req),
            creds->jwt.has_value(), state.draining.load(), state.message_hub->bus_down()});

        http_reply reply;
        if (auto* api = std::get_if<api_call>(&decision)) {
            const bool forwarded = req.count("X-Forwarded-For") > 0 || req.count("X-Real-IP") > 0 ||
                                   req.count(http::field::forwarded) > 0;
            if (auto refused = check_api_access({as_view(req[http::field::authorization]), peer, forwarded},
                                                creds->api_token)) {
                reply = api_error_reply(refused->status, refused->reason);
                reply.bearer_challenge = true;
                spdlog::info("refused {} {} from {}: {} {}",
                             client_text{std::string_view(req.method_string())},
                             client_text{std::string_view(req.target()).substr(0, req.target().find('?'))},
                             client_name, refused->status, refused->reason);
            } else {
                // A named body: GCC 12 mishandles a temporary built by ?: inside a co_await.
                std::string body;
                if (body_parser) body = std::move(body_parser->get().body());
                reply = co_await answer_api_call(state, *api, std::move(body));
            }
        } else if (std::holds_alternative<metrics_scrape>(decision)) {
            auto snapshot = state.counters.snapshot();
            snapshot.bus = state.message_hub->bus_state();
            reply = http_reply{200, prometheus_text(snapshot)};
            reply.prometheus = true;
        } else if (std::holds_alternative<upgrade_request>(decision) && state.draining.load()) {
            reply = http_reply{503, "server shutting down\n"};
        } else if (auto* upgrade = std::get_if<upgrade_request>(&decision)) {
            auto admitted = admit(state, *creds, req, std::move(*upgrade), client);
            if (auto* ok = std::get_if<admission>(&admitted)) {
                stream.expires_never();
                // Frames a client sent right behind its request are already in the buffer.
                std::string prefetched = beast::buffers_to_string(buffer.data());
                owner.counters().bytes_in.add(prefetched.size());
                // The session holds itself through its pending operations; this frame, the HTTP
                // stream's timer and the request buffer are freed now instead of living as long
                // as the client.
                auto s = std::make_shared<session>(owner, stream.release_socket(), std::move(ok->user_id),
                                                   client_name, std::move(ok->slot));
                if (ok->valid_until) s->expire_at(steady_time_of(*ok->valid_until));
                s->subscribe(std::move(ok->channels));
                if (ok->envelope) s->use_envelope();
                if (ok->permessage_deflate) s->use_deflate();
                s->start(std::move(ok->handshake_response), std::move(prefetched), ok->resume);
                co_return;
            }
            reply = std::get<http_reply>(std::move(admitted));
        } else {
            reply = std::get<http_reply>(std::move(decision));
        }

        const std::string_view path = std::string_view(req.target()).substr(0, req.target().find('?'));
        if (reply.status >= 400 && path == "/im") {
            // The query is not logged: it may carry a token.
            spdlog::info("refused {} {} from {}: {} {}", client_text{std::string_view(req.method_string())},
                         client_text{path}, client_name, reply.status,
                         client_text{std::string_view(reply.body).substr(0, reply.body.size() - 1)});
        }
        count_api_answer(reply.status);
        const bool last_allowed =
            cfg.max_requests_per_connection != 0 && requests >= cfg.max_requests_per_connection;
        const bool keep_alive = wants_keep_alive && reply.status < 400 && !last_allowed;
        auto res = make_response(reply, req.version(), keep_alive, req.method() == http::verb::head);
        auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        if (wec) co_return;
        if (!keep_alive) {
            co_await close_after_answer(stream);
            co_return;
        }
    }
}

} // namespace wshub

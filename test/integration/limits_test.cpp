// Size and admission limits: --max-message-size closes the sender with 1009 (whole messages and
// messages made of fragments alike) while everyone else goes on; --max-connections and
// --max-connections-per-ip refuse the upgrade past the limit with 503 and a one-line reason, and
// admit again once a client has left. Connections that have not upgraded are bounded too
// (--max-http-connections, --max-http-connections-per-ip: 503 and closed), and so are keep-alive
// HTTP connections in time (--http-idle-timeout) and in requests (--max-requests-per-connection).
#include "http_client.hpp"
#include "nginx_process.hpp"
#include "raw_connection.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;

namespace {

constexpr std::size_t message_limit = 1000;

struct small_message_server : server_fixture {
    small_message_server()
        : server_fixture(wshub_args(1, {"--max-message-size", std::to_string(message_limit)})) {}
};

// The handshake timeout, which also bounds a closing connection's last reads, is well above the
// 10 s admit_again() allows: a slot must come back as soon as a client has closed cleanly, not
// when that bound runs out.
struct two_connection_server : server_fixture {
    two_connection_server()
        : server_fixture(wshub_args(1, {"--max-connections", "2", "--handshake-timeout", "30"})) {}
};

struct two_per_address_server : server_fixture {
    two_per_address_server()
        : server_fixture(wshub_args(1, {"--max-connections-per-ip", "2", "--handshake-timeout", "30"})) {}
};

void expect_text(ws_client& c, const std::string& payload) {
    const auto m = c.read();
    BOOST_TEST(m.is_text);
    BOOST_TEST(m.payload.size() == payload.size());
    BOOST_TEST((m.payload == payload), "got '" << m.payload.substr(0, 40) << "'");
}

void expect_closed_with(ws_client& c, websocket::close_code code) {
    const auto closed = c.read_close();
    BOOST_TEST(closed.code == static_cast<unsigned>(code),
               "close code " << closed.code << " '" << closed.reason << "'");
    BOOST_TEST(closed.messages_before == 0u, "the oversized message must not be broadcast");
    // The closing handshake ends cleanly too: no reset after the close frame.
    BOOST_TEST(closed.transport_error.empty(), "after the close frame: " << closed.transport_error);
}

// A refusal of the admission checks: the status, and a body of exactly one line.
void expect_refusal(const raw_http_response& r, unsigned status, const std::string& reason) {
    BOOST_TEST(r.status == status, "status " << r.status << ", body '" << r.body << "'");
    BOOST_TEST(r.body == reason + "\n");
    BOOST_TEST(std::count(r.body.begin(), r.body.end(), '\n') == 1);
    BOOST_TEST(r.field("Content-Type").starts_with("text/plain"));
}

// The server answers a refusal and then ends the connection: the refused client holds nothing.
void expect_connection_ended(raw_connection& c) {
    const auto end = c.read_until_end();
    BOOST_TEST(end.bytes.empty(), "unexpected bytes after the refusal: " << end.bytes.size());
    BOOST_TEST((end.end == asio::error::eof || end.end == asio::error::connection_reset), end.end.message());
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Once a client was seen to leave, its slot comes back when the server has freed the session, a
// moment after the disconnect is logged: retry the upgrade until it is admitted, within a deadline.
// Each refusal meanwhile must be the expected 503.
std::unique_ptr<raw_connection> admit_again(test_io& io, std::uint16_t port, const std::string& target,
                                            const std::string& source, const std::string& reason) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int attempts = 0;
    for (;;) {
        ++attempts;
        auto c = std::make_unique<raw_connection>(io);
        const auto r = c->upgrade(port, target, "http://127.0.0.1", {}, source);
        if (r.status == 101) {
            BOOST_TEST_MESSAGE("admitted again after " << attempts << " attempt(s)");
            return c;
        }
        expect_refusal(r, 503, reason);
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                              "no slot came back within 10 s of the disconnect (" << attempts
                                                                                  << " attempts)");
        io.run(pause(std::chrono::milliseconds(20)), "pause between attempts", std::chrono::seconds(5), {});
    }
}

// The client's side of a closing handshake on a raw connection: its close frame, the server's
// answer with the same code, then the end of the connection.
void close_cleanly(raw_connection& c) {
    c.send(client_frame(op_close, close_payload(1000)));
    const auto echo = c.read_frame();
    BOOST_TEST(echo.opcode == op_close);
    BOOST_TEST(close_code(echo) == 1000u);
    const auto end = c.read_until_end();
    BOOST_TEST(end.bytes.empty());
    BOOST_TEST((end.end == asio::error::eof), end.end.message());
}

constexpr const char* server_full = "server is at its connection limit";
constexpr const char* address_full = "too many connections from this address";

constexpr const char* http_server_full = "server is at its HTTP connection limit";
constexpr const char* http_address_full = "too many HTTP connections from this address";

// Sessions are capped at two, HTTP connections (not upgraded) at six in all and three per address;
// the handshake timeout is far longer than the test, so only the new limits can end a connection.
struct http_limited_server : server_fixture {
    http_limited_server()
        : server_fixture(
              wshub_args(1, {"--max-connections", "2", "--handshake-timeout", "30", "--max-http-connections",
                             "6", "--max-http-connections-per-ip", "3"})) {}
};

struct http_idle_server : server_fixture {
    http_idle_server()
        : server_fixture(wshub_args(1, {"--handshake-timeout", "30", "--http-idle-timeout", "1"})) {}
};

struct three_requests_server : server_fixture {
    three_requests_server()
        : server_fixture(wshub_args(1, {"--handshake-timeout", "30", "--max-requests-per-connection", "3"})) {
    }
};

const std::string ping_request = "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// A keep-alive connection from `source` that was answered 200 to one GET /ping.
std::unique_ptr<raw_connection> served_ping(test_io& io, std::uint16_t port, const std::string& source) {
    auto c = std::make_unique<raw_connection>(io);
    c->connect(port, source);
    c->send(ping_request);
    const auto r = c->read_response();
    BOOST_TEST(r.status == 200u, "from " << source << ": status " << r.status << " '" << r.body << "'");
    BOOST_TEST(r.body == "pong");
    return c;
}

// A GET /ping on a new connection from `source` answered 503 with `reason`, then the end.
void expect_http_refused(test_io& io, std::uint16_t port, const std::string& source,
                         const std::string& reason) {
    raw_connection c(io);
    c.connect(port, source);
    c.send(ping_request);
    expect_refusal(c.read_response(), 503, reason);
    expect_connection_ended(c);
}

// Retries a GET /ping from `source` until it is served (a closed connection's slot comes back when
// the server has seen the close); each refusal meanwhile must carry `reason`.
std::unique_ptr<raw_connection> served_again(test_io& io, std::uint16_t port, const std::string& source,
                                             const std::string& reason) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        auto c = std::make_unique<raw_connection>(io);
        c->connect(port, source);
        c->send(ping_request);
        const auto r = c->read_response();
        if (r.status == 200) return c;
        expect_refusal(r, 503, reason);
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                              "no HTTP slot came back within 10 s");
        io.run(pause(std::chrono::milliseconds(20)), "pause between attempts", std::chrono::seconds(5), {});
    }
}

constexpr const char* user_full = "too many connections for this user";

struct two_per_user_server : server_fixture {
    two_per_user_server()
        : server_fixture(wshub_args(1, {"--max-connections-per-user", "2", "--handshake-timeout", "30"})) {}
};

// Two sessions per address, counted by the address nginx (on 127.0.0.1) forwards.
struct two_per_address_behind_nginx : server_fixture {
    two_per_address_behind_nginx()
        : server_fixture(wshub_args(1, {"--max-connections-per-ip", "2", "--trusted-proxies", "127.0.0.1,::1",
                                        "--handshake-timeout", "30"}))
        , nginx(port()) {}

    nginx_process nginx;
};
} // namespace

BOOST_AUTO_TEST_SUITE(limits)

BOOST_FIXTURE_TEST_CASE(message_over_max_message_size_closes_the_sender_with_1009, small_message_server) {
    ws_client sender(io), bystander(io), other(io);
    sender.connect(port(), "/im?user_id=big");
    bystander.connect(port(), "/im?user_id=bystander");
    other.connect(port(), "/im?user_id=other");

    // Exactly the limit is allowed.
    const std::string at_limit(message_limit, 'a');
    sender.send_text(at_limit);
    for (auto* c : {&sender, &bystander, &other})
        expect_text(*c, at_limit);

    sender.send_binary(std::string(message_limit + 1, 'b'));
    expect_closed_with(sender, websocket::close_code::too_big);
    BOOST_TEST(server.wait_for_log("disconnect user_id=big").has_value());

    // The bystander was connected all along and still gets every broadcast, and nothing else:
    // the next message it reads is the one sent after the oversized one.
    other.send_text("after the oversized message");
    expect_text(bystander, "after the oversized message");
    expect_text(other, "after the oversized message");
    bystander.send_text("the bystander still sends");
    expect_text(other, "the bystander still sends");
    expect_text(bystander, "the bystander still sends");
}

BOOST_FIXTURE_TEST_CASE(fragments_adding_up_past_max_message_size_get_1009, small_message_server) {
    ws_client sender(io), bystander(io);
    sender.connect(port(), "/im?user_id=fragments");
    bystander.connect(port(), "/im?user_id=bystander");

    // Fragments that add up to exactly the limit make one allowed message.
    sender.send_fragmented({std::string(400, 'x'), std::string(400, 'y'), std::string(200, 'z')}, true);
    const std::string whole = std::string(400, 'x') + std::string(400, 'y') + std::string(200, 'z');
    expect_text(bystander, whole);
    expect_text(sender, whole);

    // Each fragment is well below the limit; the third takes the message past it.
    sender.send_fragmented({std::string(400, '1'), std::string(400, '2'), std::string(400, '3')}, false);
    expect_closed_with(sender, websocket::close_code::too_big);

    ws_client other(io);
    other.connect(port(), "/im?user_id=other");
    other.send_text("still broadcasting");
    expect_text(bystander, "still broadcasting");
    expect_text(other, "still broadcasting");
}

BOOST_FIXTURE_TEST_CASE(closing_handshake_after_1009_ends_cleanly_with_the_message_unread,
                        small_message_server) {
    // The server stops reading at the frame header, with most of the message still on its way.
    // Closing the socket on unread bytes would send a reset that can overtake the close frame;
    // the server drains them instead, every time.
    for (int i = 0; i < 8; ++i) {
        ws_client sender(io);
        sender.connect(port(), "/im?user_id=oversized-" + std::to_string(i));
        sender.send_binary(std::string(256 * 1024, 'o'));
        expect_closed_with(sender, websocket::close_code::too_big);
    }
    ws_client a(io), b(io);
    a.connect(port(), "/im?user_id=a");
    b.connect(port(), "/im?user_id=b");
    a.send_text("the server is still up");
    expect_text(b, "the server is still up");
}

BOOST_FIXTURE_TEST_CASE(upgrade_past_max_connections_gets_503_until_a_client_leaves, two_connection_server) {
    raw_connection a(io), b(io);
    a.upgrade_ok(port(), "/im?user_id=a");
    b.upgrade_ok(port(), "/im?user_id=b");

    // Refusals hold no slot: however many there are, the count stays at two.
    for (int i = 0; i < 3; ++i) {
        raw_connection refused(io);
        expect_refusal(refused.upgrade(port(), "/im?user_id=c"), 503, server_full);
        expect_connection_ended(refused);
    }
    // The server logs before it answers, but the log is read from a pipe: wait for the lines.
    BOOST_TEST(server.wait_for_log_count("refused GET /im", 3));
    // The limit is on WebSocket sessions: plain HTTP is still answered.
    BOOST_TEST(http_get(port(), "/ping").result_int() == 200u);

    close_cleanly(a);
    BOOST_REQUIRE(server.wait_for_log("disconnect user_id=a").has_value());
    auto c = admit_again(io, port(), "/im?user_id=c", "127.0.0.1", server_full);

    // The slot that came back is taken again.
    raw_connection d(io);
    expect_refusal(d.upgrade(port(), "/im?user_id=d"), 503, server_full);

    // The admitted clients are served: c's message reaches b.
    c->send(client_frame(op_text, "from c"));
    const auto at_b = b.read_frame();
    BOOST_TEST(at_b.opcode == op_text);
    BOOST_TEST(at_b.payload == "from c");
}

BOOST_FIXTURE_TEST_CASE(connections_are_counted_per_source_address, two_per_address_server) {
    raw_connection a1(io), a2(io), b1(io), b2(io), c1(io);
    a1.upgrade_ok(port(), "/im?user_id=a1", "127.0.0.1");
    a2.upgrade_ok(port(), "/im?user_id=a2", "127.0.0.1");
    {
        raw_connection a3(io);
        expect_refusal(a3.upgrade(port(), "/im?user_id=a3", "http://127.0.0.1", {}, "127.0.0.1"), 503,
                       address_full);
        expect_connection_ended(a3);
    }
    // Another address has its own count.
    b1.upgrade_ok(port(), "/im?user_id=b1", "127.0.0.2");
    b2.upgrade_ok(port(), "/im?user_id=b2", "127.0.0.2");
    {
        raw_connection b3(io);
        expect_refusal(b3.upgrade(port(), "/im?user_id=b3", "http://127.0.0.1", {}, "127.0.0.2"), 503,
                       address_full);
    }
    c1.upgrade_ok(port(), "/im?user_id=c1", "127.0.0.3");
    // The server saw the addresses the clients were bound to.
    const auto b1_line = server.wait_for_log("connect user_id=b1 ");
    BOOST_REQUIRE(b1_line.has_value());
    BOOST_TEST(b1_line->find("remote=127.0.0.2:") != std::string::npos, *b1_line);

    // a1 vanishes without a closing handshake; its address gets one slot back, the other does not.
    a1.close();
    BOOST_REQUIRE(server.wait_for_log("disconnect user_id=a1").has_value());
    auto a4 = admit_again(io, port(), "/im?user_id=a4", "127.0.0.1", address_full);
    {
        raw_connection a5(io), b4(io);
        expect_refusal(a5.upgrade(port(), "/im?user_id=a5", "http://127.0.0.1", {}, "127.0.0.1"), 503,
                       address_full);
        expect_refusal(b4.upgrade(port(), "/im?user_id=b4", "http://127.0.0.1", {}, "127.0.0.2"), 503,
                       address_full);
    }

    // Everyone admitted is one hub: a4's message reaches a client of each address.
    a4->send(client_frame(op_text, "from a4"));
    for (auto* c : {&a2, &b2, &c1}) {
        const auto f = c->read_frame();
        BOOST_TEST(f.opcode == op_text);
        BOOST_TEST(f.payload == "from a4");
    }
}

// Reproduced: with --max-connections 2, hundreds of keep-alive connections that never upgrade were
// all served, so a client could use up the process's descriptors.
BOOST_FIXTURE_TEST_CASE(connections_that_have_not_upgraded_are_limited_in_all_and_per_address,
                        http_limited_server) {
    // Upgraded sessions leave the HTTP count: two sessions from 127.0.0.2 take none of its three.
    raw_connection s1(io), s2(io);
    s1.upgrade_ok(port(), "/im?user_id=s1", "127.0.0.2");
    s2.upgrade_ok(port(), "/im?user_id=s2", "127.0.0.2");

    std::vector<std::unique_ptr<raw_connection>> held;
    for (int i = 0; i < 3; ++i)
        held.push_back(served_ping(io, port(), "127.0.0.2"));
    expect_http_refused(io, port(), "127.0.0.2", http_address_full);
    for (int i = 0; i < 3; ++i)
        held.push_back(served_ping(io, port(), "127.0.0.3"));
    // Six in all: another address is refused too, and so is an upgrade request.
    expect_http_refused(io, port(), "127.0.0.4", http_server_full);
    {
        raw_connection refused(io);
        expect_refusal(refused.upgrade(port(), "/im?user_id=x", "http://127.0.0.1", {}, "127.0.0.4"), 503,
                       http_server_full);
        expect_connection_ended(refused);
    }

    // The connections already admitted are still served.
    held.front()->send(ping_request);
    BOOST_TEST(held.front()->read_response().status == 200u);

    // One leaves; its place comes back, for any address.
    held.back()->close();
    held.pop_back();
    held.push_back(served_again(io, port(), "127.0.0.4", http_server_full));
    expect_http_refused(io, port(), "127.0.0.5", http_server_full);

    // The sessions were never disturbed.
    s1.send(client_frame(op_text, "from s1"));
    const auto f = s2.read_frame();
    BOOST_TEST(f.opcode == op_text);
    BOOST_TEST(f.payload == "from s1");
}

BOOST_FIXTURE_TEST_CASE(keep_alive_connection_silent_past_http_idle_timeout_is_closed, http_idle_server) {
    auto c = served_ping(io, port(), "127.0.0.1");
    const auto end = c->read_until_end(std::chrono::seconds(15));
    BOOST_TEST(end.bytes.empty());
    BOOST_TEST((end.end == asio::error::eof), end.end.message());
}

BOOST_FIXTURE_TEST_CASE(keep_alive_connection_is_closed_after_max_requests_per_connection,
                        three_requests_server) {
    raw_connection c(io);
    c.connect(port(), "127.0.0.1");
    for (int i = 1; i <= 3; ++i) {
        c.send(ping_request);
        const auto r = c.read_response();
        BOOST_TEST(r.status == 200u);
        BOOST_TEST((r.field("Connection") == "close") == (i == 3), "request " << i << ": " << r.header);
    }
    expect_connection_ended(c);
}

// The answer that ends a connection must reach a client that goes on writing behind it. wshub
// closed with the client's bytes unread, so the kernel reset the connection and threw away what of
// the answer was still queued: a publisher pipelining requests lost the answer to a message that
// had gone out, and sent it again.
BOOST_FIXTURE_TEST_CASE(last_answer_reaches_a_client_that_keeps_writing, three_requests_server) {
    raw_connection c(io);
    // A small window: most of the last answer waits in wshub's send queue.
    c.connect(port(), "127.0.0.1", 1024);
    for (int i = 1; i <= 2; ++i) {
        c.send(ping_request);
        BOOST_TEST(c.read_response().status == 200u);
    }
    c.send("GET /wshub.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    c.wait_for_bytes();   // wshub has read the request and is answering it
    c.send(ping_request); // pipelined behind the last allowed request: not answered
    const auto r = c.read_response();
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.field("Connection") == "close");
    BOOST_TEST(r.body.size() == std::stoul(r.field("Content-Length")));
    const auto end = c.read_until_end();
    BOOST_TEST(end.bytes.empty(), "unexpected bytes after the last answer: " << end.bytes.size());
    BOOST_TEST((end.end == asio::error::eof), end.end.message());
}

// A chunk header is read whole before its size counts, so its extensions were kept without limit:
// one connection grew wshub by 200 MB. Past 64 KiB it is refused.
BOOST_FIXTURE_TEST_CASE(endless_chunk_header_is_400, server_fixture) {
    raw_connection c(io);
    c.connect(port());
    c.send("POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nc;" +
           std::string(std::size_t{1} << 20, 'a'));
    const auto r = c.read_response();
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(r.body == "bad request: a chunk header is over 65536 bytes\n");
}

// Out of descriptors, accept fails at once for as long as the backlog is not empty: the acceptor
// must wait between attempts (not spin, not log each one) and accept again once descriptors free.
BOOST_AUTO_TEST_CASE(out_of_descriptors_the_acceptor_backs_off_and_recovers) {
#if defined(__SANITIZE_ADDRESS__)
    // Not a defect of wshub: UBSan's vptr check, on a type it has not cached yet, asks whether the
    // object's memory is readable by writing it into a pipe() (IsAccessibleMemoryRange in GCC 12's
    // sanitizer runtime). Out of descriptors, by this test's design, pipe() fails and the check
    // reports a valid heap object (here a cancellation handler) as having an invalid vptr, with
    // "<memory cannot be printed>" and no stack. Reports are unrecoverable in the asan preset, so
    // no suppression applies; running this case under ASan needs vptr recoverable there
    // (-fsanitize-recover=vptr) and a vptr_check suppression for this one server.
    BOOST_TEST_MESSAGE("not run under AddressSanitizer: see the comment above");
    return;
#endif
    test_io io;
    // Connections hold their descriptor for the whole test unless the test closes them.
    constexpr unsigned descriptor_limit = 64;
    wshub_process server(wshub_args(1, {"--handshake-timeout", "60", "--http-idle-timeout", "60"}),
                         descriptor_limit);
    std::vector<std::unique_ptr<raw_connection>> held;
    // More connections than wshub has descriptors: the kernel completes them all (the listen
    // backlog), wshub accepts until it runs out.
    for (unsigned i = 0; i < descriptor_limit + 16; ++i) {
        held.push_back(std::make_unique<raw_connection>(io));
        held.back()->connect(server.port());
        held.back()->send(ping_request);
    }
    BOOST_REQUIRE(server.wait_for_log("accept failed").has_value());

    // A measurement window, not a wait for an event: while it is out of descriptors, wshub stays
    // nearly idle (a spinning acceptor would use a whole core) and says so once, not per attempt.
    const auto before = server.cpu_ticks();
    io.run(pause(std::chrono::seconds(2)), "measurement window", std::chrono::seconds(10), {});
    const auto used = server.cpu_ticks() - before;
    BOOST_TEST_MESSAGE("CPU ticks used in 2 s out of descriptors: " << used);
    BOOST_TEST(used < 60u, "wshub used " << used << " ticks in 2 s: the acceptor spins");
    BOOST_TEST(server.count_log("accept failed") == 1u);
    BOOST_TEST(server.count_log("accepting connections again") == 0u);

    // Descriptors come back when the clients leave; the acceptor notices by itself.
    held.clear();
    BOOST_REQUIRE(server.wait_for_log("accepting connections again").has_value());
    const auto res = http_get(server.port(), "/ping");
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(res.body() == "pong");
    server.terminate();
    BOOST_TEST(server.wait_exit() == 0);
}

BOOST_FIXTURE_TEST_CASE(sessions_past_max_connections_per_user_get_429, two_per_user_server) {
    raw_connection a1(io), a2(io), b1(io);
    a1.upgrade_ok(port(), "/im?user_id=alice");
    a2.upgrade_ok(port(), "/im?user_id=alice");
    {
        raw_connection a3(io);
        expect_refusal(a3.upgrade(port(), "/im?user_id=alice"), 429, user_full);
        expect_connection_ended(a3);
    }
    // Another user has its own count, from the same address.
    b1.upgrade_ok(port(), "/im?user_id=bob");
    BOOST_TEST(server.wait_for_log("refused GET /im").has_value());

    // alice gets her place back once one of her sessions has ended.
    a1.close();
    BOOST_REQUIRE(server.wait_for_log("disconnect user_id=alice").has_value());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        raw_connection again(io);
        const auto r = again.upgrade(port(), "/im?user_id=alice");
        if (r.status == 101) break;
        expect_refusal(r, 429, user_full);
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "alice's place did not come back");
        io.run(pause(std::chrono::milliseconds(20)), "pause between attempts", std::chrono::seconds(5), {});
    }
}

// Behind a trusted proxy the per-address limit applies to the client nginx forwards, not to nginx:
// without --trusted-proxies, two clients in all could connect through it.
BOOST_FIXTURE_TEST_CASE(behind_a_trusted_proxy_per_address_limits_apply_to_the_forwarded_address,
                        two_per_address_behind_nginx, *boost::unit_test::precondition(nginx_available)) {
    const auto through_nginx = [&](raw_connection& c, const std::string& user, const std::string& source,
                                   const header_list& extra = {}) {
        return c.upgrade(nginx.port(), "/im?user_id=" + user, "http://127.0.0.1", extra, source);
    };
    raw_connection a1(io), a2(io), b1(io), b2(io);
    BOOST_TEST(through_nginx(a1, "a1", "127.0.0.2").status == 101u);
    BOOST_TEST(through_nginx(a2, "a2", "127.0.0.2").status == 101u);
    {
        raw_connection a3(io);
        expect_refusal(through_nginx(a3, "a3", "127.0.0.2"), 503, address_full);
        // A client cannot pass for another by writing its own X-Forwarded-For: nginx appends the
        // address it sees, and that is the hop wshub reads.
        raw_connection forged(io);
        expect_refusal(through_nginx(forged, "forged", "127.0.0.2", {{"X-Forwarded-For", "198.51.100.1"}}),
                       503, address_full);
    }
    BOOST_TEST(through_nginx(b1, "b1", "127.0.0.3").status == 101u);
    BOOST_TEST(through_nginx(b2, "b2", "127.0.0.3").status == 101u);
    const auto b1_line = server.wait_for_log("connect user_id=b1 ");
    BOOST_REQUIRE(b1_line.has_value());
    BOOST_TEST(b1_line->find("remote=127.0.0.3") != std::string::npos, *b1_line);

    // A peer that is not a trusted proxy is counted by its own address, whatever it claims.
    raw_connection direct(io);
    BOOST_TEST(direct
                   .upgrade(port(), "/im?user_id=direct", "http://127.0.0.1",
                            {{"X-Forwarded-For", "127.0.0.3"}}, "127.0.0.4")
                   .status == 101u);
    const auto direct_line = server.wait_for_log("connect user_id=direct ");
    BOOST_REQUIRE(direct_line.has_value());
    BOOST_TEST(direct_line->find("remote=127.0.0.4:") != std::string::npos, *direct_line);
}

BOOST_AUTO_TEST_SUITE_END()

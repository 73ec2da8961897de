// The plain HTTP answers: health check, the demo page and the JavaScript client, unknown paths, and
// the ways an /im request is refused.
#include "http_client.hpp"
#include "raw_connection.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <iterator>
#include <string>

using namespace wshub_test;
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

std::string source_file(const std::string& name) {
    std::ifstream in(std::string(WSHUB_SOURCE_DIR) + "/lib/static/" + name, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in, "cannot read lib/static/" + name);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const header_list upgrade_headers = {{"Connection", "Upgrade"},
                                     {"Upgrade", "websocket"},
                                     {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                     {"Sec-WebSocket-Version", "13"}};

struct ipv6_server : server_fixture {
    ipv6_server()
        : server_fixture({"--address", "::1", "--port", "0", "--threads", "1", "--log-level", "info"}) {}
};

} // namespace

BOOST_AUTO_TEST_SUITE(http_routes)

BOOST_FIXTURE_TEST_CASE(ping_answers_pong, server_fixture) {
    const auto res = http_get(port(), "/ping");
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(res.body() == "pong");
}

BOOST_FIXTURE_TEST_CASE(ipv6_loopback_serves_ping_and_websocket, ipv6_server) {
    const auto res = http_get(port(), "/ping", {}, "::1");
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(res.body() == "pong");

    ws_client client(io);
    client.connect(port(), "/im?user_id=v6", "::1");
    client.send_text("over ipv6");
    BOOST_TEST(client.read().payload == "over ipv6");
}

BOOST_FIXTURE_TEST_CASE(demo_page_and_javascript_client_are_served_as_the_files, server_fixture) {
    struct expected {
        const char* target;
        const char* file;
        const char* content_type;
    };
    for (const auto& e : {expected{"/", "index.html", "text/html; charset=utf-8"},
                          expected{"/wshub.js", "wshub.js", "text/javascript; charset=utf-8"}}) {
        BOOST_TEST_CONTEXT(e.target) {
            const auto body = source_file(e.file);
            const auto res = http_get(port(), e.target);
            BOOST_TEST(res.result_int() == 200u);
            BOOST_TEST(res[http::field::content_type] == e.content_type);
            BOOST_TEST(res[http::field::cache_control] == "no-cache");
            BOOST_TEST(res.body() == body);

            const auto head = http_request(port(), http::verb::head, e.target);
            BOOST_TEST(head.result_int() == 200u);
            BOOST_TEST(head[http::field::content_type] == e.content_type);
            BOOST_TEST(head[http::field::content_length] == std::to_string(body.size()));
            BOOST_TEST(head.body().empty());

            const auto post = http_request(port(), http::verb::post, e.target);
            BOOST_TEST(post.result_int() == 405u);
            BOOST_TEST(post[http::field::allow] == "GET");
        }
    }
}

BOOST_FIXTURE_TEST_CASE(unknown_path_is_404, server_fixture) {
    const auto res = http_get(port(), "/nope");
    BOOST_TEST(res.result_int() == 404u);
    BOOST_TEST(!res.body().empty());
}

BOOST_FIXTURE_TEST_CASE(plain_get_of_im_is_426, server_fixture) {
    const auto res = http_get(port(), "/im?user_id=a");
    BOOST_TEST(res.result_int() == 426u);
    BOOST_TEST(res[http::field::upgrade] == "websocket");
}

BOOST_FIXTURE_TEST_CASE(upgrade_without_user_id_is_400_with_reason, server_fixture) {
    ws_client client(io);
    const auto r = client.try_connect(port(), "/im");
    BOOST_TEST((r.ec == boost::beast::websocket::error::upgrade_declined), r.ec.message());
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(r.body.find("user_id") != std::string::npos, "reason body: '" << r.body << "'");
}

BOOST_FIXTURE_TEST_CASE(upgrade_with_empty_user_id_is_400_with_reason, server_fixture) {
    ws_client client(io);
    const auto r = client.try_connect(port(), "/im?user_id=");
    BOOST_TEST((r.ec == boost::beast::websocket::error::upgrade_declined), r.ec.message());
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(r.body.find("user_id") != std::string::npos, "reason body: '" << r.body << "'");
}

BOOST_FIXTURE_TEST_CASE(raw_upgrade_request_without_user_id_is_400_one_line, server_fixture) {
    const auto res = http_get(port(), "/im?other=1", upgrade_headers);
    BOOST_TEST(res.result_int() == 400u);
    const auto& body = res.body();
    BOOST_TEST(!body.empty());
    // One line of text: a newline at the end and nowhere else.
    BOOST_TEST(body.find('\n') == body.size() - 1, "body: '" << body << "'");
}

// RFC 9112: an HTTP/1.1 request without a Host field, or with two, is 400 (section 3.2); one whose
// transfer codings leave its body's length unknown is 400, and one with a coding wshub does not
// decode 501 (section 6.1). They were served: a body under "Transfer-Encoding: identity" was
// taken by its Content-Length, and a gzip-coded chunked body as if it were plain.
BOOST_FIXTURE_TEST_CASE(requests_with_faulty_framing_are_refused, server_fixture) {
    struct probe {
        const char* name;
        std::string request;
        unsigned status;
    };
    const std::string body = R"({"data":"x"})"; // 12 (c) bytes
    const std::string publish = "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& p :
         {probe{"no Host", "GET /ping HTTP/1.1\r\n\r\n", 400},
          probe{"two Host fields", "GET /ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
          probe{"identity", publish + "Transfer-Encoding: identity\r\nContent-Length: 12\r\n\r\n" + body,
                400},
          probe{"gzip, chunked",
                publish + "Transfer-Encoding: gzip, chunked\r\n\r\nc\r\n" + body + "\r\n0\r\n\r\n", 501}}) {
        BOOST_TEST_CONTEXT(p.name) {
            raw_connection c(io);
            c.connect(port());
            c.send(p.request);
            const auto r = c.read_response();
            BOOST_TEST(r.status == p.status, r.header << r.body);
            BOOST_TEST(r.field("Connection") == "close");
            const auto end = c.read_until_end();
            BOOST_TEST(end.bytes.empty());
            BOOST_TEST((end.end == asio::error::eof), end.end.message());
        }
    }
}

BOOST_FIXTURE_TEST_CASE(handshake_fields_are_checked, server_fixture) {
    // The RFC's example key gets the RFC's example answer.
    const auto ok = http_get(port(), "/im?user_id=rfc", upgrade_headers);
    BOOST_TEST(ok.result_int() == 101u);
    BOOST_TEST(ok[http::field::sec_websocket_accept] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    auto without = [](std::string_view name) {
        header_list h;
        for (const auto& f : upgrade_headers)
            if (f.first != name) h.push_back(f);
        return h;
    };
    for (const char* missing : {"Sec-WebSocket-Key", "Sec-WebSocket-Version"}) {
        const auto res = http_get(port(), "/im?user_id=a", without(missing));
        BOOST_TEST(res.result_int() == 400u, "without " << missing);
        BOOST_TEST(res.body().find(missing) != std::string::npos, res.body());
    }
    // Another protocol version: 426, naming the one wshub speaks.
    auto old_version = without("Sec-WebSocket-Version");
    old_version.emplace_back("Sec-WebSocket-Version", "8");
    const auto res = http_get(port(), "/im?user_id=a", old_version);
    BOOST_TEST(res.result_int() == 426u);
    BOOST_TEST(res[http::field::sec_websocket_version] == "13");
    BOOST_TEST(res.body().find('\n') == res.body().size() - 1, "body: '" << res.body() << "'");
}

BOOST_FIXTURE_TEST_CASE(key_that_is_not_the_base64_of_16_bytes_is_400, server_fixture) {
    // RFC 6455 section 4.1: the key is a random 16-byte value, base64-encoded: 24 characters.
    const std::vector<std::pair<std::string, std::string>> keys = {
        {"a", "one character"},
        {"!!!!", "not base64"},
        {"!!!!!!!!!!!!!!!!!!!!!!==", "24 characters, not base64"},
        {"dGhlIHNhbXBsZSBub25jZQAA", "the base64 of 18 bytes"},
        {"dGhlIHNhbXBsZSBub25j", "the base64 of 15 bytes"},
        {"dGhlIHNhbXBsZSBub25jZQ=", "one padding character short"},
        {"dGhlIHNhbXBsZSBub25jZQ=A", "padding in the middle"},
    };
    for (const auto& [key, what] : keys) {
        BOOST_TEST_CONTEXT(what) {
            raw_connection c(io);
            c.connect(port());
            c.send("GET /im?user_id=a HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: " +
                   key + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
            const auto res = c.read_response();
            BOOST_TEST(res.status == 400u);
            BOOST_TEST(res.body.find("Sec-WebSocket-Key") != std::string::npos, res.body);
            BOOST_TEST(res.body.find('\n') == res.body.size() - 1, "body: '" << res.body << "'");
        }
    }
}

BOOST_FIXTURE_TEST_CASE(connection_tokens_on_separate_lines_are_one_list, server_fixture) {
    // Connection's values form one comma-separated list across all its lines (RFC 9110 5.3), so
    // "keep-alive" on one line and "Upgrade" on the next asks for the upgrade, in any case.
    for (const char* connection :
         {"Connection: keep-alive\r\nConnection: Upgrade\r\n",
          "Connection: keep-alive\r\nconnection: upgrade, foo\r\n", "Connection: keep-alive, UPGRADE\r\n"}) {
        BOOST_TEST_CONTEXT(connection) {
            raw_connection c(io);
            c.connect(port());
            c.send(
                std::string("GET /im?user_id=lines HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n") +
                connection +
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            const auto res = c.read_response();
            BOOST_TEST(res.status == 101u);
            BOOST_TEST(res.field("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        }
    }
    // Without the token on any line it is still a plain GET: 426.
    raw_connection c(io);
    c.connect(port());
    c.send("GET /im?user_id=lines HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: keep-alive\r\nConnection: close-ish\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    BOOST_TEST(c.read_response().status == 426u);
}

BOOST_FIXTURE_TEST_CASE(offered_subprotocol_that_wshub_does_not_speak_is_400, server_fixture) {
    // wshub speaks wshub.json only: a 101 without Sec-WebSocket-Protocol would fail the
    // browser's handshake anyway, so the client gets a clear refusal instead.
    for (const char* offered : {"chat", "chat, superchat", "v1.wshub"}) {
        BOOST_TEST_CONTEXT(offered) {
            raw_connection c(io);
            const auto res = c.upgrade(port(), "/im?user_id=sub", "http://127.0.0.1",
                                       {{"Sec-WebSocket-Protocol", offered}});
            BOOST_TEST(res.status == 400u);
            BOOST_TEST(res.body == "unsupported WebSocket subprotocol\n");
        }
    }
    // A client offering none is upgraded, and the 101 names none.
    raw_connection c(io);
    const auto res = c.upgrade(port(), "/im?user_id=sub");
    BOOST_TEST(res.status == 101u);
    BOOST_TEST(res.field("Sec-WebSocket-Protocol").empty());
}

BOOST_FIXTURE_TEST_CASE(refused_upgrade_leaves_the_server_serving, server_fixture) {
    {
        ws_client refused(io);
        BOOST_TEST(refused.try_connect(port(), "/im?user_id=").status == 400u);
    }
    ws_client client(io);
    client.connect(port(), "/im?user_id=after");
    client.send_text("still here");
    BOOST_TEST(client.read().payload == "still here");
}

BOOST_AUTO_TEST_SUITE_END()

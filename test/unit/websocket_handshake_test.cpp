#include "wshub/websocket_handshake.hpp"

#include <array>
#include <boost/beast/http/message.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <variant>

using namespace wshub;

namespace {

constexpr std::string_view rfc_key = "dGhlIHNhbXBsZSBub25jZQ==";        // RFC 6455 section 1.3
constexpr std::string_view rfc_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; // its Sec-WebSocket-Accept

http_reply refusal(const websocket_handshake_request& req) {
    auto result = accept_websocket_handshake(req);
    BOOST_REQUIRE(std::holds_alternative<http_reply>(result));
    return std::get<http_reply>(result);
}

} // namespace

BOOST_AUTO_TEST_SUITE(websocket_handshake)

BOOST_AUTO_TEST_CASE(accept_key_matches_the_rfc_example) {
    BOOST_TEST(websocket_accept_key(rfc_key) == rfc_accept);
    // Another key gives another answer (the key is hashed, not ignored).
    BOOST_TEST(websocket_accept_key("AQIDBAUGBwgJCgsMDQ4PEA==") != rfc_accept);
    BOOST_TEST(websocket_accept_key("AQIDBAUGBwgJCgsMDQ4PEA==").size() == 28u); // base64 of 20 bytes
}

BOOST_AUTO_TEST_CASE(good_request_gets_101_with_the_accept_key) {
    auto result = accept_websocket_handshake({true, rfc_key, "13", {}});
    BOOST_REQUIRE(std::holds_alternative<std::string>(result));
    const auto& response = std::get<std::string>(result);
    BOOST_TEST(response.starts_with("HTTP/1.1 101 "));
    BOOST_TEST(response.find("\r\nSec-WebSocket-Accept: " + std::string(rfc_accept) + "\r\n") !=
               std::string::npos);
    BOOST_TEST(response.find("\r\nUpgrade: websocket\r\n") != std::string::npos);
    BOOST_TEST(response.find("\r\nConnection: Upgrade\r\n") != std::string::npos);
    // The header ends there, exactly once: nothing may follow it on the wire but frames.
    BOOST_TEST(response.ends_with("\r\n\r\n"));
    BOOST_TEST(response.find("\r\n\r\n") == response.size() - 4);
}

BOOST_AUTO_TEST_CASE(missing_fields_are_400) {
    BOOST_TEST(refusal({false, rfc_key, "13", {}}).status == 400u);
    BOOST_TEST(refusal({true, "", "13", {}}).status == 400u);
    BOOST_TEST(refusal({true, rfc_key, "", {}}).status == 400u);
    const auto r = refusal({true, "", "13", {}});
    BOOST_TEST(r.body.find("Sec-WebSocket-Key") != std::string::npos);
    BOOST_TEST(!r.websocket_version);
}

BOOST_AUTO_TEST_CASE(key_longer_than_24_characters_is_400) {
    const std::string long_key = std::string(rfc_key) + "A";
    BOOST_TEST(refusal({true, long_key, "13", {}}).status == 400u);
    // 24 is the length of every real key.
    BOOST_TEST(std::holds_alternative<std::string>(accept_websocket_handshake({true, rfc_key, "13", {}})));
}

BOOST_AUTO_TEST_CASE(other_version_is_426_naming_13) {
    for (std::string_view version : {"8", "12", "14"}) {
        const auto r = refusal({true, rfc_key, version, {}});
        BOOST_TEST(r.status == 426u, version);
        // So that the reply carries "Sec-WebSocket-Version: 13" (RFC 6455 section 4.4).
        BOOST_TEST(r.websocket_version, version);
    }
}

BOOST_AUTO_TEST_CASE(key_must_be_the_base64_of_16_bytes) {
    BOOST_TEST(is_valid_websocket_key(rfc_key));
    BOOST_TEST(is_valid_websocket_key("AQIDBAUGBwgJCgsMDQ4PEA=="));
    BOOST_TEST(is_valid_websocket_key("++++////++++////++++//=="));
    for (std::string_view bad :
         {"a", "!!!!", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQAA",
          "dGhlIHNhbXBsZSBub25jZQ=A", "dGhlIHNhbXBsZSBub25jZ===", "!!!!!!!!!!!!!!!!!!!!!!==",
          "dGhlIHNhbXBsZSBu b25jZQ=", "dGhlIHNhbXBsZSBub25jZQ==A", "dGhlIHNhbXBsZSBub25j"}) {
        BOOST_TEST(!is_valid_websocket_key(bad), bad);
        const auto r = refusal({true, bad, "13", {}});
        BOOST_TEST(r.status == 400u, bad);
        BOOST_TEST(r.body.find("Sec-WebSocket-Key") != std::string::npos, r.body);
    }
}

BOOST_AUTO_TEST_CASE(connection_and_upgrade_are_lists_across_lines) {
    namespace http = boost::beast::http;
    auto request = [](std::initializer_list<std::pair<http::field, std::string_view>> fields) {
        http::request_header<> req;
        req.method(http::verb::get);
        req.version(11);
        for (const auto& [name, value] : fields)
            req.insert(name, value);
        return req;
    };
    using f = http::field;
    BOOST_TEST(is_websocket_upgrade(request({{f::connection, "Upgrade"}, {f::upgrade, "websocket"}})));
    BOOST_TEST(is_websocket_upgrade(
        request({{f::connection, "keep-alive"}, {f::connection, "Upgrade"}, {f::upgrade, "websocket"}})));
    BOOST_TEST(
        is_websocket_upgrade(request({{f::connection, "keep-alive, UPGRADE"}, {f::upgrade, "WebSocket"}})));
    BOOST_TEST(is_websocket_upgrade(request({{f::connection, "close"},
                                             {f::connection, "x, upgrade"},
                                             {f::upgrade, "h2c"},
                                             {f::upgrade, "websocket"}})));
    BOOST_TEST(!is_websocket_upgrade(request({{f::connection, "keep-alive"}, {f::upgrade, "websocket"}})));
    BOOST_TEST(!is_websocket_upgrade(request({{f::connection, "upgrade"}, {f::upgrade, "h2c"}})));
    BOOST_TEST(!is_websocket_upgrade(request({{f::connection, "upgraded"}, {f::upgrade, "websocket"}})));
    auto post = request({{f::connection, "upgrade"}, {f::upgrade, "websocket"}});
    post.method(http::verb::post);
    BOOST_TEST(!is_websocket_upgrade(post));
    auto old = request({{f::connection, "upgrade"}, {f::upgrade, "websocket"}});
    old.version(10);
    BOOST_TEST(!is_websocket_upgrade(old));
}

BOOST_AUTO_TEST_CASE(offered_subprotocols_are_gathered_from_every_line) {
    namespace http = boost::beast::http;
    http::request_header<> req;
    req.insert(http::field::host, "h");
    req.insert(http::field::sec_websocket_key, rfc_key);
    req.insert(http::field::sec_websocket_version, "13");
    BOOST_TEST(websocket_handshake_fields(req).offered_subprotocols.empty());
    req.insert(http::field::sec_websocket_protocol, "chat, v2");
    req.insert(http::field::sec_websocket_protocol, "v3");
    const auto fields = websocket_handshake_fields(req);
    BOOST_TEST(fields.has_host);
    BOOST_TEST(fields.key == rfc_key);
    BOOST_TEST(fields.version == "13");
    BOOST_TEST(fields.offered_subprotocols == "chat, v2, v3");
}

BOOST_AUTO_TEST_CASE(a_client_offering_only_unsupported_subprotocols_is_400) {
    // wshub speaks wshub.json only.
    BOOST_TEST(supported_subprotocols.size() == 1u);
    BOOST_TEST(supported_subprotocols.front() == "wshub.json");
    const auto r = refusal({true, rfc_key, "13", "chat, superchat"});
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(r.body == "unsupported WebSocket subprotocol\n");
    // Offering none is fine, and the 101 names none.
    const auto ok = accept_websocket_handshake({true, rfc_key, "13", {}});
    BOOST_REQUIRE(std::holds_alternative<std::string>(ok));
    BOOST_TEST(std::get<std::string>(ok).find("Sec-WebSocket-Protocol") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_supported_subprotocol_is_chosen_and_named_in_the_101) {
    // The client's order decides among those the server speaks; names are compared exactly.
    constexpr std::array<std::string_view, 2> speaks{"wshub.v2", "wshub.v1"};
    BOOST_TEST(select_subprotocol("chat, wshub.v1, wshub.v2", speaks).value_or("") == "wshub.v1");
    BOOST_TEST(!select_subprotocol("chat, WSHUB.V1", speaks).has_value());
    BOOST_TEST(!select_subprotocol("", speaks).has_value());
    const auto ok = accept_websocket_handshake({true, rfc_key, "13", "chat,wshub.v2"}, speaks);
    BOOST_REQUIRE(std::holds_alternative<std::string>(ok));
    const auto& response = std::get<std::string>(ok);
    BOOST_TEST(response.find("\r\nSec-WebSocket-Protocol: wshub.v2\r\n") != std::string::npos, response);
    BOOST_TEST(response.ends_with("\r\n\r\n"));
    const auto refused = accept_websocket_handshake({true, rfc_key, "13", "chat"}, speaks);
    BOOST_TEST(std::get<http_reply>(refused).status == 400u);
}

BOOST_AUTO_TEST_SUITE_END()

#include "wshub/websocket_handshake.hpp"

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
    auto result = accept_websocket_handshake({true, rfc_key, "13"});
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
    BOOST_TEST(refusal({false, rfc_key, "13"}).status == 400u);
    BOOST_TEST(refusal({true, "", "13"}).status == 400u);
    BOOST_TEST(refusal({true, rfc_key, ""}).status == 400u);
    const auto r = refusal({true, "", "13"});
    BOOST_TEST(r.body.find("Sec-WebSocket-Key") != std::string::npos);
    BOOST_TEST(!r.websocket_version);
}

BOOST_AUTO_TEST_CASE(key_longer_than_24_characters_is_400) {
    const std::string long_key = std::string(rfc_key) + "A";
    BOOST_TEST(refusal({true, long_key, "13"}).status == 400u);
    // 24 is the length of every real key.
    BOOST_TEST(std::holds_alternative<std::string>(accept_websocket_handshake({true, rfc_key, "13"})));
}

BOOST_AUTO_TEST_CASE(other_version_is_426_naming_13) {
    for (std::string_view version : {"8", "12", "14"}) {
        const auto r = refusal({true, rfc_key, version});
        BOOST_TEST(r.status == 426u, version);
        // So that the reply carries "Sec-WebSocket-Version: 13" (RFC 6455 section 4.4).
        BOOST_TEST(r.websocket_version, version);
    }
}

BOOST_AUTO_TEST_SUITE_END()

#include "wshub/websocket_handshake.hpp"

#include "wshub/permessage_deflate.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/http/rfc7230.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <stdexcept>

namespace wshub {

namespace http = boost::beast::http;

namespace {

std::string_view as_view(boost::beast::string_view s) {
    return {s.data(), s.size()};
}

// Whether `token` is in the comma-separated lists of every line of `field`, without regard to case.
bool lists_token(const http::request_header<>& req, http::field field, std::string_view token) {
    const auto [first, last] = req.equal_range(field);
    return std::any_of(first, last, [&](const auto& line) {
        return http::token_list{line.value()}.exists(boost::beast::string_view(token.data(), token.size()));
    });
}

} // namespace

websocket_handshake_request websocket_handshake_fields(const http::request_header<>& req) {
    websocket_handshake_request fields{req.count(http::field::host) > 0,
                                       as_view(req[http::field::sec_websocket_key]),
                                       as_view(req[http::field::sec_websocket_version]),
                                       {},
                                       {}};
    auto join = [&](http::field field, std::string& into) {
        const auto [first, last] = req.equal_range(field);
        for (auto line = first; line != last; ++line) {
            if (!into.empty()) into += ", ";
            into.append(as_view(line->value()));
        }
    };
    join(http::field::sec_websocket_protocol, fields.offered_subprotocols);
    join(http::field::sec_websocket_extensions, fields.offered_extensions);
    return fields;
}

bool is_websocket_upgrade(const http::request_header<>& req) {
    return req.version() >= 11 && req.method() == http::verb::get &&
           lists_token(req, http::field::connection, "upgrade") &&
           lists_token(req, http::field::upgrade, "websocket");
}

bool is_valid_websocket_key(std::string_view key) {
    // 16 bytes are 22 base64 digits and two padding characters; the padding only there.
    if (key.size() != 24 || !key.ends_with("==") || key.substr(0, 22).find('=') != std::string_view::npos)
        return false;
    std::array<unsigned char, 18> decoded{};
    return EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(key.data()),
                           static_cast<int>(key.size())) == static_cast<int>(decoded.size());
}

std::optional<std::string_view> select_subprotocol(std::string_view offered,
                                                   std::span<const std::string_view> supported) {
    for (const auto& token : http::token_list{boost::beast::string_view(offered.data(), offered.size())}) {
        const auto name = as_view(token);
        // Subprotocol names are compared exactly (RFC 6455 section 4.1).
        if (auto it = std::find(supported.begin(), supported.end(), name); it != supported.end()) return *it;
    }
    return std::nullopt;
}

std::string websocket_accept_key(std::string_view key) {
    static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string input;
    input.reserve(key.size() + guid.size());
    input.append(key).append(guid);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned digest_size = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_size, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("SHA-1 is not available");
    std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> encoded{};
    const int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest_size));
    return std::string(reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(n));
}

std::variant<std::string, http_reply>
accept_websocket_handshake(const websocket_handshake_request& req,
                           std::span<const std::string_view> supported) {
    auto refuse = [](unsigned status, std::string_view why) {
        return http_reply{status, fmt::format("{}\n", why)};
    };
    if (!req.has_host) return refuse(400, "bad WebSocket handshake: no Host field");
    if (req.key.empty()) return refuse(400, "bad WebSocket handshake: no Sec-WebSocket-Key");
    if (!is_valid_websocket_key(req.key))
        return refuse(400, "bad WebSocket handshake: Sec-WebSocket-Key is not the base64 of 16 bytes");
    if (req.version.empty()) return refuse(400, "bad WebSocket handshake: no Sec-WebSocket-Version");
    if (req.version != "13") {
        auto r = refuse(426, "bad WebSocket handshake: wshub speaks Sec-WebSocket-Version 13");
        r.websocket_version = true;
        return r;
    }
    std::string protocol_line;
    if (!req.offered_subprotocols.empty()) {
        const auto chosen = select_subprotocol(req.offered_subprotocols, supported);
        if (!chosen) return refuse(400, "unsupported WebSocket subprotocol");
        protocol_line = fmt::format("Sec-WebSocket-Protocol: {}\r\n", *chosen);
    }
    if (!req.permessage_deflate.empty())
        protocol_line += fmt::format("Sec-WebSocket-Extensions: {}\r\n", req.permessage_deflate);
    return fmt::format("HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: {}\r\n"
                       "{}"
                       "Server: wshub\r\n"
                       "\r\n",
                       websocket_accept_key(req.key), protocol_line);
}

} // namespace wshub

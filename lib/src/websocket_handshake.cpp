#include "wshub/websocket_handshake.hpp"

#include <array>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <stdexcept>

namespace wshub {

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

std::variant<std::string, http_reply> accept_websocket_handshake(const websocket_handshake_request& req) {
    auto refuse = [](unsigned status, std::string_view why) {
        return http_reply{status, fmt::format("{}\n", why)};
    };
    if (!req.has_host) return refuse(400, "bad WebSocket handshake: no Host field");
    // A key is the base64 of 16 bytes: 24 characters. Shorter ones are tolerated, as by Beast.
    if (req.key.empty()) return refuse(400, "bad WebSocket handshake: no Sec-WebSocket-Key");
    if (req.key.size() > 24) return refuse(400, "bad WebSocket handshake: Sec-WebSocket-Key is too long");
    if (req.version.empty()) return refuse(400, "bad WebSocket handshake: no Sec-WebSocket-Version");
    if (req.version != "13") {
        auto r = refuse(426, "bad WebSocket handshake: wshub speaks Sec-WebSocket-Version 13");
        r.websocket_version = true;
        return r;
    }
    return fmt::format("HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: {}\r\n"
                       "Server: wshub\r\n"
                       "\r\n",
                       websocket_accept_key(req.key));
}

} // namespace wshub

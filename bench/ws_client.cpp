#include "ws_client.hpp"

#include <arpa/inet.h>
#include <array>
#include <cctype>
#include <chrono>
#include <fmt/format.h>
#include <random>
#include <stdexcept>
#include <sys/random.h>
#include <zlib.h>

namespace wsbench {

namespace {

std::string base64(const uint8_t* p, size_t n) {
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = uint32_t{p[i]} << 16;
        if (i + 1 < n) v |= uint32_t{p[i + 1]} << 8;
        if (i + 2 < n) v |= p[i + 2];
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += i + 1 < n ? table[(v >> 6) & 63] : '=';
        out += i + 2 < n ? table[v & 63] : '=';
    }
    return out;
}

void random_bytes(uint8_t* p, size_t n) {
    while (n > 0) {
        ssize_t r = ::getrandom(p, n, 0);
        if (r <= 0) { // no entropy source: fall back to a seeded engine (keys need not be secret)
            std::mt19937_64 gen(
                std::random_device{}() ^
                static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
            for (size_t i = 0; i < n; ++i)
                p[i] = static_cast<uint8_t>(gen());
            return;
        }
        p += r;
        n -= static_cast<size_t>(r);
    }
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) !=
            std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

} // namespace

Endpoint loopback_endpoint(const std::string& host, uint16_t port) {
    Endpoint ep;
    ep.host = host;
    ep.port = port;
    std::string h = host == "localhost" ? "127.0.0.1" : host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    in_addr a4{};
    in6_addr a6{};
    if (::inet_pton(AF_INET, h.c_str(), &a4) == 1) {
        if ((ntohl(a4.s_addr) >> 24) != 127)
            throw std::runtime_error(fmt::format(
                "refusing host '{}': only loopback targets (127.0.0.0/8, ::1) are allowed", host));
        auto* sa = reinterpret_cast<sockaddr_in*>(&ep.addr);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(port);
        sa->sin_addr = a4;
        ep.addr_len = sizeof(sockaddr_in);
        ep.family = AF_INET;
        return ep;
    }
    if (::inet_pton(AF_INET6, h.c_str(), &a6) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&a6))
            throw std::runtime_error(fmt::format(
                "refusing host '{}': only loopback targets (127.0.0.0/8, ::1) are allowed", host));
        auto* sa = reinterpret_cast<sockaddr_in6*>(&ep.addr);
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(port);
        sa->sin6_addr = a6;
        ep.addr_len = sizeof(sockaddr_in6);
        ep.family = AF_INET6;
        return ep;
    }
    throw std::runtime_error(fmt::format(
        "refusing host '{}': give a numeric loopback address (127.0.0.0/8 or ::1) or 'localhost'", host));
}

std::string make_websocket_key() {
    std::array<uint8_t, 16> nonce{};
    random_bytes(nonce.data(), nonce.size());
    return base64(nonce.data(), nonce.size());
}

// Origin names the same host and port as Host: some servers refuse a handshake without an Origin,
// others (gorilla's default check) refuse one from another origin.
std::string upgrade_request(const Endpoint& ep, std::string_view target, std::string_view key) {
    const std::string host = ep.family == AF_INET6 ? fmt::format("[{}]:{}", ep.host, ep.port)
                                                   : fmt::format("{}:{}", ep.host, ep.port);
    return client_wire::upgrade_request(host, target, key, "http://" + host);
}

HandshakeStatus parse_upgrade_response(std::string_view buf, size_t& header_len) {
    auto end = buf.find("\r\n\r\n");
    if (end == std::string_view::npos) return HandshakeStatus::incomplete;
    header_len = end + 4;
    // "HTTP/1.1 101 Switching Protocols": the status code is what matters
    if (!iequals_prefix(buf, "HTTP/1.")) return HandshakeStatus::rejected;
    auto sp = buf.find(' ');
    if (sp == std::string_view::npos || sp > end) return HandshakeStatus::rejected;
    return buf.substr(sp + 1, 4) == "101 " || buf.substr(sp + 1, 5) == "101\r\n" ? HandshakeStatus::accepted
                                                                                 : HandshakeStatus::rejected;
}

MaskSource::MaskSource() {
    random_bytes(reinterpret_cast<uint8_t*>(&state_), sizeof state_);
    if (state_ == 0) state_ = 0x9E3779B97F4A7C15ULL;
}

long inflate_prefix(const uint8_t* data, size_t len, uint8_t* out, size_t out_len) {
    struct inflater {
        z_stream z{};
        inflater() { inflateInit2(&z, -15); }
        ~inflater() { inflateEnd(&z); }
    };
    thread_local inflater state;
    z_stream& z = state.z;
    inflateReset(&z);
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = static_cast<uInt>(len);
    z.next_out = out;
    z.avail_out = static_cast<uInt>(out_len);
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return -1;
    return static_cast<long>(out_len - z.avail_out);
}

} // namespace wsbench

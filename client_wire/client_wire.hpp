// The client side of the WebSocket wire format (RFC 6455), written once for wshub-bench and the
// test clients: the upgrade request, frame headers and masking, and how long a server frame's
// header is. Plain bytes, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace client_wire {

inline constexpr std::uint8_t fin_bit = 0x80;
// The most a header takes: two bytes, eight of extended length, four of mask key.
inline constexpr std::size_t max_header_size = 14;

// An upgrade request for `target`: Host `host` ("name:port"), Sec-WebSocket-Key `key`, Origin
// `origin` (none when empty), then `extra_fields` (whole "Name: value\r\n" lines).
std::string upgrade_request(std::string_view host, std::string_view target, std::string_view key,
                            std::string_view origin, std::string_view extra_fields = {});

// How long a header is, from its second byte (the mask bit and the length code).
constexpr std::size_t header_size(std::uint8_t second_byte) noexcept {
    const std::uint8_t code = second_byte & 0x7f;
    return (code < 126 ? 2 : code == 126 ? 4 : 10) + ((second_byte & 0x80) != 0 ? 4 : 0);
}

// The payload length a whole header gives.
constexpr std::uint64_t payload_length(const std::uint8_t* header) noexcept {
    const std::uint8_t code = header[1] & 0x7f;
    if (code < 126) return code;
    const int bytes = code == 126 ? 2 : 8;
    std::uint64_t n = 0;
    for (int i = 0; i < bytes; ++i)
        n = (n << 8) | header[2 + i];
    return n;
}

// Writes a header: `first_byte` (FIN, the reserved bits, the opcode), the payload length `n`
// and, when `masked`, the mask bit and the key `mask` (its bytes as they lie in memory).
// `out` has room for max_header_size bytes; returns the header's size.
std::size_t put_header(std::uint8_t* out, std::uint8_t first_byte, std::uint64_t n, bool masked,
                       std::uint32_t mask) noexcept;

// XORs `n` payload bytes with the key, from the payload's first byte on.
void mask_payload(std::uint8_t* p, std::size_t n, std::uint32_t mask) noexcept;

// A final, masked client frame, as a client sends it.
constexpr std::size_t client_header_size(std::size_t n) noexcept {
    return (n < 126 ? 2 : n < 65536 ? 4 : 10) + 4;
}
constexpr std::size_t client_frame_size(std::size_t n) noexcept {
    return client_header_size(n) + n;
}
// Writes its header; the payload that follows must be masked with mask_payload().
inline std::size_t put_client_header(std::uint8_t* out, std::uint8_t opcode, std::size_t n,
                                     std::uint32_t mask) noexcept {
    return put_header(out, fin_bit | opcode, n, true, mask);
}
// Writes the whole frame (client_frame_size(n) bytes) and returns its size.
std::size_t put_client_frame(std::uint8_t* out, std::uint8_t opcode, const std::uint8_t* payload,
                             std::size_t n, std::uint32_t mask) noexcept;

} // namespace client_wire

#include "client_wire.hpp"

#include "wshub/frame_mask.hpp"

#include <array>
#include <cstring>

namespace client_wire {

std::string upgrade_request(std::string_view host, std::string_view target, std::string_view key,
                            std::string_view origin, std::string_view extra_fields) {
    std::string r;
    r.append("GET ").append(target).append(" HTTP/1.1\r\n");
    r.append("Host: ").append(host).append("\r\n");
    r.append("Upgrade: websocket\r\n"
             "Connection: Upgrade\r\n");
    r.append("Sec-WebSocket-Key: ").append(key).append("\r\n");
    r.append("Sec-WebSocket-Version: 13\r\n");
    if (!origin.empty()) r.append("Origin: ").append(origin).append("\r\n");
    return r.append(extra_fields).append("\r\n");
}

std::size_t put_header(std::uint8_t* out, std::uint8_t first_byte, std::uint64_t n, bool masked,
                       std::uint32_t mask) noexcept {
    const std::uint8_t mask_bit = masked ? 0x80 : 0;
    std::size_t h = 0;
    out[h++] = first_byte;
    if (n < 126) {
        out[h++] = static_cast<std::uint8_t>(mask_bit | n);
    } else if (n < 65536) {
        out[h++] = mask_bit | 126;
        out[h++] = static_cast<std::uint8_t>(n >> 8);
        out[h++] = static_cast<std::uint8_t>(n);
    } else {
        out[h++] = mask_bit | 127;
        for (int i = 7; i >= 0; --i)
            out[h++] = static_cast<std::uint8_t>(n >> (8 * i));
    }
    if (!masked) return h;
    std::memcpy(out + h, &mask, 4);
    return h + 4;
}

void mask_payload(std::uint8_t* p, std::size_t n, std::uint32_t mask) noexcept {
    std::array<unsigned char, 4> key;
    std::memcpy(key.data(), &mask, key.size());
    wshub::apply_mask(reinterpret_cast<char*>(p), n, key);
}

std::size_t put_client_frame(std::uint8_t* out, std::uint8_t opcode, const std::uint8_t* payload,
                             std::size_t n, std::uint32_t mask) noexcept {
    const std::size_t h = put_client_header(out, opcode, n, mask);
    if (n > 0) std::memcpy(out + h, payload, n);
    mask_payload(out + h, n, mask);
    return h + n;
}

} // namespace client_wire

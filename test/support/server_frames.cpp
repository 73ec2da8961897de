#include "server_frames.hpp"

#include "client_wire.hpp"

#include <cstring>

namespace wshub_test {

parsed_frames parse_server_frames(std::string_view bytes) {
    parsed_frames out;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const std::size_t left = bytes.size() - pos;
        if (left < 2) break;
        const auto* header = reinterpret_cast<const std::uint8_t*>(bytes.data() + pos);
        const std::size_t header_size = client_wire::header_size(header[1]);
        if (left < header_size) break;
        const std::uint64_t len = client_wire::payload_length(header);
        if (left - header_size < len) break;
        server_frame f;
        f.fin = header[0] & 0x80;
        f.rsv = (header[0] >> 4) & 0x07;
        f.opcode = header[0] & 0x0F;
        f.masked = header[1] & 0x80;
        f.payload.assign(bytes.substr(pos + header_size, static_cast<std::size_t>(len)));
        if (f.masked) {
            std::uint32_t mask;
            std::memcpy(&mask, header + header_size - 4, 4);
            client_wire::mask_payload(reinterpret_cast<std::uint8_t*>(f.payload.data()), f.payload.size(),
                                      mask);
        }
        pos += header_size + static_cast<std::size_t>(len);
        out.frames.push_back(std::move(f));
    }
    out.trailing_bytes = bytes.size() - pos;
    return out;
}

unsigned close_code(const server_frame& f) {
    if (f.payload.size() < 2) return 0;
    return (static_cast<unsigned>(static_cast<std::uint8_t>(f.payload[0])) << 8) |
           static_cast<std::uint8_t>(f.payload[1]);
}

std::string close_reason(const server_frame& f) {
    return f.payload.size() > 2 ? f.payload.substr(2) : std::string();
}

} // namespace wshub_test

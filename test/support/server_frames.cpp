#include "server_frames.hpp"

namespace wshub_test {

parsed_frames parse_server_frames(std::string_view bytes) {
    parsed_frames out;
    auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const std::size_t start = pos;
        if (bytes.size() - pos < 2) break;
        server_frame f;
        f.fin = byte(pos) & 0x80;
        f.rsv = (byte(pos) >> 4) & 0x07;
        f.opcode = byte(pos) & 0x0F;
        f.masked = byte(pos + 1) & 0x80;
        std::uint64_t len = byte(pos + 1) & 0x7F;
        pos += 2;
        const std::size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
        if (bytes.size() - pos < ext) {
            pos = start;
            break;
        }
        if (ext > 0) {
            len = 0;
            for (std::size_t i = 0; i < ext; ++i)
                len = (len << 8) | byte(pos + i);
            pos += ext;
        }
        std::uint8_t mask[4] = {0, 0, 0, 0};
        if (f.masked) {
            if (bytes.size() - pos < 4) {
                pos = start;
                break;
            }
            for (int i = 0; i < 4; ++i)
                mask[i] = byte(pos + static_cast<std::size_t>(i));
            pos += 4;
        }
        if (bytes.size() - pos < len) {
            pos = start;
            break;
        }
        f.payload.assign(bytes.substr(pos, static_cast<std::size_t>(len)));
        if (f.masked)
            for (std::size_t i = 0; i < f.payload.size(); ++i)
                f.payload[i] = static_cast<char>(static_cast<std::uint8_t>(f.payload[i]) ^ mask[i % 4]);
        pos += static_cast<std::size_t>(len);
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

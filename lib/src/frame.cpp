#include "wshub/frame.hpp"

namespace wshub {

void append_frame(std::string& out, opcode op, std::string_view payload) {
    const std::size_t n = payload.size();
    char header[10];
    header[0] = static_cast<char>(0x80 | static_cast<std::uint8_t>(op));
    std::size_t h = 2;
    if (n < 126) {
        header[1] = static_cast<char>(n);
    } else if (n <= 0xFFFF) {
        header[1] = 126;
        header[2] = static_cast<char>(n >> 8);
        header[3] = static_cast<char>(n);
        h = 4;
    } else {
        header[1] = 127;
        for (int i = 0; i < 8; ++i)
            header[2 + i] = static_cast<char>(static_cast<std::uint64_t>(n) >> (56 - 8 * i));
        h = 10;
    }
    out.append(header, h);
    out.append(payload);
}

} // namespace wshub

// Parses the bytes a server sent after the handshake into WebSocket frames (RFC 6455 5.2), for
// tests that read a connection by hand and check what exactly went over the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wshub_test {

struct server_frame {
    bool fin = false;
    bool masked = false; // a server must never mask
    std::uint8_t rsv = 0;
    std::uint8_t opcode = 0;
    std::string payload; // unmasked
};

struct parsed_frames {
    std::vector<server_frame> frames;
    std::size_t trailing_bytes = 0; // bytes of a last frame that was cut short
};

inline constexpr std::uint8_t op_continuation = 0x0, op_text = 0x1, op_binary = 0x2, op_close = 0x8,
                              op_ping = 0x9, op_pong = 0xA;

parsed_frames parse_server_frames(std::string_view bytes);

// The status code of a close frame's payload; 0 if it has none.
unsigned close_code(const server_frame& f);
std::string close_reason(const server_frame& f);

} // namespace wshub_test

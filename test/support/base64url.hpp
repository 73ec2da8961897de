// base64url without padding (RFC 4648 section 5), as JWTs use it: for tokens built by hand in the
// authentication tests and the token fuzzer, in shapes a JWT library would not produce.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wshub_test {

inline std::string b64url(std::string_view in) {
    static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += digits[(acc >> bits) & 0x3F];
        }
    }
    if (bits > 0) out += digits[(acc << (6 - bits)) & 0x3F];
    return out;
}

} // namespace wshub_test

#include "wshub/utf8.hpp"

#include <cstring>

namespace wshub {

bool utf8_validator::feed(std::string_view bytes) noexcept {
    if (!valid_) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* const end = p + bytes.size();
    while (p < end) {
        if (needed_ > 0) {
            const unsigned b = *p++;
            if (b < next_lo_ || b > next_hi_) return valid_ = false;
            next_lo_ = 0x80;
            next_hi_ = 0xBF;
            --needed_;
            continue;
        }
        // Between characters. ASCII, the common case, eight bytes at a time.
        if (end - p >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                p += 8;
                continue;
            }
        }
        const unsigned lead = *p++;
        if (lead < 0x80) continue;
        // The lead byte fixes the length and the range of the second byte; the others are
        // always 80..BF.
        if (lead >= 0xC2 && lead <= 0xDF) {
            needed_ = 1;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            needed_ = 2;
            if (lead == 0xE0) next_lo_ = 0xA0; // no overlong forms
            if (lead == 0xED) next_hi_ = 0x9F; // no surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            needed_ = 3;
            if (lead == 0xF0) next_lo_ = 0x90; // no overlong forms
            if (lead == 0xF4) next_hi_ = 0x8F; // nothing past U+10FFFF
        } else {
            return valid_ = false; // C0, C1 (overlong), F5..FF, or a stray continuation byte
        }
    }
    return true;
}

bool is_valid_utf8(std::string_view bytes) noexcept {
    utf8_validator v;
    return v.feed(bytes) && v.complete();
}

} // namespace wshub

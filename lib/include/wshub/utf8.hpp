// UTF-8 validation (RFC 3629, Unicode's table 3-7: no overlong forms, surrogates or code points
// past U+10FFFF), whole or as the bytes arrive: a text message can be refused at its first byte
// that no valid UTF-8 could continue, rather than after its last fragment.
#pragma once

#include <cstdint>
#include <string_view>

namespace wshub {

// Validates a sequence of bytes given in pieces of any size (a character may be split anywhere).
class utf8_validator {
  public:
    // Takes the next bytes. False once the bytes so far cannot begin valid UTF-8; it stays false.
    bool feed(std::string_view bytes) noexcept;
    // Whether the bytes so far are valid UTF-8 and end on a character boundary.
    bool complete() const noexcept { return valid_ && needed_ == 0; }
    bool valid() const noexcept { return valid_; }
    // Starts a new sequence.
    void reset() noexcept { *this = utf8_validator(); }

  private:
    std::uint8_t needed_ = 0;                      // continuation bytes the current character lacks
    std::uint8_t next_lo_ = 0x80, next_hi_ = 0xBF; // the range its next byte must be in
    bool valid_ = true;
};

// Whether `bytes` is well-formed UTF-8.
bool is_valid_utf8(std::string_view bytes) noexcept;

} // namespace wshub

// What a channel name may be: short, printable and free of separators, so that it is safe in a
// query string, a log line, a Redis key and a JSON string without escaping surprises.
#pragma once

#include <cstddef>
#include <string_view>

namespace wshub {

inline constexpr std::size_t max_channel_name_size = 128;
// The rule below, as refusals state it.
inline constexpr std::string_view channel_name_rule = "1 to 128 letters, digits or _-.:@/";

// 1 to 128 bytes of ASCII letters, digits and `_ - . : @ /`.
constexpr bool is_valid_channel_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_channel_name_size) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '-' || c == '.' || c == ':' || c == '@' || c == '/';
        if (!ok) return false;
    }
    return true;
}

} // namespace wshub

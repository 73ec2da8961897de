// Small ASCII helpers for header values, shared by the parsers of untrusted input.
#pragma once

#include <string_view>

namespace wshub::text {

// Without leading and trailing spaces and tabs (HTTP's optional white space).
constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

constexpr char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace wshub::text

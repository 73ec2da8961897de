// ASCII case folding and HTTP white-space trimming for header values, shared by the parsers of
// untrusted input (origins, Authorization).
#pragma once

#include <string_view>

namespace wshub::ascii {

// Without leading and trailing spaces and tabs (HTTP's optional white space).
constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// ASCII lowercase; every other byte as it is.
constexpr char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace wshub::ascii

// A value a client chose (user id, path, header, close reason) as it goes into a log line. Plain
// words (printable ASCII without spaces, quotes, backslashes or '=') are written as they are;
// anything else is quoted, with quotes, backslashes, control characters and every non-ASCII byte
// escaped, so that it can neither end the line (a %0A in a user_id would forge the next one) nor
// pass for another key=value field.
#pragma once

#include <fmt/format.h>
#include <string_view>

namespace wshub {

struct client_text {
    std::string_view value;
};

} // namespace wshub

template <>
struct fmt::formatter<wshub::client_text> {
    constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }

    static constexpr bool plain(unsigned char c) noexcept {
        return c > 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '=';
    }

    template <typename FormatContext>
    auto format(const wshub::client_text& t, FormatContext& ctx) const {
        auto out = ctx.out();
        bool all_plain = !t.value.empty();
        for (const char ch : t.value)
            all_plain = all_plain && plain(static_cast<unsigned char>(ch));
        if (all_plain) return fmt::format_to(out, "{}", t.value);
        *out++ = '"';
        for (const char ch : t.value) {
            const auto c = static_cast<unsigned char>(ch);
            if (c == '"' || c == '\\') {
                *out++ = '\\';
                *out++ = ch;
            } else if (c == '\n') {
                out = fmt::format_to(out, "\\n");
            } else if (c == '\r') {
                out = fmt::format_to(out, "\\r");
            } else if (c == '\t') {
                out = fmt::format_to(out, "\\t");
            } else if (c < 0x20 || c >= 0x7F) {
                out = fmt::format_to(out, "\\x{:02x}", c);
            } else {
                *out++ = ch;
            }
        }
        *out++ = '"';
        return out;
    }
};

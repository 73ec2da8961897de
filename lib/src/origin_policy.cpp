#include "wshub/origin_policy.hpp"

#include "ascii.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace wshub {

namespace {

bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
using ascii::lower;
using ascii::trim;

// The serialised origin (RFC 6454 section 6.2) that `s` denotes: lowercase scheme and host, no
// default port, no path. Nothing else is accepted, so that two spellings of the same origin compare
// equal and nothing that is not an origin ever matches.
std::optional<std::string> normalise(std::string_view s) {
    const auto sep = s.find("://");
    if (sep == std::string_view::npos || sep == 0) return std::nullopt;
    const auto scheme = s.substr(0, sep);
    if (!is_alpha(scheme[0])) return std::nullopt;
    for (char c : scheme)
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return std::nullopt;

    auto rest = s.substr(sep + 3);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.empty()) return std::nullopt;

    std::string_view host, port;
    if (rest.front() == '[') {
        // IPv6 literal: hex digits, colons and dots (an embedded IPv4 address).
        const auto close = rest.find(']');
        if (close == std::string_view::npos || close < 3) return std::nullopt;
        for (char c : rest.substr(1, close - 1))
            if (!is_hex(c) && c != ':' && c != '.') return std::nullopt;
        host = rest.substr(0, close + 1);
        rest.remove_prefix(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
            if (port.empty()) return std::nullopt;
        }
    } else {
        const auto colon = rest.find(':');
        host = rest.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = rest.substr(colon + 1);
            if (port.empty()) return std::nullopt;
        }
        if (host.empty()) return std::nullopt;
        for (char c : host)
            if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_') return std::nullopt;
    }

    std::string out;
    out.reserve(s.size());
    for (char c : scheme)
        out += lower(c);
    out += "://";
    for (char c : host)
        out += lower(c);

    if (!port.empty()) {
        unsigned long value = 0;
        for (char c : port) {
            if (!is_digit(c)) return std::nullopt;
            value = value * 10 + static_cast<unsigned long>(c - '0');
            if (value > 65535) return std::nullopt;
        }
        if (value == 0) return std::nullopt;
        const auto sch = std::string_view(out).substr(0, scheme.size());
        const bool default_port = (value == 80 && (sch == "http" || sch == "ws")) ||
                                  (value == 443 && (sch == "https" || sch == "wss"));
        if (!default_port) out += ":" + std::to_string(value);
    }
    return out;
}

} // namespace

origin_policy origin_policy::parse(std::string_view list) {
    origin_policy p;
    if (trim(list).empty()) return p;
    p.any_ = false;
    while (true) {
        const auto comma = list.find(',');
        const auto entry = trim(list.substr(0, comma));
        if (entry.empty()) throw std::invalid_argument("--allowed-origins has an empty entry");
        if (entry == "*") {
            p.any_ = true;
        } else {
            auto origin = normalise(entry);
            if (!origin)
                throw std::invalid_argument("--allowed-origins: '" + std::string(entry) +
                                            "' is not an origin (scheme://host[:port], or *)");
            p.origins_.push_back(std::move(*origin));
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    std::sort(p.origins_.begin(), p.origins_.end());
    p.origins_.erase(std::unique(p.origins_.begin(), p.origins_.end()), p.origins_.end());
    return p;
}

bool origin_policy::allowed(std::string_view origin_header) const {
    if (any_) return true;
    const auto value = trim(origin_header);
    if (value.empty()) return false;
    const auto origin = normalise(value);
    return origin && std::binary_search(origins_.begin(), origins_.end(), *origin);
}

} // namespace wshub

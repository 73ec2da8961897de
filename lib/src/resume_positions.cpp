#include "wshub/resume_positions.hpp"

#include <algorithm>
#include <charconv>

namespace wshub {

std::optional<std::uint64_t> resume_positions::position(std::string_view channel) const {
    if (!channel.empty()) {
        const auto it = std::find_if(channels.begin(), channels.end(),
                                     [channel](const auto& p) { return p.first == channel; });
        if (it != channels.end()) return it->second;
    }
    return others;
}

std::variant<resume_positions, std::string> parse_since(std::string_view list,
                                                        const std::vector<std::string>& subscribed) {
    resume_positions r;
    if (list.empty()) return std::string("bad since=: empty");
    for (;;) {
        const auto comma = list.find(',');
        const auto item = list.substr(0, comma);
        const auto colon = item.rfind(':');
        const auto digits = colon == std::string_view::npos ? item : item.substr(colon + 1);
        std::uint64_t seq = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
            return std::string("bad since=: a position is SEQ or CHANNEL:SEQ, SEQ a number");
        if (colon == std::string_view::npos) {
            if (r.others) return std::string("bad since=: more than one bare SEQ");
            r.others = seq;
        } else {
            const std::string channel(item.substr(0, colon));
            if (std::find(subscribed.begin(), subscribed.end(), channel) == subscribed.end())
                return std::string("bad since=: a named channel must be among channels=");
            if (std::any_of(r.channels.begin(), r.channels.end(),
                            [&](const auto& p) { return p.first == channel; }))
                return std::string("bad since=: a channel is named twice");
            r.channels.emplace_back(channel, seq);
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return r;
}

} // namespace wshub

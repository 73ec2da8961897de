// A reconnecting client's since= (and epoch=) parameters: where it stands in each of its streams.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace wshub {

struct resume_positions {
    // A bare SEQ: the position in every stream of the connection that `channels` does not name.
    std::optional<std::uint64_t> others;
    std::vector<std::pair<std::string, std::uint64_t>> channels; // CHANNEL:SEQ items
    std::string epoch; // empty: not given, the positions are taken as this process's

    // The position in a stream ("" is the all-clients stream), if the client gave one.
    std::optional<std::uint64_t> position(std::string_view channel) const;
};

// Parses since=LIST: comma-separated SEQ or CHANNEL:SEQ (split at the last colon, since channel
// names may hold colons), at most one bare SEQ, each channel at most once and among
// `subscribed`. Returns the one-line reason on error.
std::variant<resume_positions, std::string> parse_since(std::string_view list,
                                                        const std::vector<std::string>& subscribed);

} // namespace wshub

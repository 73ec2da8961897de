// Routes arbitrary requests. Input: one byte whose low bit says whether the request asked for a
// WebSocket upgrade, then "METHOD TARGET" (split at the first space).
#include "wshub/channel_name.hpp"
#include "wshub/http_routes.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const bool upgrade = (data[0] & 1) != 0;
    // A copy of exactly the input, so that reading past it is caught.
    const std::string line(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string_view view(line);
    const auto space = view.find(' ');
    const auto method = view.substr(0, space);
    const auto target = space == std::string_view::npos ? std::string_view{} : view.substr(space + 1);

    const auto decision = wshub::route({method, target, upgrade});

    if (const auto* accept = std::get_if<wshub::upgrade_request>(&decision)) {
        // Only a GET upgrade with a user id of bounded size is ever accepted, with valid channels.
        if (!upgrade || method != "GET" || accept->user_id.empty() || accept->user_id.size() > 256)
            __builtin_trap();
        if (accept->channels.size() > wshub::max_channels_per_connection) __builtin_trap();
        for (const auto& c : accept->channels)
            if (!wshub::is_valid_channel_name(c)) __builtin_trap();
        // Every channel a since= position names is one the connection subscribes to.
        if (accept->resume)
            for (const auto& [name, seq] : accept->resume->channels)
                if (std::find(accept->channels.begin(), accept->channels.end(), name) ==
                    accept->channels.end())
                    __builtin_trap();
    } else if (const auto* call = std::get_if<wshub::api_call>(&decision)) {
        if (!target.starts_with("/api/")) __builtin_trap();
        if (!call->channel.empty() && !wshub::is_valid_channel_name(call->channel)) __builtin_trap();
    } else if (std::holds_alternative<wshub::metrics_scrape>(decision)) {
        if (method != "GET" && method != "HEAD") __builtin_trap();
    } else {
        const auto& reply = std::get<wshub::http_reply>(decision);
        switch (reply.status) {
        case 200:
        case 400:
        case 404:
        case 405:
        case 426:
            break;
        default:
            __builtin_trap();
        }
        if (reply.body.empty()) __builtin_trap();
    }
    return 0;
}

// Parses arbitrary publish API bodies (POST /api/publish and /api/disconnect).
#include "wshub/channel_name.hpp"
#include "wshub/publish_request.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A copy of exactly the input, so that reading past it is caught.
    const std::string body(reinterpret_cast<const char*>(data), size);
    const wshub::publish_limits limits{64, 4};
    const auto parsed = wshub::parse_publish_request(body, limits);
    if (const auto* req = std::get_if<wshub::publish_request>(&parsed)) {
        if (req->items.empty() || req->items.size() > limits.max_batch) __builtin_trap();
        if (!req->batch && req->items.size() != 1) __builtin_trap();
        for (const auto& item : req->items) {
            if (item.payload.size() > limits.max_message_size) __builtin_trap();
            if (!item.target.channel.empty() && !wshub::is_valid_channel_name(item.target.channel))
                __builtin_trap();
            for (const auto& u : item.target.user_ids)
                if (u.empty() || u.size() > wshub::max_user_id_size) __builtin_trap();
        }
    } else {
        const auto& e = std::get<wshub::api_error>(parsed);
        if ((e.status != 400 && e.status != 413) || e.reason.empty()) __builtin_trap();
    }
    const auto disconnect = wshub::parse_disconnect_request(body);
    if (const auto* user = std::get_if<std::string>(&disconnect))
        if (user->empty() || user->size() > wshub::max_user_id_size) __builtin_trap();
    return 0;
}

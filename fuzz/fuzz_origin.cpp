// Parses --allowed-origins lists and checks Origin headers against them. Input: the list, a
// newline, then the header value.
#include "wshub/origin_policy.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    const std::string list = input.substr(0, newline);
    const std::string header = newline == std::string::npos ? std::string() : input.substr(newline + 1);

    wshub::origin_policy policy;
    try {
        policy = wshub::origin_policy::parse(list);
    } catch (const std::invalid_argument&) {
        return 0;
    }
    const bool allowed = policy.allowed(header);

    if (policy.allows_any() && !allowed) __builtin_trap();
    if (!policy.allows_any() && policy.allowed("")) __builtin_trap();
    // Normalising is idempotent: every normalised entry is allowed and parses back to itself.
    std::string joined;
    for (const auto& origin : policy.origins()) {
        if (!policy.allowed(origin)) __builtin_trap();
        joined += (joined.empty() ? "" : ",") + origin;
    }
    if (!policy.origins().empty() && wshub::origin_policy::parse(joined).origins() != policy.origins())
        __builtin_trap();
    return 0;
}

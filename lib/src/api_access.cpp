#include "wshub/api_access.hpp"

#include <openssl/crypto.h>

namespace wshub {

std::optional<api_error> check_api_access(const api_caller& caller, const std::string& token) {
    if (token.empty()) {
        if (caller.peer.is_loopback() && !caller.forwarded) return std::nullopt;
        return api_error{401,
                         "the API answers loopback clients only: set --api-token to call it from elsewhere"};
    }
    constexpr std::string_view scheme = "Bearer ";
    const auto given = caller.authorization;
    if (given.size() <= scheme.size()) return api_error{401, "missing bearer token"};
    // The scheme is case-insensitive (RFC 9110 section 11.1).
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if ((given[i] | 0x20) != (scheme[i] | 0x20)) return api_error{401, "missing bearer token"};
    const auto presented = given.substr(scheme.size());
    // Constant time, so the answer's timing does not tell how much of a guess was right.
    if (presented.size() != token.size() || CRYPTO_memcmp(presented.data(), token.data(), token.size()) != 0)
        return api_error{401, "wrong bearer token"};
    return std::nullopt;
}

} // namespace wshub

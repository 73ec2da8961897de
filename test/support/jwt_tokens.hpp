// Tokens for the authentication tests, made by libjwt itself as an issuer using it would. Shared
// by the unit tests of the verifier and the integration tests of the upgrade checks.
#pragma once

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <jwt.h>
#include <map>
#include <memory>
#include <string>

namespace wshub_test {

struct claims {
    std::map<std::string, std::string> strings;
    std::map<std::string, long> numbers;
};

// `key` is the HMAC secret or a PEM private key; empty for alg none.
inline std::string make_token(jwt_alg_t alg, const std::string& key, const claims& c) {
    jwt_t* raw = nullptr;
    BOOST_REQUIRE(jwt_new(&raw) == 0);
    std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, &jwt_free);
    const auto* key_bytes = key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data());
    BOOST_REQUIRE(jwt_set_alg(jwt.get(), alg, key_bytes, static_cast<int>(key.size())) == 0);
    for (const auto& [k, v] : c.strings)
        BOOST_REQUIRE(jwt_add_grant(jwt.get(), k.c_str(), v.c_str()) == 0);
    for (const auto& [k, v] : c.numbers)
        BOOST_REQUIRE(jwt_add_grant_int(jwt.get(), k.c_str(), v) == 0);
    char* out = jwt_encode_str(jwt.get());
    BOOST_REQUIRE(out != nullptr);
    std::string token(out);
    std::free(out);
    return token;
}

} // namespace wshub_test

// Tokens for the authentication tests, made by libjwt itself as an issuer using it would. Shared
// by the unit tests of the verifier and the integration tests of the upgrade checks.
#pragma once

#include "base64url.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <jwt.h>
#include <map>
#include <memory>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string>
#include <string_view>

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

// A token with exactly this header and payload JSON, HS256-signed by hand: for shapes libjwt does
// not produce (no typ, typ at+jwt, duplicate or odd members).
inline std::string hs256_token(std::string_view header_json, std::string_view payload_json,
                               const std::string& secret) {
    const std::string input = b64url(header_json) + "." + b64url(payload_json);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    BOOST_REQUIRE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len));
    return input + "." + b64url(std::string_view(reinterpret_cast<const char*>(mac), len));
}

} // namespace wshub_test

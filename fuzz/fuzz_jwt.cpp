// Verifies arbitrary tokens with an HS256 verifier, and extracts tokens from arbitrary headers.
// The first input byte picks the mode (modulo 3):
//   0: the rest is a token, verified as is;
//   1: the rest is header JSON, a newline, then claims JSON, signed here with the verifier's
//      secret, so that the claim checks behind the signature are reached too;
//   2: the rest is an Authorization header, a newline, then a token= query value.
#include "base64url.hpp"
#include "wshub/auth.hpp"

#include <cstddef>
#include <cstdint>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string>

namespace {

using wshub_test::b64url;

constexpr std::int64_t now = 1'700'000'000;
const std::string secret = "fuzzing-secret-fuzzing-secret-0123456789";

const wshub::jwt_verifier& verifier() {
    static const auto v = wshub::jwt_verifier::hs256(secret);
    return v;
}

// The same secret with every optional check turned the other way, so those paths are reached too.
const wshub::jwt_verifier& strict_verifier() {
    static const auto v = [] {
        wshub::jwt_options o;
        o.leeway = std::chrono::seconds(0);
        o.require_exp = false;
        o.issuer = "https://idp.example";
        o.audience = "wshub";
        return wshub::jwt_verifier::hs256(secret, o);
    }();
    return v;
}

void check(const std::variant<wshub::verified_identity, wshub::auth_error>& result) {
    if (const auto* id = std::get_if<wshub::verified_identity>(&result)) {
        if (id->sub.empty() || id->sub.size() > verifier().options().max_sub_bytes) __builtin_trap();
    } else {
        const auto& reason = std::get<wshub::auth_error>(result).reason;
        if (reason.empty() || reason.find('\n') != std::string::npos) __builtin_trap();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto newline = rest.find('\n');
    const std::string first = rest.substr(0, newline);
    const std::string second = newline == std::string::npos ? std::string() : rest.substr(newline + 1);

    switch (data[0] % 3) {
    case 0: {
        check(verifier().verify(rest, now));
        break;
    }
    case 1: {
        const std::string input = b64url(first) + "." + b64url(second);
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len))
            __builtin_trap();
        const std::string token = input + "." + b64url(std::string_view(reinterpret_cast<char*>(mac), len));
        check(verifier().verify(token, now));
        check(strict_verifier().verify(token, now));
        break;
    }
    default: {
        const auto token = wshub::extract_token(first, second);
        if (token) {
            // The result is a non-empty piece of one of the inputs.
            const auto inside = [&](const std::string& s) {
                return token->data() >= s.data() && token->data() + token->size() <= s.data() + s.size();
            };
            if (token->empty() || !(inside(first) || inside(second))) __builtin_trap();
            check(verifier().verify(*token, now));
        }
        break;
    }
    }
    return 0;
}

// Authenticating a WebSocket client by a JWT (RFC 7519) in its handshake: where the token is taken
// from, and its verification against one configured key. Pure: no I/O, the time is passed in.
#pragma once

#include "wshub/pem_key.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace wshub {

// The token of a request: the Authorization header's Bearer credentials (scheme matched without
// regard to case), else `query_token`, the decoded value of the target's token= parameter, which
// browsers need because their WebSocket API cannot set headers.
//
// The header wins: a request that sends a Bearer header meant that token, so a Bearer header with
// no token yields nothing rather than the query's token. A header with another scheme (Basic, say)
// is not ours and is ignored. An empty query value counts as no token. The result refers into the
// arguments.
std::optional<std::string_view> extract_token(std::string_view authorization_header,
                                              std::string_view query_token) noexcept;

struct verified_identity {
    std::string sub;
    std::optional<std::int64_t> expires_at; // the exp claim, Unix seconds (rounded down)
};

enum class auth_failure {
    missing_token,
    malformed,       // not a JWS compact token with JSON header and claims, a bad claim type, or a typ
                     // other than JWT or at+jwt
    bad_signature,   // the signature does not verify with the configured key
    wrong_algorithm, // alg is none, or not of the configured key's family
    expired,
    not_yet_valid,
    missing_exp,    // required by jwt_options::require_exp
    wrong_issuer,   // iss is not jwt_options::issuer
    wrong_audience, // aud does not name jwt_options::audience
    missing_sub,    // no sub claim, or not a non-empty string
    invalid_sub,    // sub longer than jwt_options::max_sub_bytes
};

struct auth_error {
    auth_failure code;
    std::string reason; // one line, for the log and the 401 body; never repeats token content
};

struct jwt_options {
    // Clock skew tolerated between the token issuer and this server, for exp and nbf (0 to 300 s).
    std::chrono::seconds leeway{30};
    // A token without exp would be valid forever, so one is required unless turned off.
    bool require_exp = true;
    // Longer tokens are refused before any parsing or crypto work.
    std::size_t max_token_bytes = 8192;
    // sub becomes the connection's user id; the same cap as a user_id in the URL.
    std::size_t max_sub_bytes = 256;
    // When set, the iss claim must be exactly this.
    std::string issuer;
    // When set, the aud claim (a string, or an array of strings) must contain exactly this. Set it
    // whenever the key also signs tokens for other services, as an identity provider's key does:
    // otherwise a token issued for any of them is accepted here.
    std::string audience;
};

// Verifies tokens against one key. The accepted algorithms follow from the key alone, and the
// token's alg header is checked against them before the signature is: a token's own alg must never
// choose how the key is used, or an HS256 token "signed" with an RSA public key's PEM bytes would
// verify (algorithm confusion), and alg none would skip verification altogether. Signatures are
// checked with OpenSSL directly. Thread-safe: verify() is const and shares nothing mutable.
class jwt_verifier {
  public:
    // HMAC-SHA256 with a shared secret of at least 32 bytes (RFC 7518 section 3.2: the key must
    // be at least as long as the hash). Only HS256 tokens are accepted.
    static jwt_verifier hs256(std::string secret, jwt_options options = {});

    // A PEM public key or certificate (see pem_public_key): its algorithms only.
    static jwt_verifier public_key(std::string_view pem, jwt_options options = {});
    static jwt_verifier public_key(pem_public_key key, jwt_options options = {});

    // All throw std::invalid_argument saying what is wrong with the key or the options.

    // Checks the token's form, its typ (absent, JWT or at+jwt, RFC 9068), its alg against the key,
    // the signature, then exp and nbf against `now_unix` (Unix seconds) with the leeway, iss and aud
    // when configured, and sub; the first failure is returned. No claim is acted on before the
    // signature has verified.
    std::variant<verified_identity, auth_error> verify(std::string_view token, std::int64_t now_unix) const;

    // The alg values accepted, e.g. {"RS256", "RS384", "RS512"}, for logging the configuration.
    const std::vector<std::string>& algorithms() const noexcept { return algorithms_; }

    const jwt_options& options() const noexcept { return options_; }

  private:
    jwt_verifier(std::string secret, std::optional<pem_public_key> key, std::vector<std::string> algorithms,
                 jwt_options options);
    bool signature_verifies(std::string_view alg, std::string_view signed_part,
                            const std::string& signature) const;

    std::string secret_;                // HS256
    std::optional<pem_public_key> key_; // RS*, ES*
    std::vector<std::string> algorithms_;
    jwt_options options_;
};

} // namespace wshub

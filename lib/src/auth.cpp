#include "wshub/auth.hpp"

#include "ascii.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <memory>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdexcept>

namespace json = boost::json;

namespace wshub {

namespace {

using ascii::trim;

bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return ascii::lower(x) == ascii::lower(y); });
}

// Value of a base64url digit (RFC 4648 section 5), or -1.
int b64url_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

// Strict decoding as JWS requires it: no padding, no other characters, and unused bits zero, so
// that every accepted segment has exactly one spelling.
std::optional<std::string> b64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(in.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        const int v = b64url_value(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

bool is_b64url(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) { return b64url_value(c) >= 0; });
}

std::optional<json::object> decode_json_object(std::string_view segment) {
    auto bytes = b64url_decode(segment);
    if (!bytes) return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(*bytes, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

// A NumericDate claim (RFC 7519 section 2): any JSON number, fractions allowed.
std::optional<double> numeric_date(const json::value& v) noexcept {
    double d = 0;
    switch (v.kind()) {
    case json::kind::int64:
        d = static_cast<double>(v.get_int64());
        break;
    case json::kind::uint64:
        d = static_cast<double>(v.get_uint64());
        break;
    case json::kind::double_:
        d = v.get_double();
        break;
    default:
        return std::nullopt;
    }
    if (!std::isfinite(d)) return std::nullopt;
    return d;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

auth_error fail(auth_failure code, std::string reason) {
    return auth_error{code, std::move(reason)};
}

struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct ecdsa_sig_free {
    void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

const EVP_MD* digest_of(std::string_view alg) noexcept {
    const auto bits = alg.substr(2);
    if (bits == "256") return EVP_sha256();
    if (bits == "384") return EVP_sha384();
    if (bits == "512") return EVP_sha512();
    return nullptr;
}

// JWS carries an ECDSA signature as R || S, each as wide as the curve's order (RFC 7518 section
// 3.4); OpenSSL verifies the DER encoding. Empty if the signature has the wrong length.
std::string ecdsa_der(std::string_view alg, const std::string& raw) {
    const std::size_t half = alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66;
    if (raw.size() != 2 * half) return {};
    const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
    std::unique_ptr<ECDSA_SIG, ecdsa_sig_free> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(half), nullptr);
    BIGNUM* s = BN_bin2bn(bytes + half, static_cast<int>(half), nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        throw std::bad_alloc();
    }
    const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) return {};
    std::string der(static_cast<std::size_t>(len), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_ECDSA_SIG(sig.get(), &out);
    return der;
}

void check_options(const jwt_options& o) {
    if (o.leeway.count() < 0 || o.leeway.count() > 300)
        throw std::invalid_argument("JWT leeway must be between 0 and 300 seconds");
    if (o.max_token_bytes < 64) throw std::invalid_argument("JWT max_token_bytes must be at least 64");
    if (o.max_sub_bytes < 1) throw std::invalid_argument("JWT max_sub_bytes must be at least 1");
}

} // namespace

std::optional<std::string_view> extract_token(std::string_view authorization_header,
                                              std::string_view query_token) noexcept {
    constexpr std::string_view scheme = "bearer";
    const auto header = trim(authorization_header);
    if (header.size() >= scheme.size() && iequals(header.substr(0, scheme.size()), scheme) &&
        (header.size() == scheme.size() || header[scheme.size()] == ' ' || header[scheme.size()] == '\t')) {
        const auto token = trim(header.substr(scheme.size()));
        if (token.empty()) return std::nullopt;
        return token;
    }
    if (query_token.empty()) return std::nullopt;
    return query_token;
}

jwt_verifier::jwt_verifier(std::string secret, std::optional<pem_public_key> key,
                           std::vector<std::string> algorithms, jwt_options options)
    : secret_(std::move(secret))
    , key_(std::move(key))
    , algorithms_(std::move(algorithms))
    , options_(std::move(options)) {}

jwt_verifier jwt_verifier::hs256(std::string secret, jwt_options options) {
    check_options(options);
    if (secret.size() < 32) throw std::invalid_argument("JWT HS256 secret must be at least 32 bytes");
    if (secret.size() > 4096) throw std::invalid_argument("JWT HS256 secret must be at most 4096 bytes");
    return jwt_verifier(std::move(secret), std::nullopt, {"HS256"}, std::move(options));
}

jwt_verifier jwt_verifier::public_key(std::string_view pem, jwt_options options) {
    return public_key(pem_public_key::parse(pem), std::move(options));
}

jwt_verifier jwt_verifier::public_key(pem_public_key key, jwt_options options) {
    check_options(options);
    auto algorithms = key.algorithms();
    return jwt_verifier({}, std::move(key), std::move(algorithms), std::move(options));
}

// `alg` is one of algorithms_, so it matches the kind of key held.
bool jwt_verifier::signature_verifies(std::string_view alg, std::string_view signed_part,
                                      const std::string& signature) const {
    const EVP_MD* md = digest_of(alg);
    if (!md) return false;
    if (!key_) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        if (!HMAC(md, secret_.data(), static_cast<int>(secret_.size()),
                  reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
                  &mac_len))
            return false;
        return signature.size() == mac_len && CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
    }
    const std::string der = alg[0] == 'E' ? ecdsa_der(alg, signature) : std::string();
    const std::string& sig = alg[0] == 'E' ? der : signature;
    if (sig.empty()) return false;
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
    if (!ctx) throw std::bad_alloc();
    const bool ok =
        EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key_->get()) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
    ERR_clear_error(); // a bad signature is an answer, not an error to keep on this thread
    return ok;
}

std::variant<verified_identity, auth_error> jwt_verifier::verify(std::string_view token,
                                                                 std::int64_t now_unix) const {
    if (token.empty()) return fail(auth_failure::missing_token, "no token");
    if (token.size() > options_.max_token_bytes)
        return fail(auth_failure::malformed,
                    "token is longer than " + std::to_string(options_.max_token_bytes) + " bytes");

    // Compact serialisation: exactly header.payload.signature.
    const auto dot1 = token.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return fail(auth_failure::malformed, "token is not header.payload.signature");
    const auto header_part = token.substr(0, dot1);
    const auto payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const auto signature_part = token.substr(dot2 + 1);

    const auto header = decode_json_object(header_part);
    if (!header) return fail(auth_failure::malformed, "token header is not base64url-encoded JSON");

    // The algorithm is decided here, from the configured key, before any signature work.
    const auto* alg = header->if_contains("alg");
    if (!alg || !alg->is_string()) return fail(auth_failure::malformed, "token header has no alg");
    const std::string_view alg_name = alg->get_string();
    if (iequals(alg_name, "none"))
        return fail(auth_failure::wrong_algorithm, "unsigned tokens (alg none) are not accepted");
    if (std::find(algorithms_.begin(), algorithms_.end(), alg_name) == algorithms_.end())
        return fail(auth_failure::wrong_algorithm,
                    "token algorithm is not accepted (expected " + joined(algorithms_) + ")");
    if (header->contains("crit"))
        return fail(auth_failure::malformed, "token header has critical extensions, none are supported");
    // RFC 9068 access tokens say at+jwt; plain ID-style tokens JWT or nothing.
    if (const auto* typ = header->if_contains("typ");
        typ &&
        (!typ->is_string() || !(iequals(typ->get_string(), "JWT") || iequals(typ->get_string(), "at+jwt"))))
        return fail(auth_failure::malformed, "token typ is not JWT or at+jwt");

    if (signature_part.empty()) return fail(auth_failure::bad_signature, "token has no signature");
    const auto signature = b64url_decode(signature_part);
    if (!signature && !is_b64url(signature_part))
        return fail(auth_failure::malformed, "token signature is not base64url");
    // A cut-off signature is a bad one, like any other bytes that do not verify.
    if (!signature) return fail(auth_failure::bad_signature, "token signature does not verify");
    const auto claims = decode_json_object(payload_part);
    if (!claims) return fail(auth_failure::malformed, "token claims are not base64url-encoded JSON");
    if (!signature_verifies(alg_name, token.substr(0, dot2), *signature))
        return fail(auth_failure::bad_signature, "token signature does not verify");

    // The claims below are read from the verified payload bytes.
    const double now = static_cast<double>(now_unix);
    const double leeway = static_cast<double>(options_.leeway.count());
    verified_identity id;
    if (const auto* exp = claims->if_contains("exp")) {
        const auto when = numeric_date(*exp);
        if (!when) return fail(auth_failure::malformed, "token exp is not a number");
        if (now >= *when + leeway) return fail(auth_failure::expired, "token has expired");
        id.expires_at = static_cast<std::int64_t>(std::clamp(std::floor(*when), -9.2e18, 9.2e18));
    } else if (options_.require_exp) {
        return fail(auth_failure::missing_exp, "token has no exp (expiry) claim");
    }
    if (const auto* nbf = claims->if_contains("nbf")) {
        const auto when = numeric_date(*nbf);
        if (!when) return fail(auth_failure::malformed, "token nbf is not a number");
        if (now + leeway < *when) return fail(auth_failure::not_yet_valid, "token is not valid yet");
    }
    if (!options_.issuer.empty()) {
        const auto* iss = claims->if_contains("iss");
        if (!iss || !iss->is_string() || iss->get_string() != options_.issuer)
            return fail(auth_failure::wrong_issuer, "token was not issued by the expected issuer");
    }
    if (!options_.audience.empty()) {
        const auto names_audience = [this](const json::value& v) {
            return v.is_string() && v.get_string() == options_.audience;
        };
        const auto* aud = claims->if_contains("aud");
        const bool ok = aud && (names_audience(*aud) ||
                                (aud->is_array() && std::any_of(aud->get_array().begin(),
                                                                aud->get_array().end(), names_audience)));
        if (!ok) return fail(auth_failure::wrong_audience, "token is not meant for this audience");
    }
    const auto* sub = claims->if_contains("sub");
    if (!sub || !sub->is_string() || sub->get_string().empty())
        return fail(auth_failure::missing_sub, "token has no sub (subject) claim");
    if (sub->get_string().size() > options_.max_sub_bytes)
        return fail(auth_failure::invalid_sub,
                    "token sub is longer than " + std::to_string(options_.max_sub_bytes) + " bytes");
    id.sub = sub->get_string();
    return id;
}

} // namespace wshub

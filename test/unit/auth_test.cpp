#include "base64url.hpp"
#include "jwt_tokens.hpp"
#include "wshub/auth.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <jwt.h>
#include <map>
#include <memory>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdexcept>
#include <string>

using namespace wshub;
using wshub_test::b64url;
using wshub_test::claims;
using wshub_test::make_token;

namespace {

constexpr std::int64_t now = 1'700'000'000;
const std::string secret = "0123456789abcdef0123456789abcdef-test-secret";

claims standard_claims(std::string sub = "alice") {
    return claims{{{"sub", std::move(sub)}}, {{"exp", now + 3600}, {"iat", now}}};
}

std::string hand_signed(std::string_view header_json, std::string_view payload_json, const std::string& key) {
    return wshub_test::hs256_token(header_json, payload_json, key);
}

std::string payload_with(std::string_view extra) {
    return "{\"sub\":\"alice\",\"exp\":" + std::to_string(now + 3600) + (extra.empty() ? "" : ",") +
           std::string(extra) + "}";
}

struct key_pair {
    std::string private_pem;
    std::string public_pem;
    std::shared_ptr<EVP_PKEY> pkey;
};

std::string bio_string(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

key_pair to_pair(EVP_PKEY* k) {
    BOOST_REQUIRE(k != nullptr);
    key_pair kp;
    kp.pkey.reset(k, &EVP_PKEY_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), &BIO_free);
    BOOST_REQUIRE(PEM_write_bio_PrivateKey(priv.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    BOOST_REQUIRE(PEM_write_bio_PUBKEY(pub.get(), k) == 1);
    kp.private_pem = bio_string(priv.get());
    kp.public_pem = bio_string(pub.get());
    return kp;
}

// Generated once per run: no key material is checked in.
const key_pair& rsa_key() {
    static const key_pair kp = to_pair(EVP_RSA_gen(2048));
    return kp;
}
const key_pair& ec_key(const char* curve) {
    static std::map<std::string, key_pair> keys;
    auto it = keys.find(curve);
    if (it == keys.end()) it = keys.emplace(curve, to_pair(EVP_EC_gen(curve))).first;
    return it->second;
}

std::string self_signed_cert(const key_pair& kp) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
    BOOST_REQUIRE(cert);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), kp.pkey.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("issuer"), -1,
                               -1, 0);
    X509_set_issuer_name(cert.get(), name);
    BOOST_REQUIRE(X509_sign(cert.get(), kp.pkey.get(), EVP_sha256()) > 0);
    std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
    BOOST_REQUIRE(PEM_write_bio_X509(out.get(), cert.get()) == 1);
    return bio_string(out.get());
}

auth_failure failure_of(const jwt_verifier& v, std::string_view token, std::int64_t at = now) {
    auto r = v.verify(token, at);
    if (std::holds_alternative<verified_identity>(r)) {
        BOOST_ERROR("token was accepted: " << token);
        return auth_failure::missing_token;
    }
    const auto& e = std::get<auth_error>(r);
    BOOST_TEST(!e.reason.empty());
    BOOST_TEST(e.reason.find('\n') == std::string::npos);
    return e.code;
}

std::string sub_of(const jwt_verifier& v, std::string_view token, std::int64_t at = now) {
    auto r = v.verify(token, at);
    if (auto* e = std::get_if<auth_error>(&r)) {
        BOOST_ERROR("token was refused: " << e->reason);
        return {};
    }
    return std::get<verified_identity>(r).sub;
}

#define CHECK_FAILS(verifier, token, expected)                                                               \
    BOOST_TEST((failure_of(verifier, token) == auth_failure::expected))

} // namespace

BOOST_AUTO_TEST_SUITE(jwt_auth)

BOOST_AUTO_TEST_CASE(hs256_valid_token_yields_sub_and_expiry) {
    auto v = jwt_verifier::hs256(secret);
    auto r = v.verify(make_token(JWT_ALG_HS256, secret, standard_claims("alice")), now);
    BOOST_REQUIRE(std::holds_alternative<verified_identity>(r));
    const auto& id = std::get<verified_identity>(r);
    BOOST_TEST(id.sub == "alice");
    BOOST_REQUIRE(id.expires_at.has_value());
    BOOST_TEST(*id.expires_at == now + 3600);
}

BOOST_AUTO_TEST_CASE(expired_tokens_are_refused_after_the_leeway) {
    jwt_options o;
    o.leeway = std::chrono::seconds(30);
    auto v = jwt_verifier::hs256(secret, o);
    auto token = make_token(JWT_ALG_HS256, secret, {{{"sub", "alice"}}, {{"exp", now - 100}}});
    CHECK_FAILS(v, token, expired);
    BOOST_TEST(sub_of(v, token, now - 100 - 29) == "alice"); // within the leeway
    CHECK_FAILS(v, make_token(JWT_ALG_HS256, secret, {{{"sub", "alice"}}, {{"exp", now - 30}}}), expired);

    jwt_options strict;
    strict.leeway = std::chrono::seconds(0);
    auto s = jwt_verifier::hs256(secret, strict);
    CHECK_FAILS(s, make_token(JWT_ALG_HS256, secret, {{{"sub", "alice"}}, {{"exp", now}}}), expired);
    BOOST_TEST(sub_of(s, make_token(JWT_ALG_HS256, secret, {{{"sub", "alice"}}, {{"exp", now + 1}}})) ==
               "alice");
}

BOOST_AUTO_TEST_CASE(tokens_not_yet_valid_are_refused) {
    auto v = jwt_verifier::hs256(secret); // 30 s leeway
    auto future =
        make_token(JWT_ALG_HS256, secret, {{{"sub", "alice"}}, {{"exp", now + 3600}, {"nbf", now + 100}}});
    CHECK_FAILS(v, future, not_yet_valid);
    BOOST_TEST(sub_of(v, future, now + 71) == "alice");
    auto skewed =
        make_token(JWT_ALG_HS256, secret, {{{"sub", "alice"}}, {{"exp", now + 3600}, {"nbf", now + 10}}});
    BOOST_TEST(sub_of(v, skewed) == "alice");
}

BOOST_AUTO_TEST_CASE(fractional_dates_are_numbers_too) {
    auto v = jwt_verifier::hs256(secret);
    BOOST_TEST(sub_of(v, hand_signed(R"({"alg":"HS256","typ":"JWT"})",
                                     R"({"sub":"alice","exp":1700003600.5,"nbf":1699999999.25})", secret)) ==
               "alice");
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256"})", R"({"sub":"alice","exp":1699990000.5})", secret),
                expired);
}

BOOST_AUTO_TEST_CASE(dates_of_another_type_are_malformed_not_absent) {
    auto v = jwt_verifier::hs256(secret);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256"})", R"({"sub":"a","exp":"1700003600"})", secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256"})", R"({"sub":"a","exp":null})", secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256"})", payload_with(R"("nbf":true)"), secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256"})", payload_with(R"("nbf":[1])"), secret), malformed);
}

BOOST_AUTO_TEST_CASE(exp_is_required_unless_turned_off) {
    auto token = make_token(JWT_ALG_HS256, secret, {{{"sub", "alice"}}, {}});
    CHECK_FAILS(jwt_verifier::hs256(secret), token, missing_exp);
    jwt_options o;
    o.require_exp = false;
    auto r = jwt_verifier::hs256(secret, o).verify(token, now);
    BOOST_REQUIRE(std::holds_alternative<verified_identity>(r));
    BOOST_TEST(!std::get<verified_identity>(r).expires_at.has_value());
}

BOOST_AUTO_TEST_CASE(bad_signatures_are_refused) {
    auto v = jwt_verifier::hs256(secret);
    CHECK_FAILS(v, make_token(JWT_ALG_HS256, secret + "x", standard_claims()), bad_signature);

    // Same signature, claims changed.
    auto token = make_token(JWT_ALG_HS256, secret, standard_claims("alice"));
    auto forged = make_token(JWT_ALG_HS256, secret, standard_claims("mallory"));
    const auto sig = token.substr(token.rfind('.'));
    CHECK_FAILS(v, forged.substr(0, forged.rfind('.')) + sig, bad_signature);

    // Signature cut short or flipped.
    CHECK_FAILS(v, token.substr(0, token.size() - 4), bad_signature);
    auto flipped = token;
    flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
    CHECK_FAILS(v, flipped, bad_signature);
    CHECK_FAILS(v, token.substr(0, token.rfind('.') + 1), bad_signature); // empty signature
}

BOOST_AUTO_TEST_CASE(alg_none_is_refused) {
    const std::string payload = b64url(payload_with(""));
    auto hs = jwt_verifier::hs256(secret);
    auto rs = jwt_verifier::public_key(rsa_key().public_pem);
    for (auto alg : {"none", "None", "NONE", "nOnE"}) {
        const std::string header = b64url(std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})");
        for (const auto& v : {hs, rs}) {
            CHECK_FAILS(v, header + "." + payload + ".", wrong_algorithm);
            CHECK_FAILS(v, header + "." + payload + ".c2ln", wrong_algorithm);
        }
    }
}

BOOST_AUTO_TEST_CASE(hs256_signed_with_the_rsa_public_key_is_refused) {
    const auto& kp = rsa_key();
    auto v = jwt_verifier::public_key(kp.public_pem);
    const auto forged = make_token(JWT_ALG_HS256, kp.public_pem, standard_claims("admin"));

    // The attack is real with libjwt alone: its own check accepts the forged token.
    jwt_t* raw = nullptr;
    const int rc =
        jwt_decode(&raw, forged.c_str(), reinterpret_cast<const unsigned char*>(kp.public_pem.data()),
                   static_cast<int>(kp.public_pem.size()));
    jwt_free(raw);
    BOOST_TEST(rc == 0);

    CHECK_FAILS(v, forged, wrong_algorithm);
    for (auto alg : {JWT_ALG_HS384, JWT_ALG_HS512})
        CHECK_FAILS(v, make_token(alg, kp.public_pem, standard_claims("admin")), wrong_algorithm);
}

BOOST_AUTO_TEST_CASE(duplicate_alg_headers_cannot_smuggle_hmac_past_the_check) {
    // Whichever duplicate each JSON parser keeps, the algorithm libjwt verified with must be the
    // one checked, or the token is refused.
    const auto& kp = rsa_key();
    auto v = jwt_verifier::public_key(kp.public_pem);
    for (auto header : {R"({"alg":"RS256","alg":"HS256"})", R"({"alg":"HS256","alg":"RS256"})"}) {
        auto r = v.verify(hand_signed(header, payload_with(""), kp.public_pem), now);
        BOOST_TEST(std::holds_alternative<auth_error>(r), header);
    }
}

BOOST_AUTO_TEST_CASE(rsa_keys_take_the_rs_family) {
    const auto& kp = rsa_key();
    auto v = jwt_verifier::public_key(kp.public_pem);
    BOOST_TEST(v.algorithms() == (std::vector<std::string>{"RS256", "RS384", "RS512"}));
    for (auto alg : {JWT_ALG_RS256, JWT_ALG_RS384, JWT_ALG_RS512})
        BOOST_TEST(sub_of(v, make_token(alg, kp.private_pem, standard_claims("bob"))) == "bob");

    // Signed by another RSA key.
    const auto other = to_pair(EVP_RSA_gen(2048));
    CHECK_FAILS(v, make_token(JWT_ALG_RS256, other.private_pem, standard_claims()), bad_signature);
    // An HS256 verifier does not take RS256 tokens.
    CHECK_FAILS(jwt_verifier::hs256(secret), make_token(JWT_ALG_RS256, kp.private_pem, standard_claims()),
                wrong_algorithm);
    // Nor does the RSA verifier take ES256.
    CHECK_FAILS(v, make_token(JWT_ALG_ES256, ec_key("P-256").private_pem, standard_claims()),
                wrong_algorithm);
}

BOOST_AUTO_TEST_CASE(ec_keys_take_the_algorithm_of_their_curve) {
    const auto& p256 = ec_key("P-256");
    auto v = jwt_verifier::public_key(p256.public_pem);
    BOOST_TEST(v.algorithms() == (std::vector<std::string>{"ES256"}));
    BOOST_TEST(sub_of(v, make_token(JWT_ALG_ES256, p256.private_pem, standard_claims("carol"))) == "carol");
    const auto other = to_pair(EVP_EC_gen("P-256"));
    CHECK_FAILS(v, make_token(JWT_ALG_ES256, other.private_pem, standard_claims()), bad_signature);
    CHECK_FAILS(v, make_token(JWT_ALG_ES384, ec_key("P-384").private_pem, standard_claims()),
                wrong_algorithm);
    CHECK_FAILS(v, make_token(JWT_ALG_HS256, p256.public_pem, standard_claims()), wrong_algorithm);

    const auto& p384 = ec_key("P-384");
    auto v384 = jwt_verifier::public_key(p384.public_pem);
    BOOST_TEST(v384.algorithms() == (std::vector<std::string>{"ES384"}));
    BOOST_TEST(sub_of(v384, make_token(JWT_ALG_ES384, p384.private_pem, standard_claims("dave"))) == "dave");

    const auto& p521 = ec_key("P-521");
    auto v521 = jwt_verifier::public_key(p521.public_pem);
    BOOST_TEST(v521.algorithms() == (std::vector<std::string>{"ES512"}));
    const auto es512 = make_token(JWT_ALG_ES512, p521.private_pem, standard_claims("frank"));
    BOOST_TEST(sub_of(v521, es512) == "frank");
    // R || S of the wrong width (here one byte short) is no signature, whatever its content.
    const auto sig = es512.substr(es512.rfind('.') + 1);
    CHECK_FAILS(v521, es512.substr(0, es512.rfind('.') + 1) + sig.substr(0, sig.size() - 2), bad_signature);
}

BOOST_AUTO_TEST_CASE(pem_keys_name_their_algorithms) {
    BOOST_TEST(pem_public_key::parse(rsa_key().public_pem).algorithms() ==
               (std::vector<std::string>{"RS256", "RS384", "RS512"}));
    BOOST_TEST(pem_public_key::parse(ec_key("P-521").public_pem).algorithms() ==
               (std::vector<std::string>{"ES512"}));
    BOOST_TEST(pem_public_key::parse(self_signed_cert(rsa_key())).get() != nullptr);
    BOOST_CHECK_THROW(pem_public_key::parse("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
                      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_certificate_supplies_its_key) {
    const auto& kp = rsa_key();
    auto v = jwt_verifier::public_key(self_signed_cert(kp));
    BOOST_TEST(sub_of(v, make_token(JWT_ALG_RS256, kp.private_pem, standard_claims("erin"))) == "erin");
}

BOOST_AUTO_TEST_CASE(sub_must_be_a_non_empty_string_of_bounded_size) {
    auto v = jwt_verifier::hs256(secret);
    auto exp = std::to_string(now + 60);
    CHECK_FAILS(v, make_token(JWT_ALG_HS256, secret, {{}, {{"exp", now + 60}}}), missing_sub);
    CHECK_FAILS(v, make_token(JWT_ALG_HS256, secret, standard_claims("")), missing_sub);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256"})", R"({"sub":42,"exp":)" + exp + "}", secret), missing_sub);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256"})", R"({"sub":null,"exp":)" + exp + "}", secret),
                missing_sub);
    BOOST_TEST(sub_of(v, make_token(JWT_ALG_HS256, secret, standard_claims(std::string(256, 'u')))).size() ==
               256u);
    CHECK_FAILS(v, make_token(JWT_ALG_HS256, secret, standard_claims(std::string(257, 'u'))), invalid_sub);
}

BOOST_AUTO_TEST_CASE(issuer_and_audience_are_checked_when_configured) {
    jwt_options o;
    o.issuer = "https://idp.example";
    o.audience = "wshub";
    auto v = jwt_verifier::hs256(secret, o);
    auto with = [](std::string_view extra) {
        return hand_signed(R"({"alg":"HS256"})", payload_with(extra), secret);
    };
    BOOST_TEST(sub_of(v, with(R"("iss":"https://idp.example","aud":"wshub")")) == "alice");
    BOOST_TEST(sub_of(v, with(R"("iss":"https://idp.example","aud":["other","wshub"])")) == "alice");
    CHECK_FAILS(v, with(R"("aud":"wshub")"), wrong_issuer);
    CHECK_FAILS(v, with(R"("iss":"https://evil.example","aud":"wshub")"), wrong_issuer);
    CHECK_FAILS(v, with(R"("iss":["https://idp.example"],"aud":"wshub")"), wrong_issuer);
    CHECK_FAILS(v, with(R"("iss":"https://idp.example")"), wrong_audience);
    CHECK_FAILS(v, with(R"("iss":"https://idp.example","aud":"other")"), wrong_audience);
    CHECK_FAILS(v, with(R"("iss":"https://idp.example","aud":["other"])"), wrong_audience);
    CHECK_FAILS(v, with(R"("iss":"https://idp.example","aud":[["wshub"]])"), wrong_audience);
    CHECK_FAILS(v, with(R"("iss":"https://idp.example","aud":"WSHUB")"), wrong_audience);

    // Unset, neither claim matters.
    BOOST_TEST(sub_of(jwt_verifier::hs256(secret), with(R"("iss":"anyone","aud":7)")) == "alice");
}

BOOST_AUTO_TEST_CASE(typ_may_be_absent_jwt_or_an_access_token) {
    auto v = jwt_verifier::hs256(secret);
    const auto payload = payload_with("");
    for (auto header :
         {R"({"alg":"HS256"})", R"({"alg":"HS256","typ":"JWT"})", R"({"alg":"HS256","typ":"jwt"})",
          R"({"alg":"HS256","typ":"at+jwt"})", R"({"alg":"HS256","typ":"AT+JWT"})"})
        BOOST_TEST(sub_of(v, hand_signed(header, payload, secret)) == "alice", header);
    for (auto header : {R"({"alg":"HS256","typ":"JOSE"})", R"({"alg":"HS256","typ":"at+jwt2"})",
                        R"({"alg":"HS256","typ":"application/json"})", R"({"alg":"HS256","typ":""})",
                        R"({"alg":"HS256","typ":null})"})
        CHECK_FAILS(v, hand_signed(header, payload, secret), malformed);
}

BOOST_AUTO_TEST_CASE(header_shapes_libjwt_would_skip_are_refused) {
    auto v = jwt_verifier::hs256(secret);
    const auto payload = payload_with("");
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256","crit":["exp"]})", payload, secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256","typ":"JOSE+JSON"})", payload, secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256","typ":7})", payload, secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"typ":"JWT"})", payload, secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"alg":256})", payload, secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"alg":"hs256"})", payload, secret), wrong_algorithm);
    CHECK_FAILS(v, hand_signed(R"(["HS256"])", payload, secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256"})", "[]", secret), malformed);
    CHECK_FAILS(v, hand_signed(R"({"alg":"HS256"})", "{", secret), malformed);
    // Lower-case typ is what libjwt accepts as well.
    BOOST_TEST(sub_of(v, hand_signed(R"({"alg":"HS256","typ":"jwt"})", payload, secret)) == "alice");
    BOOST_TEST(sub_of(v, hand_signed(R"({"alg":"HS256"})", payload, secret)) == "alice");
}

BOOST_AUTO_TEST_CASE(garbage_is_refused_without_crashing) {
    auto v = jwt_verifier::hs256(secret);
    CHECK_FAILS(v, "", missing_token);
    const auto good = make_token(JWT_ALG_HS256, secret, standard_claims());
    for (const std::string& g : std::vector<std::string>{
             "x", ".", "..", "...", "a.b", "a.b.c", "a.b.c.d", "Bearer abc", "\x01\x02.\xff\xfe.",
             "eyJ.eyJ.eyJ", "====.====.====", std::string(3, '\0'), good + ".", "." + good, good + " ",
             " " + good, good.substr(1), std::string(9000, 'a')}) {
        auto r = v.verify(g, now);
        BOOST_TEST(std::holds_alternative<auth_error>(r));
    }
    // Padding and non-canonical base64url are refused: every token has one spelling.
    const auto dot = good.find('.');
    CHECK_FAILS(v, good.substr(0, dot) + "=" + good.substr(dot), malformed);
    CHECK_FAILS(v, good.substr(0, good.rfind('.')) + ".+/+/", malformed);
}

BOOST_AUTO_TEST_CASE(oversized_tokens_are_refused_before_parsing) {
    jwt_options o;
    o.max_token_bytes = 100;
    auto v = jwt_verifier::hs256(secret, o);
    auto r = v.verify(make_token(JWT_ALG_HS256, secret, standard_claims(std::string(200, 's'))), now);
    BOOST_REQUIRE(std::holds_alternative<auth_error>(r));
    BOOST_TEST((std::get<auth_error>(r).code == auth_failure::malformed));
    BOOST_TEST(std::get<auth_error>(r).reason.find("100 bytes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_keys_and_options_throw) {
    BOOST_CHECK_THROW(jwt_verifier::hs256("short"), std::invalid_argument);
    BOOST_CHECK_THROW(jwt_verifier::hs256(std::string(31, 'k')), std::invalid_argument);
    BOOST_CHECK_THROW(jwt_verifier::public_key(""), std::invalid_argument);
    BOOST_CHECK_THROW(jwt_verifier::public_key("not a key"), std::invalid_argument);
    BOOST_CHECK_THROW(jwt_verifier::public_key(rsa_key().private_pem), std::invalid_argument);
    BOOST_CHECK_THROW(jwt_verifier::public_key(to_pair(EVP_RSA_gen(1024)).public_pem), std::invalid_argument);
    BOOST_CHECK_THROW(
        jwt_verifier::public_key(to_pair(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")).public_pem),
        std::invalid_argument);
    jwt_options o;
    o.leeway = std::chrono::seconds(301);
    BOOST_CHECK_THROW(jwt_verifier::hs256(secret, o), std::invalid_argument);
    o.leeway = std::chrono::seconds(-1);
    BOOST_CHECK_THROW(jwt_verifier::hs256(secret, o), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(extract_token_prefers_the_bearer_header) {
    auto token = [](std::string_view header, std::string_view query) {
        return std::string(extract_token(header, query).value_or("<none>"));
    };
    BOOST_TEST(token("Bearer abc.def.ghi", "") == "abc.def.ghi");
    BOOST_TEST(token("bearer abc", "") == "abc");
    BOOST_TEST(token("BEARER \t abc  ", "") == "abc");
    BOOST_TEST(token("Bearer header", "query") == "header");
    BOOST_TEST(token("", "query") == "query");
    BOOST_TEST(token("Basic dXNlcjpwdw==", "query") == "query"); // another scheme is not ours
    BOOST_TEST(token("Bearerabc", "query") == "query");
    BOOST_TEST(token("Bearer", "query") == "<none>"); // a Bearer header without a token
    BOOST_TEST(token("Bearer   ", "query") == "<none>");
    BOOST_TEST(token("", "") == "<none>");
    BOOST_TEST(token("Basic x", "") == "<none>");
}

BOOST_AUTO_TEST_SUITE_END()

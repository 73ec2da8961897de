// Who may open a WebSocket: the Origin allowlist (--allowed-origins, 403 otherwise) and JWT
// authentication (--jwt-secret or --jwt-secret-file for HS256, --jwt-public-key for RS256 and
// ES512, with --jwt-issuer, --jwt-audience and --jwt-leeway): 401 with a reason and a Bearer
// challenge for a missing, expired, forged, unsigned or misaddressed token, 403 when the URL names
// another user than the token, and the token's sub as the user id once admitted; with
// authentication, an address past --max-upgrades-per-ip gets 429 before its token is checked.
#include "http_client.hpp"
#include "jwt_tokens.hpp"
#include "raw_connection.hpp"
#include "server_fixture.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <jwt.h>
#include <map>
#include <memory>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string>
#include <unistd.h>

using namespace wshub_test;

namespace {

// ---- Origin -------------------------------------------------------------------------------------

struct origin_server : server_fixture {
    origin_server()
        : server_fixture(wshub_args(1, {"--allowed-origins", "http://good.example"})) {}
};

raw_http_response upgrade_with_origin(server_fixture& f, raw_connection& c, std::string_view origin) {
    return c.upgrade(f.port(), "/im?user_id=visitor", origin);
}

// ---- Tokens -------------------------------------------------------------------------------------

const std::string hs_secret = "wshub-integration-secret-0123456789abcdef";

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

claims valid_claims(const std::string& sub) {
    return claims{{{"sub", sub}}, {{"iat", unix_now()}, {"exp", unix_now() + 3600}}};
}

struct hs256_server : server_fixture {
    hs256_server()
        : server_fixture(wshub_args(1, {"--jwt-secret", hs_secret})) {}
};

raw_http_response upgrade_with_bearer(server_fixture& f, raw_connection& c, const std::string& token,
                                      const std::string& target = "/im") {
    return c.upgrade(f.port(), target, "http://127.0.0.1", {{"Authorization", "Bearer " + token}});
}

void expect_unauthorized(const raw_http_response& r, std::string_view reason_part) {
    BOOST_TEST(r.status == 401u, "status " << r.status << " '" << r.body << "'");
    BOOST_TEST(r.field("WWW-Authenticate") == "Bearer");
    BOOST_TEST(r.body.find(reason_part) != std::string::npos, "body '" << r.body << "'");
    BOOST_TEST((!r.body.empty() && r.body.back() == '\n' && r.body.find('\n') == r.body.size() - 1),
               "the reason is one line: '" << r.body << "'");
}

// The admitted session carries the token's subject as its user id, and works.
void expect_admitted_as(server_fixture& f, raw_connection& c, const raw_http_response& r,
                        const std::string& sub) {
    BOOST_REQUIRE_MESSAGE(r.status == 101u, "status " << r.status << " '" << r.body << "'");
    const auto line = f.server.wait_for_log(" connect user_id=" + sub + " remote=");
    BOOST_TEST(line.has_value(), "no connect line for user_id=" << sub);
    c.send(client_frame(op_text, "hello from " + sub));
    const auto echo = c.read_frame();
    BOOST_TEST(echo.opcode == op_text);
    BOOST_TEST(echo.payload == "hello from " + sub);
}

// Tokens are credentials: they must not end up in the log, not even from a refused request.
void expect_not_logged(const server_fixture& f, const std::string& token) {
    const auto signature = token.substr(token.rfind('.') + 1);
    BOOST_TEST(f.server.count_log(token) == 0u);
    if (signature.size() >= 16) BOOST_TEST(f.server.count_log(signature) == 0u);
}

// ---- RS256 --------------------------------------------------------------------------------------

std::string bio_string(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

struct key_pair {
    std::string private_pem;
    std::string public_pem;
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

key_pair pem_pair(const pkey_ptr& key) {
    BOOST_REQUIRE(key != nullptr);
    std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), &BIO_free);
    BOOST_REQUIRE(PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ==
                  1);
    BOOST_REQUIRE(PEM_write_bio_PUBKEY(pub.get(), key.get()) == 1);
    return {bio_string(priv.get()), bio_string(pub.get())};
}

key_pair generate_rsa() {
    return pem_pair(pkey_ptr(EVP_RSA_gen(2048), &EVP_PKEY_free));
}

key_pair generate_p521() {
    return pem_pair(pkey_ptr(EVP_EC_gen("P-521"), &EVP_PKEY_free));
}

// A key pair made for this run, its public key written to a temporary file for --jwt-public-key.
struct public_key_file {
    explicit public_key_file(key_pair generated)
        : keys(std::move(generated)) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "wshub-jwt-XXXXXX.pem").string();
        const int fd = ::mkstemps(tmpl.data(), 4);
        BOOST_REQUIRE_MESSAGE(fd >= 0, "mkstemps failed");
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << keys.public_pem;
    }
    ~public_key_file() { std::remove(path.c_str()); }

    key_pair keys;
    std::string path;
};

struct rs256_server : public_key_file, server_fixture {
    rs256_server()
        : public_key_file(generate_rsa())
        , server_fixture(wshub_args(1, {"--jwt-public-key", path})) {}
};

// ---- Claims and options -------------------------------------------------------------------------

// The payload JSON of a token for `sub`, valid for an hour, with `extra` members.
std::string payload_json(const std::string& sub, const std::string& extra = "", std::int64_t exp_in = 3600) {
    return R"({"sub":")" + sub + R"(","iat":)" + std::to_string(unix_now()) + R"(,"exp":)" +
           std::to_string(unix_now() + exp_in) + (extra.empty() ? "" : ",") + extra + "}";
}

struct audience_server : server_fixture {
    audience_server()
        : server_fixture(wshub_args(1, {"--jwt-secret", hs_secret, "--jwt-issuer", "https://idp.example",
                                        "--jwt-audience", "wshub"})) {}
};

struct no_leeway_server : server_fixture {
    no_leeway_server()
        : server_fixture(wshub_args(1, {"--jwt-secret", hs_secret, "--jwt-leeway", "0"})) {}
};

struct secret_file {
    secret_file() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "wshub-secret-XXXXXX").string();
        const int fd = ::mkstemp(tmpl.data());
        BOOST_REQUIRE_MESSAGE(fd >= 0, "mkstemp failed");
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << hs_secret << "\n"; // as `echo secret > file` leaves it
    }
    ~secret_file() { std::remove(path.c_str()); }
    std::string path;
};

struct secret_file_server : secret_file, server_fixture {
    secret_file_server()
        : server_fixture(wshub_args(1, {"--jwt-secret-file", path})) {}
};

struct api_token_file {
    api_token_file() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "wshub-api-token-XXXXXX").string();
        const int fd = ::mkstemp(tmpl.data());
        BOOST_REQUIRE_MESSAGE(fd >= 0, "mkstemp failed");
        ::close(fd);
        token_path = tmpl;
        std::ofstream(token_path) << "first-api-token\n";
    }
    ~api_token_file() { std::remove(token_path.c_str()); }
    std::string token_path;
};

struct secret_files_server : secret_file, api_token_file, server_fixture {
    secret_files_server()
        : server_fixture(wshub_args(1, {"--jwt-secret-file", path, "--api-token-file", token_path})) {}
    unsigned publish_with(const std::string& api_token) {
        return http_post(port(), "/api/publish", R"({"data": "x"})",
                         {{"Authorization", "Bearer " + api_token}})
            .result_int();
    }
};

struct es512_server : public_key_file, server_fixture {
    es512_server()
        : public_key_file(generate_p521())
        , server_fixture(wshub_args(1, {"--jwt-public-key", path})) {}
};

} // namespace

BOOST_AUTO_TEST_SUITE(access_control)

BOOST_FIXTURE_TEST_CASE(listed_origin_is_upgraded, origin_server) {
    raw_connection c(io);
    const auto r = upgrade_with_origin(*this, c, "http://good.example");
    BOOST_REQUIRE_MESSAGE(r.status == 101u, "status " << r.status << " '" << r.body << "'");
    c.send(client_frame(op_text, "in"));
    BOOST_TEST(c.read_frame().payload == "in");
    // Scheme and host compare without regard to case, and the default port is the same origin.
    raw_connection spelled(io);
    BOOST_TEST(upgrade_with_origin(*this, spelled, "HTTP://Good.Example:80").status == 101u);
}

BOOST_FIXTURE_TEST_CASE(other_origins_get_403, origin_server) {
    for (const char* origin :
         {"http://evil.example", "https://good.example", "http://good.example:8080",
          "http://good.example.evil.example", "http://evil.example/http://good.example", "null"}) {
        BOOST_TEST_CONTEXT("Origin: " << origin) {
            raw_connection c(io);
            const auto r = upgrade_with_origin(*this, c, origin);
            BOOST_TEST(r.status == 403u);
            BOOST_TEST(r.body == "origin not allowed\n");
            const auto end = c.read_until_end();
            BOOST_TEST(end.bytes.empty());
        }
    }
}

BOOST_FIXTURE_TEST_CASE(missing_origin_gets_403_when_a_list_is_configured, origin_server) {
    raw_connection c(io);
    const auto r = upgrade_with_origin(*this, c, "");
    BOOST_TEST(r.status == 403u);
    BOOST_TEST(r.body == "origin not allowed\n");
}

BOOST_FIXTURE_TEST_CASE(no_token_gets_401_with_a_bearer_challenge, hs256_server) {
    raw_connection c(io);
    expect_unauthorized(c.upgrade(port(), "/im"), "missing token");
    raw_connection with_user(io);
    expect_unauthorized(with_user.upgrade(port(), "/im?user_id=alice"), "missing token");
    // Another scheme is not a bearer token.
    raw_connection basic(io);
    expect_unauthorized(basic.upgrade(port(), "/im", "http://127.0.0.1", {{"Authorization", "Basic YTpi"}}),
                        "missing token");
}

BOOST_FIXTURE_TEST_CASE(expired_token_gets_401, hs256_server) {
    // Well past the verifier's clock-skew leeway.
    const auto token =
        make_token(JWT_ALG_HS256, hs_secret,
                   claims{{{"sub", "late"}}, {{"iat", unix_now() - 7200}, {"exp", unix_now() - 3600}}});
    raw_connection c(io);
    expect_unauthorized(upgrade_with_bearer(*this, c, token), "expired");
    raw_connection q(io);
    expect_unauthorized(q.upgrade(port(), "/im?token=" + token), "expired");
    expect_not_logged(*this, token);
}

BOOST_FIXTURE_TEST_CASE(bad_signature_gets_401, hs256_server) {
    const auto other_key =
        make_token(JWT_ALG_HS256, "another-secret-of-the-same-length-0123456789", valid_claims("forger"));
    raw_connection c(io);
    expect_unauthorized(upgrade_with_bearer(*this, c, other_key), "signature");

    // A genuine token whose claims were swapped for another user's, signature kept.
    const auto genuine = make_token(JWT_ALG_HS256, hs_secret, valid_claims("alice"));
    const auto forged_claims =
        make_token(JWT_ALG_HS256, "x-secret-that-is-thirty-two-bytes-long", valid_claims("mallory"));
    const auto head_and_claims = forged_claims.substr(0, forged_claims.rfind('.'));
    const auto tampered = head_and_claims + genuine.substr(genuine.rfind('.'));
    raw_connection t(io);
    expect_unauthorized(upgrade_with_bearer(*this, t, tampered), "signature");
    BOOST_TEST(server.count_log("connect user_id=mallory") == 0u);
}

BOOST_FIXTURE_TEST_CASE(unsigned_alg_none_token_gets_401, hs256_server) {
    const auto token = make_token(JWT_ALG_NONE, "", valid_claims("nobody"));
    BOOST_TEST_REQUIRE(token.find('.') != std::string::npos);
    raw_connection c(io);
    expect_unauthorized(upgrade_with_bearer(*this, c, token), "alg none");
    raw_connection q(io);
    expect_unauthorized(q.upgrade(port(), "/im?token=" + token), "alg none");
    BOOST_TEST(server.count_log("connect user_id=nobody") == 0u);
}

BOOST_FIXTURE_TEST_CASE(valid_bearer_token_makes_its_sub_the_user_id, hs256_server) {
    const auto token = make_token(JWT_ALG_HS256, hs_secret, valid_claims("bearer-user"));
    raw_connection c(io);
    expect_admitted_as(*this, c, upgrade_with_bearer(*this, c, token), "bearer-user");
    expect_not_logged(*this, token);
}

BOOST_FIXTURE_TEST_CASE(valid_query_token_is_accepted_without_user_id, hs256_server) {
    const auto token = make_token(JWT_ALG_HS256, hs_secret, valid_claims("query-user"));
    raw_connection c(io);
    expect_admitted_as(*this, c, c.upgrade(port(), "/im?token=" + token), "query-user");
    // The same user id in the URL is fine.
    raw_connection same(io);
    expect_admitted_as(*this, same, same.upgrade(port(), "/im?user_id=query-user&token=" + token),
                       "query-user");
    expect_not_logged(*this, token);
}

BOOST_FIXTURE_TEST_CASE(user_id_other_than_the_sub_gets_403, hs256_server) {
    const auto token = make_token(JWT_ALG_HS256, hs_secret, valid_claims("alice"));
    raw_connection q(io);
    const auto r = q.upgrade(port(), "/im?user_id=mallory&token=" + token);
    BOOST_TEST(r.status == 403u, "status " << r.status << " '" << r.body << "'");
    BOOST_TEST(r.body == "user_id does not match the token's subject\n");
    raw_connection h(io);
    const auto rh = upgrade_with_bearer(*this, h, token, "/im?user_id=mallory");
    BOOST_TEST(rh.status == 403u);
    BOOST_TEST(server.count_log("connect user_id=mallory") == 0u);
    BOOST_TEST(server.count_log("connect user_id=alice") == 0u);
}

BOOST_FIXTURE_TEST_CASE(rs256_token_verified_with_the_public_key, rs256_server) {
    const auto token = make_token(JWT_ALG_RS256, keys.private_pem, valid_claims("rsa-user"));
    raw_connection c(io);
    expect_admitted_as(*this, c, upgrade_with_bearer(*this, c, token), "rsa-user");

    // The same claims signed by another key pair do not verify.
    const auto stranger = generate_rsa();
    const auto foreign = make_token(JWT_ALG_RS256, stranger.private_pem, valid_claims("stranger"));
    raw_connection f(io);
    expect_unauthorized(upgrade_with_bearer(*this, f, foreign), "signature");
}

BOOST_FIXTURE_TEST_CASE(hs256_token_keyed_with_the_public_pem_gets_401, rs256_server) {
    // Algorithm confusion: the public key is public, so anyone can compute this HMAC.
    const auto token = make_token(JWT_ALG_HS256, keys.public_pem, valid_claims("confused"));
    raw_connection c(io);
    expect_unauthorized(upgrade_with_bearer(*this, c, token), "algorithm");
    raw_connection q(io);
    expect_unauthorized(q.upgrade(port(), "/im?token=" + token), "algorithm");
    const auto none = make_token(JWT_ALG_NONE, "", valid_claims("confused"));
    raw_connection n(io);
    expect_unauthorized(upgrade_with_bearer(*this, n, none), "alg none");
    BOOST_TEST(server.count_log("connect user_id=confused") == 0u);
}

BOOST_FIXTURE_TEST_CASE(access_tokens_typ_at_jwt_and_tokens_without_typ_are_admitted, hs256_server) {
    // RFC 9068 access tokens, as identity providers issue them for APIs.
    raw_connection at(io);
    expect_admitted_as(
        *this, at,
        upgrade_with_bearer(
            *this, at, hs256_token(R"({"alg":"HS256","typ":"at+jwt"})", payload_json("at-user"), hs_secret)),
        "at-user");
    raw_connection none(io);
    expect_admitted_as(
        *this, none,
        upgrade_with_bearer(*this, none,
                            hs256_token(R"({"alg":"HS256"})", payload_json("plain-user"), hs_secret)),
        "plain-user");
    raw_connection other(io);
    expect_unauthorized(
        upgrade_with_bearer(*this, other,
                            hs256_token(R"({"alg":"HS256","typ":"JOSE"})", payload_json("jose"), hs_secret)),
        "typ");
}

BOOST_FIXTURE_TEST_CASE(tokens_for_another_audience_or_issuer_get_401, audience_server) {
    const std::string iss = R"("iss":"https://idp.example")";
    raw_connection mine(io);
    expect_admitted_as(
        *this, mine,
        upgrade_with_bearer(*this, mine,
                            hs256_token(R"({"alg":"HS256"})",
                                        payload_json("mine", iss + R"(,"aud":["billing","wshub"])"),
                                        hs_secret)),
        "mine");
    // Same identity provider, same key, another application.
    raw_connection billing(io);
    expect_unauthorized(
        upgrade_with_bearer(*this, billing,
                            hs256_token(R"({"alg":"HS256"})",
                                        payload_json("billing-user", iss + R"(,"aud":"billing")"),
                                        hs_secret)),
        "audience");
    raw_connection no_aud(io);
    expect_unauthorized(
        upgrade_with_bearer(*this, no_aud,
                            hs256_token(R"({"alg":"HS256"})", payload_json("x", iss), hs_secret)),
        "audience");
    raw_connection other_iss(io);
    expect_unauthorized(
        upgrade_with_bearer(*this, other_iss,
                            hs256_token(R"({"alg":"HS256"})",
                                        payload_json("y", R"("iss":"https://evil.example","aud":"wshub")"),
                                        hs_secret)),
        "issuer");
    BOOST_TEST(server.count_log("connect user_id=billing-user") == 0u);
}

BOOST_FIXTURE_TEST_CASE(leeway_is_configurable, no_leeway_server) {
    // Expired five seconds ago: within the default 30 s of leeway, refused with none.
    const auto token = hs256_token(R"({"alg":"HS256"})", payload_json("just-late", "", -5), hs_secret);
    raw_connection c(io);
    expect_unauthorized(upgrade_with_bearer(*this, c, token), "expired");

    hs256_server lenient;
    raw_connection d(lenient.io);
    expect_admitted_as(lenient, d, upgrade_with_bearer(lenient, d, token), "just-late");
    lenient.teardown();
}

BOOST_FIXTURE_TEST_CASE(secret_from_a_file_stays_out_of_the_command_line, secret_file_server) {
    const auto token = make_token(JWT_ALG_HS256, hs_secret, valid_claims("file-user"));
    raw_connection c(io);
    expect_admitted_as(*this, c, upgrade_with_bearer(*this, c, token), "file-user");
    std::ifstream cmdline("/proc/" + std::to_string(server.pid()) + "/cmdline", std::ios::binary);
    const std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    BOOST_TEST(!args.empty());
    BOOST_TEST(args.find(hs_secret) == std::string::npos);
    // The trailing newline is not part of the secret: a token signed with it is refused.
    raw_connection n(io);
    expect_unauthorized(
        upgrade_with_bearer(*this, n, make_token(JWT_ALG_HS256, hs_secret + "\n", valid_claims("newline"))),
        "signature");
}

// SIGHUP reads --jwt-secret-file and --api-token-file again, so secrets rotate without a restart;
// the sessions admitted before stay. It used to end the process (the signal's default action),
// dropping every client without a close frame.
BOOST_FIXTURE_TEST_CASE(sighup_reads_the_secret_files_again, secret_files_server) {
    raw_connection before(io);
    expect_admitted_as(
        *this, before,
        upgrade_with_bearer(*this, before, make_token(JWT_ALG_HS256, hs_secret, valid_claims("before"))),
        "before");
    BOOST_TEST(publish_with("first-api-token") == 200u);

    const std::string rotated = "wshub-integration-rotated-fedcba9876543210";
    std::ofstream(path) << rotated << "\n";
    std::ofstream(token_path) << "second-api-token\n";
    BOOST_REQUIRE(::kill(server.pid(), SIGHUP) == 0);
    BOOST_REQUIRE(server.wait_for_log("read the secret files again").has_value());

    raw_connection old_secret(io);
    expect_unauthorized(
        upgrade_with_bearer(*this, old_secret, make_token(JWT_ALG_HS256, hs_secret, valid_claims("old"))),
        "signature");
    raw_connection new_secret(io);
    expect_admitted_as(
        *this, new_secret,
        upgrade_with_bearer(*this, new_secret, make_token(JWT_ALG_HS256, rotated, valid_claims("new"))),
        "new");
    BOOST_TEST(publish_with("first-api-token") == 401u);
    BOOST_TEST(publish_with("second-api-token") == 200u);

    // A file that cannot be used (an empty token) leaves the secrets in force.
    std::ofstream(token_path) << "";
    BOOST_REQUIRE(::kill(server.pid(), SIGHUP) == 0);
    BOOST_REQUIRE(server.wait_for_log("the secrets in force stay").has_value());
    BOOST_TEST(publish_with("second-api-token") == 200u);

    // The session admitted with the old secret is still served: its message comes back to it
    // behind the broadcasts it was sent meanwhile.
    before.send(client_frame(op_text, "still here"));
    bool echoed = false;
    for (int frames = 0; frames < 10 && !echoed; ++frames)
        echoed = before.read_frame().payload == "still here";
    BOOST_TEST(echoed);
    BOOST_TEST(!server.exited());
}

BOOST_FIXTURE_TEST_CASE(es512_token_verified_with_the_public_key, es512_server) {
    const auto token = make_token(JWT_ALG_ES512, keys.private_pem, valid_claims("ec-user"));
    raw_connection c(io);
    expect_admitted_as(*this, c, upgrade_with_bearer(*this, c, token), "ec-user");
    const auto foreign = make_token(JWT_ALG_ES512, generate_p521().private_pem, valid_claims("stranger"));
    raw_connection f(io);
    expect_unauthorized(upgrade_with_bearer(*this, f, foreign), "signature");
}

BOOST_FIXTURE_TEST_CASE(a_session_is_closed_with_4001_when_its_token_expires, no_leeway_server) {
    const auto short_lived = hs256_token(R"({"alg":"HS256"})", payload_json("short-lived", "", 2), hs_secret);
    raw_connection c(io);
    const auto r = upgrade_with_bearer(*this, c, short_lived);
    BOOST_REQUIRE_MESSAGE(r.status == 101u, "status " << r.status << " '" << r.body << "'");
    // A session with a longer token is not affected.
    raw_connection other(io);
    expect_admitted_as(
        *this, other,
        upgrade_with_bearer(*this, other, make_token(JWT_ALG_HS256, hs_secret, valid_claims("long-lived"))),
        "long-lived");

    // Up to the close frame, the session gets the other's message (and perhaps pings); read_frame
    // is bounded in time.
    server_frame f = c.read_frame();
    while (f.opcode != op_close)
        f = c.read_frame();
    BOOST_TEST(f.opcode == op_close);
    BOOST_TEST(close_code(f) == 4001u);
    BOOST_TEST(close_reason(f) == "token expired");
    c.send(client_frame(op_close, close_payload(4001)));

    other.send(client_frame(op_text, "still here"));
    BOOST_TEST(other.read_frame().payload == "still here");
    BOOST_TEST(server.wait_for_log("disconnect user_id=short-lived").has_value());
}

// ---- Upgrade rate per address -------------------------------------------------------------------

// One upgrade per address, then none for 100 s (a burst of one at 0.01 a second): the second from
// an address is refused within the test whatever the machine's speed. 127.0.0.1 is a trusted
// proxy, so its requests count under the address X-Forwarded-For names.
struct upgrade_rate_server : server_fixture {
    upgrade_rate_server()
        : server_fixture(wshub_args(1, {"--jwt-secret", hs_secret, "--max-upgrades-per-ip", "0.01",
                                        "--trusted-proxies", "127.0.0.1"})) {}
};

void expect_too_many_upgrades(const raw_http_response& r) {
    BOOST_TEST(r.status == 429u, "status " << r.status << " '" << r.body << "'");
    BOOST_TEST(r.body == "too many upgrades from this address; retry later\n");
}

BOOST_FIXTURE_TEST_CASE(upgrades_past_max_upgrades_per_ip_get_429_before_the_token_is_checked,
                        upgrade_rate_server) {
    const auto token = make_token(JWT_ALG_HS256, hs_secret, valid_claims("rated"));
    const auto forged =
        make_token(JWT_ALG_HS256, "another-secret-of-the-same-length-0123456789", valid_claims("rated"));
    const header_list bearer{{"Authorization", "Bearer " + token}};
    raw_connection first(io);
    BOOST_TEST(first.upgrade(port(), "/im", "http://127.0.0.1", bearer, "127.0.0.2").status == 101u);
    {
        // Refused before its signature is looked at: a forged token gets 429, not 401.
        raw_connection again(io), forged_again(io);
        expect_too_many_upgrades(again.upgrade(port(), "/im", "http://127.0.0.1", bearer, "127.0.0.2"));
        expect_too_many_upgrades(forged_again.upgrade(port(), "/im", "http://127.0.0.1",
                                                      {{"Authorization", "Bearer " + forged}}, "127.0.0.2"));
    }
    // Another address has its own count.
    raw_connection other(io);
    BOOST_TEST(other.upgrade(port(), "/im", "http://127.0.0.1", bearer, "127.0.0.3").status == 101u);

    // Through the trusted proxy, the forwarded address is the one counted.
    auto via_proxy = [&](raw_connection& c, const std::string& client) {
        header_list h = bearer;
        h.push_back({"X-Forwarded-For", client});
        return c.upgrade(port(), "/im", "http://127.0.0.1", h, "127.0.0.1");
    };
    raw_connection p1(io), p2(io), p3(io);
    BOOST_TEST(via_proxy(p1, "198.51.100.1").status == 101u);
    expect_too_many_upgrades(via_proxy(p2, "198.51.100.1"));
    BOOST_TEST(via_proxy(p3, "198.51.100.2").status == 101u);
    BOOST_TEST(server.wait_for_log("refused GET /im from 198.51.100.1: 429").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

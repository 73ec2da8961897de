#include "jwt_tokens.hpp"
#include "wshub/admission.hpp"

#include <boost/test/unit_test.hpp>

using namespace wshub;
namespace ip = boost::asio::ip;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef-admission-secret";
constexpr std::int64_t now = 1'700'000'000;

upgrade_fields valid_fields(std::string_view origin = {}, std::string_view authorization = {}) {
    return {true, "dGhlIHNhbXBsZSBub25jZQ==", "13", origin, authorization, ip::make_address("192.0.2.1"), {}};
}

std::string token_for(const std::string& sub) {
    return wshub_test::make_token(JWT_ALG_HS256, secret, {{{"sub", sub}}, {{"exp", now + 600}}});
}

http_reply refusal(const std::variant<admission, http_reply>& r) {
    BOOST_REQUIRE(std::holds_alternative<http_reply>(r));
    return std::get<http_reply>(r);
}

const admission& admitted(const std::variant<admission, http_reply>& r) {
    if (auto* refused = std::get_if<http_reply>(&r))
        BOOST_FAIL("refused: " << refused->status << " " << refused->body);
    return std::get<admission>(r);
}

} // namespace

BOOST_AUTO_TEST_SUITE(admission_checks)

BOOST_AUTO_TEST_CASE(open_server_admits_with_the_101_and_a_slot) {
    origin_policy any;
    connection_limits limits(10, 0);
    auto r = admit({any, nullptr, limits}, {"42", "", {}}, valid_fields(), now);
    const auto& a = admitted(r);
    BOOST_TEST(a.user_id == "42");
    BOOST_TEST(a.handshake_response.find("101 Switching Protocols") != std::string::npos);
    BOOST_TEST(a.handshake_response.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != std::string::npos);
    BOOST_TEST(limits.total() == 1u);
    BOOST_TEST(!a.valid_until.has_value()); // no token, no expiry
}

BOOST_AUTO_TEST_CASE(a_token_admission_ends_at_exp_plus_the_leeway) {
    origin_policy any;
    connection_limits limits(0, 0);
    jwt_options o;
    o.leeway = std::chrono::seconds(5);
    auto jwt = jwt_verifier::hs256(secret, o);
    auto r = admit({any, &jwt, limits}, {"", token_for("alice"), {}}, valid_fields(), now);
    BOOST_TEST(admitted(r).valid_until.value_or(0) == now + 600 + 5);
}

BOOST_AUTO_TEST_CASE(handshake_fields_are_checked_first) {
    origin_policy only = origin_policy::parse("https://app.example");
    connection_limits limits(0, 0);
    auto fields = valid_fields("https://evil.example");
    fields.sec_websocket_version = "8";
    const auto r = refusal(admit({only, nullptr, limits}, {"42", "", {}}, fields, now));
    BOOST_TEST(r.status == 426u);
    BOOST_TEST(r.websocket_version);
    fields.sec_websocket_key = {};
    BOOST_TEST(refusal(admit({only, nullptr, limits}, {"42", "", {}}, fields, now)).status == 400u);
    BOOST_TEST(limits.total() == 0u);
}

BOOST_AUTO_TEST_CASE(origin_outside_the_allowlist_gets_403) {
    auto only = origin_policy::parse("https://app.example");
    connection_limits limits(0, 0);
    const auto& r =
        refusal(admit({only, nullptr, limits}, {"42", "", {}}, valid_fields("https://evil.example"), now));
    BOOST_TEST(r.status == 403u);
    BOOST_TEST(r.body == "origin not allowed\n");
    BOOST_TEST(
        admitted(admit({only, nullptr, limits}, {"42", "", {}}, valid_fields("https://app.example"), now))
            .user_id == "42");
}

BOOST_AUTO_TEST_CASE(missing_or_bad_token_gets_401_with_a_challenge) {
    origin_policy any;
    connection_limits limits(0, 0);
    auto jwt = jwt_verifier::hs256(secret);
    const auto missing = refusal(admit({any, &jwt, limits}, {"", "", {}}, valid_fields(), now));
    BOOST_TEST(missing.status == 401u);
    BOOST_TEST(missing.bearer_challenge);
    BOOST_TEST(missing.body.rfind("missing token", 0) == 0u);
    const auto bad = refusal(admit({any, &jwt, limits}, {"", "not-a-jwt", {}}, valid_fields(), now));
    BOOST_TEST(bad.status == 401u);
    BOOST_TEST(bad.bearer_challenge);
    BOOST_TEST(limits.total() == 0u);
}

BOOST_AUTO_TEST_CASE(token_subject_becomes_the_user_and_must_match_the_url) {
    origin_policy any;
    connection_limits limits(0, 0);
    auto jwt = jwt_verifier::hs256(secret);
    const std::string bearer = "Bearer " + token_for("alice");
    BOOST_TEST(admitted(admit({any, &jwt, limits}, {"", "", {}}, valid_fields({}, bearer), now)).user_id ==
               "alice");
    BOOST_TEST(
        admitted(admit({any, &jwt, limits}, {"", token_for("bob"), {}}, valid_fields(), now)).user_id ==
        "bob");
    BOOST_TEST(
        admitted(admit({any, &jwt, limits}, {"alice", "", {}}, valid_fields({}, bearer), now)).user_id ==
        "alice");
    const auto other =
        refusal(admit({any, &jwt, limits}, {"mallory", "", {}}, valid_fields({}, bearer), now));
    BOOST_TEST(other.status == 403u);
    BOOST_TEST(other.body == "user_id does not match the token's subject\n");
}

BOOST_AUTO_TEST_CASE(connection_limits_refuse_with_503_and_their_reason) {
    origin_policy any;
    connection_limits limits(1, 0);
    auto first = admit({any, nullptr, limits}, {"1", "", {}}, valid_fields(), now);
    admitted(first);
    const auto full = refusal(admit({any, nullptr, limits}, {"2", "", {}}, valid_fields(), now));
    BOOST_TEST(full.status == 503u);
    BOOST_TEST(full.body == "server is at its connection limit\n");

    connection_limits per_ip(0, 1);
    auto held = admit({any, nullptr, per_ip}, {"1", "", {}}, valid_fields(), now);
    admitted(held);
    const auto same = refusal(admit({any, nullptr, per_ip}, {"2", "", {}}, valid_fields(), now));
    BOOST_TEST(same.status == 503u);
    BOOST_TEST(same.body == "too many connections from this address\n");
    auto elsewhere = valid_fields();
    elsewhere.peer = ip::make_address("192.0.2.2");
    admitted(admit({any, nullptr, per_ip}, {"3", "", {}}, elsewhere, now));
}

BOOST_AUTO_TEST_CASE(a_user_over_its_session_limit_gets_429) {
    origin_policy any;
    connection_limits limits(0, 0, 1);
    auto jwt = jwt_verifier::hs256(secret);
    const std::string bearer = "Bearer " + token_for("alice");
    auto first = admit({any, &jwt, limits}, {"", "", {}}, valid_fields({}, bearer), now);
    admitted(first);
    // Counted by the token's subject, whatever the URL leaves out.
    const auto again = refusal(admit({any, &jwt, limits}, {"", "", {}}, valid_fields({}, bearer), now));
    BOOST_TEST(again.status == 429u);
    BOOST_TEST(again.body == "too many connections for this user\n");
    admitted(admit({any, &jwt, limits}, {"", "", {}}, valid_fields({}, "Bearer " + token_for("bob")), now));
}

BOOST_AUTO_TEST_CASE(an_address_over_its_upgrade_rate_gets_429_before_its_token_is_checked) {
    origin_policy any;
    connection_limits limits(0, 0);
    auto jwt = jwt_verifier::hs256(secret);
    upgrade_rate_limit rate(0.5); // a burst of one
    const upgrade_rate_limit::time_point t{};
    const admission_policy policy{any, &jwt, limits, &rate};
    admitted(admit(policy, {"", "", {}}, valid_fields({}, "Bearer " + token_for("alice")), now, t));
    // Over the rate, a bad token is not even looked at.
    const auto again = refusal(admit(policy, {"", "not-a-jwt", {}}, valid_fields(), now, t));
    BOOST_TEST(again.status == 429u);
    BOOST_TEST(again.body == "too many upgrades from this address; retry later\n");
    BOOST_TEST(!again.bearer_challenge);
    // Two seconds later the address has its upgrade back.
    admitted(admit(policy, {"", "", {}}, valid_fields({}, "Bearer " + token_for("alice")), now,
                   t + std::chrono::seconds(2)));

    // Without authentication there is no signature to protect: upgrades are not counted.
    upgrade_rate_limit open_rate(0.5);
    for (int i = 0; i < 5; ++i)
        admitted(admit({any, nullptr, limits, &open_rate}, {"u", "", {}}, valid_fields(), now, t));
    BOOST_TEST(open_rate.tracked_addresses() == 0u);
}

BOOST_AUTO_TEST_CASE(http_connections_over_their_limits_get_503_with_the_limit_named) {
    const auto all = refuse_http_connection(connection_limits::refusal::server_full);
    BOOST_TEST(all.status == 503u);
    BOOST_TEST(all.body == "server is at its HTTP connection limit\n");
    const auto one = refuse_http_connection(connection_limits::refusal::too_many_from_address);
    BOOST_TEST(one.status == 503u);
    BOOST_TEST(one.body == "too many HTTP connections from this address\n");
}

BOOST_AUTO_TEST_SUITE_END()

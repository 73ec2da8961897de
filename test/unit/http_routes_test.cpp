#include "wshub/http_routes.hpp"

#include <boost/test/unit_test.hpp>

using namespace wshub;

namespace {

http_reply reply_for(std::string_view method, std::string_view target, bool upgrade = false) {
    auto d = route({method, target, upgrade});
    BOOST_REQUIRE(std::holds_alternative<http_reply>(d));
    return std::get<http_reply>(d);
}

} // namespace

BOOST_AUTO_TEST_SUITE(http_routes)

BOOST_AUTO_TEST_CASE(ping_answers_pong) {
    auto r = reply_for("GET", "/ping");
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.body == "pong");
    BOOST_TEST(reply_for("POST", "/ping").status == 405u);
}

BOOST_AUTO_TEST_CASE(upgrade_with_user_id_is_accepted) {
    auto d = route({"GET", "/im?user_id=42", true});
    BOOST_REQUIRE(std::holds_alternative<upgrade_request>(d));
    BOOST_TEST(std::get<upgrade_request>(d).user_id == "42");
}

BOOST_AUTO_TEST_CASE(user_id_is_percent_decoded) {
    auto d = route({"GET", "/im?x=1&user_id=a%20b", true});
    BOOST_REQUIRE(std::holds_alternative<upgrade_request>(d));
    BOOST_TEST(std::get<upgrade_request>(d).user_id == "a b");
}

BOOST_AUTO_TEST_CASE(missing_or_empty_user_id_is_400_with_a_reason) {
    for (auto target : {"/im", "/im?", "/im?user_id=", "/im?user_id", "/im?other=1"}) {
        auto r = reply_for("GET", target, true);
        BOOST_TEST(r.status == 400u, target);
        BOOST_TEST(r.body.find("user_id") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(plain_get_on_im_is_426) {
    auto r = reply_for("GET", "/im?user_id=1");
    BOOST_TEST(r.status == 426u);
    BOOST_TEST(r.upgrade_required);
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404) {
    BOOST_TEST(reply_for("GET", "/").status == 404u);
    BOOST_TEST(reply_for("GET", "/imx?user_id=1", true).status == 404u);
    BOOST_TEST(reply_for("GET", "/im/extra", true).status == 404u);
}

BOOST_AUTO_TEST_CASE(bad_target_is_400) {
    BOOST_TEST(reply_for("GET", "not a path").status == 400u);
}

BOOST_AUTO_TEST_SUITE_END()

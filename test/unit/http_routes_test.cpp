#include "wshub/http_routes.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

using namespace wshub;

namespace {

std::string source_file(const std::string& name) {
    std::ifstream in(std::string(WSHUB_SOURCE_DIR) + "/lib/static/" + name, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in, "cannot read lib/static/" + name);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

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

// The first of two was taken: a layer in front that checked the second one (user_id=alice for an
// authorization proxy, user_id=mallory for wshub) was checking another request.
BOOST_AUTO_TEST_CASE(a_parameter_given_twice_is_400) {
    for (std::string_view target :
         {"/im?user_id=alice&user_id=mallory", "/im?user_id=a&token=x&token=y",
          "/im?user_id=a&channels=x&channels=y", "/im?user_id=a&envelope=json&envelope=json",
          "/im?user_id=a&since=1&since=2", "/im?user_id=a&since=1&epoch=ab&epoch=cd",
          "/im?user_id=a&USER_ID=b&user_id=c"}) {
        const auto r = reply_for("GET", target, true);
        BOOST_TEST(r.status == 400u, target);
        BOOST_TEST(r.body.find("is given twice") != std::string::npos, target << ": " << r.body);
    }
    // Names are case-sensitive: USER_ID is another parameter, as before.
    BOOST_TEST(std::holds_alternative<upgrade_request>(route({"GET", "/im?user_id=a&USER_ID=b", true})));
    const auto presence = reply_for("GET", "/api/presence?channel=a&channel=b");
    BOOST_TEST(presence.status == 400u);
    BOOST_TEST(presence.body == "{\"error\":\"channel= is given twice\"}\n");
}

BOOST_AUTO_TEST_CASE(plain_get_on_im_is_426) {
    auto r = reply_for("GET", "/im?user_id=1");
    BOOST_TEST(r.status == 426u);
    BOOST_TEST(r.upgrade_required);
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404) {
    BOOST_TEST(reply_for("GET", "/index.html").status == 404u);
    BOOST_TEST(reply_for("GET", "/imx?user_id=1", true).status == 404u);
    BOOST_TEST(reply_for("GET", "/im/extra", true).status == 404u);
}

BOOST_AUTO_TEST_CASE(bad_target_is_400) {
    BOOST_TEST(reply_for("GET", "not a path").status == 400u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http_routes_push_api)

BOOST_AUTO_TEST_CASE(api_paths_route_to_their_endpoint_or_a_json_refusal) {
    auto publish = route({"POST", "/api/publish", false});
    BOOST_REQUIRE(std::holds_alternative<api_call>(publish));
    BOOST_TEST((std::get<api_call>(publish).what == api_call::endpoint::publish));
    auto presence = route({"GET", "/api/presence?channel=news", false});
    BOOST_REQUIRE(std::holds_alternative<api_call>(presence));
    BOOST_TEST(std::get<api_call>(presence).channel == "news");
    BOOST_TEST(std::holds_alternative<api_call>(route({"POST", "/api/disconnect", false})));

    const auto wrong = reply_for("GET", "/api/publish");
    BOOST_TEST(wrong.status == 405u);
    BOOST_TEST(wrong.allow_post);
    BOOST_TEST(wrong.json);
    BOOST_TEST(reply_for("POST", "/api/presence").status == 405u);
    BOOST_TEST(reply_for("GET", "/api/other").status == 404u);
    BOOST_TEST(reply_for("GET", "/api/other").json);
    BOOST_TEST(reply_for("GET", "/api/presence?channel=a%20b").status == 400u);
}

BOOST_AUTO_TEST_CASE(channels_are_read_validated_and_deduplicated) {
    auto d = route({"GET", "/im?user_id=1&channels=news,sport,news", true});
    BOOST_REQUIRE(std::holds_alternative<upgrade_request>(d));
    BOOST_TEST(std::get<upgrade_request>(d).channels == (std::vector<std::string>{"news", "sport"}),
               boost::test_tools::per_element());
    BOOST_TEST(std::get<upgrade_request>(route({"GET", "/im?user_id=1", true})).channels.empty());
    BOOST_TEST(std::get<upgrade_request>(route({"GET", "/im?user_id=1&channels=", true})).channels.empty());
    for (std::string_view target :
         {"/im?user_id=1&channels=a,,b", "/im?user_id=1&channels=a,", "/im?user_id=1&channels=%E2%82%AC"})
        BOOST_TEST(reply_for("GET", target, true).status == 400u, target);
}

BOOST_AUTO_TEST_CASE(health_and_readiness) {
    BOOST_TEST(reply_for("GET", "/healthz").status == 200u);
    BOOST_TEST(reply_for("GET", "/readyz").status == 200u);
    http_request_view draining{"GET", "/readyz", false};
    draining.draining = true;
    BOOST_TEST(std::get<http_reply>(route(draining)).status == 503u);
    BOOST_TEST(reply_for("POST", "/healthz").status == 405u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(metrics_is_a_scrape_for_get_only) {
    BOOST_TEST(std::holds_alternative<metrics_scrape>(route({"GET", "/metrics", false})));
    BOOST_TEST(reply_for("POST", "/metrics").status == 405u);
}

BOOST_AUTO_TEST_SUITE(http_routes_static_files)

BOOST_AUTO_TEST_CASE(demo_page_and_javascript_client_are_the_files_of_lib_static) {
    const auto page = reply_for("GET", "/");
    BOOST_TEST(page.status == 200u);
    BOOST_TEST(page.static_content_type == "text/html; charset=utf-8");
    BOOST_TEST(page.body == source_file("index.html"));
    const auto client = reply_for("GET", "/wshub.js?v=2");
    BOOST_TEST(client.status == 200u);
    BOOST_TEST(client.static_content_type == "text/javascript; charset=utf-8");
    BOOST_TEST(client.body == source_file("wshub.js"));
    BOOST_TEST(reply_for("HEAD", "/").status == 200u);
}

BOOST_AUTO_TEST_CASE(static_files_take_get_and_head_only) {
    for (auto method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
        for (auto target : {"/", "/wshub.js"}) {
            const auto r = reply_for(method, target);
            BOOST_TEST(r.status == 405u, method << ' ' << target);
            BOOST_TEST(r.allow_get);
            BOOST_TEST(r.static_content_type.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(only_the_files_own_paths_serve_them) {
    BOOST_TEST(reply_for("GET", "/ping").static_content_type.empty());
    BOOST_TEST(reply_for("GET", "/wshub.js/").status == 404u);
    BOOST_TEST(reply_for("GET", "/static/wshub.js").status == 404u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http_request_framing_rules)

unsigned framing_status(unsigned version, std::size_t hosts, std::optional<std::string_view> codings) {
    const auto r = check_request_framing({version, hosts, codings.has_value(), codings.value_or("")});
    return r ? r->status : 0u;
}

BOOST_AUTO_TEST_CASE(http_1_1_needs_exactly_one_host_field) {
    BOOST_TEST(framing_status(11, 1, std::nullopt) == 0u);
    BOOST_TEST(framing_status(11, 0, std::nullopt) == 400u);
    BOOST_TEST(framing_status(11, 2, std::nullopt) == 400u);
    BOOST_TEST(framing_status(10, 0, std::nullopt) == 0u);
    BOOST_TEST(framing_status(10, 2, std::nullopt) == 400u);
    const auto r = check_request_framing({11, 0, false, ""});
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->body == "bad request: an HTTP/1.1 request needs a Host field\n");
}

BOOST_AUTO_TEST_CASE(chunked_is_the_only_transfer_coding) {
    BOOST_TEST(framing_status(11, 1, "chunked") == 0u);
    BOOST_TEST(framing_status(11, 1, "Chunked") == 0u);
    BOOST_TEST(framing_status(11, 1, " chunked ,") == 0u); // empty list elements are allowed
    BOOST_TEST(framing_status(11, 1, "gzip, chunked") == 501u);
    BOOST_TEST(framing_status(11, 1, "gzip,chunked") == 501u);
    // the body's length is unknown unless chunked comes last, once
    BOOST_TEST(framing_status(11, 1, "identity") == 400u);
    BOOST_TEST(framing_status(11, 1, "chunked, gzip") == 400u);
    BOOST_TEST(framing_status(11, 1, "chunked,chunked") == 400u);
    BOOST_TEST(framing_status(11, 1, "") == 400u);
    BOOST_TEST(framing_status(11, 1, "chunkedx") == 400u);
    BOOST_TEST(framing_status(10, 1, "chunked") == 400u);
}

BOOST_AUTO_TEST_SUITE_END()

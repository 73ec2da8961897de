#include "wshub/publish_request.hpp"

#include <boost/test/unit_test.hpp>

using namespace wshub;

namespace {

const publish_limits limits{16, 2};

publish_request parsed(std::string_view body) {
    auto r = parse_publish_request(body, limits);
    if (auto* e = std::get_if<api_error>(&r)) BOOST_FAIL("refused: " << e->reason);
    return std::get<publish_request>(std::move(r));
}

api_error refused(std::string_view body) {
    auto r = parse_publish_request(body, limits);
    BOOST_REQUIRE(std::holds_alternative<api_error>(r));
    return std::get<api_error>(std::move(r));
}

} // namespace

BOOST_AUTO_TEST_SUITE(publish_request_parsing)

BOOST_AUTO_TEST_CASE(a_lone_object_is_one_message_for_everyone) {
    const auto r = parsed(R"({"data": "hi"})");
    BOOST_TEST(!r.batch);
    BOOST_REQUIRE(r.items.size() == 1u);
    BOOST_TEST(r.items[0].payload == "hi");
    BOOST_TEST((r.items[0].kind == payload_kind::text));
    BOOST_TEST(r.items[0].target.everyone());
}

BOOST_AUTO_TEST_CASE(targets_and_binary_data_are_read) {
    const auto r = parsed(R"({"data": "AAE=", "binary": true, "user_ids": ["a", "b"], "channel": "news"})");
    const auto& item = r.items.at(0);
    BOOST_TEST((item.kind == payload_kind::binary));
    BOOST_TEST(item.payload == std::string("\x00\x01", 2));
    BOOST_TEST(item.target.user_ids == (std::vector<std::string>{"a", "b"}),
               boost::test_tools::per_element());
    BOOST_TEST(item.target.channel == "news");
    BOOST_TEST(!item.target.everyone());
}

BOOST_AUTO_TEST_CASE(an_array_is_a_batch_in_order) {
    const auto r = parsed(R"([{"data": "1"}, {"data": "2", "channel": "c"}])");
    BOOST_TEST(r.batch);
    BOOST_REQUIRE(r.items.size() == 2u);
    BOOST_TEST(r.items[0].payload == "1");
    BOOST_TEST(r.items[1].target.channel == "c");
}

BOOST_AUTO_TEST_CASE(malformed_bodies_are_400_with_a_reason) {
    for (std::string_view body : {"", "{", "null", "\"x\"", "{}", R"({"data": null})",
                                  R"({"data": "x", "binary": "yes"})", R"({"data": "x", "user_ids": "a"})",
                                  R"({"data": "x", "user_ids": []})", R"({"data": "x", "user_ids": [""]})",
                                  R"({"data": "x", "user_ids": [1]})", R"({"data": "x", "channel": ""})",
                                  R"({"data": "x", "channel": "a b"})", R"({"data": "x", "extra": 1})",
                                  R"({"data": "!!!!", "binary": true})", R"({"data": "AAE", "binary": true})",
                                  R"({"data": "A===", "binary": true})", "[]", R"([{"data": "x"}, 5])"}) {
        const auto e = refused(body);
        BOOST_TEST(e.status == 400u, body);
        BOOST_TEST(!e.reason.empty(), body);
    }
    BOOST_TEST(refused(R"([{"data": "x"}, {"data": 1}])").reason.find("message 1") == 0u);
}

BOOST_AUTO_TEST_CASE(sizes_over_the_limits_are_413) {
    BOOST_TEST(refused(R"({"data": "12345678901234567"})").status == 413u);
    BOOST_TEST(parsed(R"({"data": "1234567890123456"})").items.size() == 1u);
    BOOST_TEST(refused(R"([{"data": "1"}, {"data": "2"}, {"data": "3"}])").status == 413u);
}

BOOST_AUTO_TEST_CASE(disconnect_wants_one_user_id) {
    BOOST_TEST(std::get<std::string>(parse_disconnect_request(R"({"user_id": "alice"})")) == "alice");
    for (std::string_view body :
         {"", "[]", "{}", R"({"user_id": ""})", R"({"user_id": 1})", R"({"user": "a"})"})
        BOOST_TEST(std::get<api_error>(parse_disconnect_request(body)).status == 400u, body);
}

BOOST_AUTO_TEST_CASE(errors_are_json_objects) {
    BOOST_TEST(api_error_body("bad \"thing\"\n") == R"({"error":"bad \"thing\"\n"})");
}

BOOST_AUTO_TEST_SUITE_END()

#include "wshub/envelope.hpp"
#include "wshub/frame.hpp"
#include "wshub/resume_positions.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>

using namespace wshub;
namespace json = boost::json;

BOOST_AUTO_TEST_SUITE(envelope_format)

BOOST_AUTO_TEST_CASE(a_text_message_is_escaped_json_with_null_for_the_all_clients_stream) {
    BOOST_TEST(envelope_json(7, "", payload_kind::text, "say \"hi\"\n") ==
               R"({"seq":7,"channel":null,"data":"say \"hi\"\n"})");
    BOOST_TEST(envelope_json(2, "news", payload_kind::text, "x") ==
               R"({"seq":2,"channel":"news","data":"x"})");
}

BOOST_AUTO_TEST_CASE(a_binary_message_is_base64_and_marked) {
    BOOST_TEST(envelope_json(3, "", payload_kind::binary, std::string("\x00\x01\x02\xff", 4)) ==
               R"({"seq":3,"channel":null,"data":"AAEC/w==","binary":true})");
}

BOOST_AUTO_TEST_CASE(join_and_gap_notices_are_json_objects) {
    const auto join = json::parse(join_json("00ff", 12, {{"news", 3}, {"a:b", 0}}));
    BOOST_TEST(join.at("type").as_string() == "join");
    BOOST_TEST(join.at("epoch").as_string() == "00ff");
    BOOST_TEST(join.at("seq").to_number<int>() == 12);
    BOOST_TEST(join.at("channels").at("news").to_number<int>() == 3);
    BOOST_TEST(join.at("channels").at("a:b").to_number<int>() == 0);
    BOOST_TEST(json::parse(join_json("e", 0, {})).at("channels").as_object().empty());
    BOOST_TEST(gap_json("", 4, 9) == R"({"type":"gap","channel":null,"since":4,"oldest":9})");
}

BOOST_AUTO_TEST_CASE(a_batch_is_enveloped_once_with_a_range_per_message) {
    auto b = std::make_shared<frame_batch>();
    for (std::uint64_t seq : {1, 2}) {
        frame_batch::frame f;
        f.begin = b->bytes.size();
        f.header = 2;
        append_frame(b->bytes, opcode::text, "m" + std::to_string(seq));
        f.size = b->bytes.size() - f.begin;
        f.seq = seq;
        b->frames.push_back(f);
    }
    const auto& e = b->envelope();
    BOOST_TEST(&e == &b->envelope());
    BOOST_REQUIRE(e.ranges.size() == 2u);
    const auto second = std::string_view(e.bytes).substr(e.ranges[1].first, e.ranges[1].second);
    BOOST_TEST(second.substr(2) == R"({"seq":2,"channel":null,"data":"m2"})");
    BOOST_TEST(e.ranges[0].first + e.ranges[0].second == e.ranges[1].first);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(since_parameter)

BOOST_AUTO_TEST_CASE(bare_and_named_positions) {
    const auto r = std::get<resume_positions>(parse_since("5,news:2,a:b:7", {"news", "a:b", "sport"}));
    BOOST_TEST(r.others.value() == 5u);
    BOOST_TEST(r.position("news").value() == 2u);
    BOOST_TEST(r.position("a:b").value() == 7u);   // split at the last colon
    BOOST_TEST(r.position("sport").value() == 5u); // not named: the bare position
    BOOST_TEST(r.position("").value() == 5u);
    const auto only_named = std::get<resume_positions>(parse_since("news:0", {"news"}));
    BOOST_TEST(!only_named.position("").has_value());
}

BOOST_AUTO_TEST_CASE(malformed_lists_are_refused_with_a_reason) {
    for (const char* bad : {"", "x", "1,", ",1", "news:", "news:-1", "1,2", "news:1,news:2",
                            "99999999999999999999999", "sport:1"}) {
        const auto r = parse_since(bad, {"news"});
        BOOST_TEST(std::holds_alternative<std::string>(r), bad);
    }
}

BOOST_AUTO_TEST_SUITE_END()

// The bus's pieces without I/O: RESP through hiredis, --redis URLs, and the batch format.
#include "wshub/bus_codec.hpp"
#include "wshub/redis_protocol.hpp"
#include "wshub/redis_url.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace wshub;

BOOST_AUTO_TEST_SUITE(redis_wire)

BOOST_AUTO_TEST_CASE(commands_are_encoded_binary_safe) {
    std::string out;
    redis_protocol::append_command(out, {"SET", "k", std::string_view("a\0b", 3)});
    BOOST_TEST(out == std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));
}

BOOST_AUTO_TEST_CASE(replies_come_out_whole_however_the_bytes_are_split) {
    redis_protocol p;
    const std::string bytes =
        "+OK\r\n:42\r\n$-1\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n-ERR no\r\n";
    std::vector<redis_reply> replies;
    for (char c : bytes) { // one byte at a time
        p.feed(std::string_view(&c, 1));
        while (auto r = p.next())
            replies.push_back(std::move(*r));
    }
    BOOST_REQUIRE(replies.size() == 5u);
    BOOST_TEST((replies[0].type == redis_reply::kind::status && replies[0].text == "OK"));
    BOOST_TEST((replies[1].type == redis_reply::kind::integer && replies[1].value == 42));
    BOOST_TEST((replies[2].type == redis_reply::kind::nil));
    BOOST_REQUIRE(replies[3].elements.size() == 3u);
    BOOST_TEST(replies[3].elements[2].text == "hello");
    BOOST_TEST(replies[4].is_error());
    BOOST_TEST(replies[4].text == "ERR no");
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_resp_are_an_error) {
    redis_protocol p;
    p.feed("?what\r\n");
    BOOST_CHECK_THROW(p.next(), redis_protocol_error);
}

BOOST_AUTO_TEST_CASE(redis_urls) {
    auto ep = std::get<redis_endpoint>(parse_redis_url("redis://127.0.0.1"));
    BOOST_TEST(ep.host == "127.0.0.1");
    BOOST_TEST(ep.port == 6379);
    BOOST_TEST(ep.password.empty());
    ep = std::get<redis_endpoint>(parse_redis_url("redis://:s3cret@redis:6380/2"));
    BOOST_TEST(ep.host == "redis");
    BOOST_TEST(ep.port == 6380);
    BOOST_TEST(ep.user.empty());
    BOOST_TEST(ep.password == "s3cret");
    BOOST_TEST(ep.db == 2u);
    BOOST_TEST(ep.describe() == "redis:6380");
    ep = std::get<redis_endpoint>(parse_redis_url("redis://hub:pw@[::1]:7000"));
    BOOST_TEST(ep.user == "hub");
    BOOST_TEST(ep.host == "::1");
    BOOST_TEST(ep.describe() == "[::1]:7000");
    for (const char* bad : {"", "127.0.0.1:6379", "http://x", "redis://", "redis://x/16", "redis://x/a",
                            "redis://x?db=1", "redis://x:0"})
        BOOST_TEST(std::holds_alternative<std::string>(parse_redis_url(bad)), bad);
}

BOOST_AUTO_TEST_CASE(a_batch_round_trips_through_the_format) {
    message text;
    text.payload = "hello\n world";
    message targeted;
    targeted.kind = payload_kind::binary;
    targeted.payload = std::string("\0\1\n", 3);
    targeted.target = {{"alice", "b ob"}, "news:eu"};
    // What the publish script makes of them: a header, then seq, size and body per message.
    std::string published = "W1 00ff node7 12 2\n";
    for (auto [seq, m] : {std::pair{5, &text}, std::pair{9, &targeted}}) {
        const auto body = encode_bus_body(*m);
        published += std::to_string(seq) + " " + std::to_string(body.size()) + "\n" + body;
    }
    const auto b = decode_bus_batch(published);
    BOOST_REQUIRE(b.has_value());
    BOOST_TEST(b->epoch == "00ff");
    BOOST_TEST(b->node == "node7");
    BOOST_TEST(b->batch_id == 12u);
    BOOST_REQUIRE(b->messages.size() == 2u);
    BOOST_TEST(b->messages[0].seq == 5u);
    BOOST_TEST(b->messages[0].payload == text.payload);
    BOOST_TEST(b->messages[0].target.everyone());
    BOOST_TEST(b->messages[1].seq == 9u);
    BOOST_TEST((b->messages[1].kind == payload_kind::binary));
    BOOST_TEST(b->messages[1].payload == targeted.payload);
    BOOST_TEST(b->messages[1].target.user_ids == targeted.target.user_ids, boost::test_tools::per_element());
    BOOST_TEST(b->messages[1].target.channel == "news:eu");
    // Anything cut short or padded is refused as a whole.
    BOOST_TEST(!decode_bus_batch(published.substr(0, published.size() - 1)).has_value());
    BOOST_TEST(!decode_bus_batch(published + "x").has_value());
    BOOST_TEST(!decode_bus_batch("hello").has_value());
}

BOOST_AUTO_TEST_CASE(a_history_entry_is_one_message_of_a_batch) {
    message m;
    m.payload = "kept";
    m.target.channel = "news";
    const auto body = encode_bus_body(m);
    const auto entry = "41 " + std::to_string(body.size()) + "\n" + body;
    const auto decoded = decode_bus_entry(entry);
    BOOST_REQUIRE(decoded.has_value());
    BOOST_TEST(decoded->seq == 41u);
    BOOST_TEST(decoded->payload == "kept");
    BOOST_TEST(decoded->target.channel == "news");
    BOOST_TEST(!decode_bus_entry(entry + "x").has_value());
    BOOST_TEST(!decode_bus_entry(entry.substr(0, entry.size() - 1)).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

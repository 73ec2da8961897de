#include "wshub/client_text.hpp"

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>
#include <string>

using wshub::client_text;

BOOST_AUTO_TEST_SUITE(client_text_in_logs)

BOOST_AUTO_TEST_CASE(client_text_is_plain_or_quoted_and_escaped) {
    auto f = [](std::string_view v) { return fmt::format("{}", client_text{v}); };
    BOOST_TEST(f("alice") == "alice");
    BOOST_TEST(f("/im") == "/im");
    BOOST_TEST(f("") == "\"\"");
    BOOST_TEST(f("a b") == "\"a b\"");
    BOOST_TEST(f("a=b") == "\"a=b\"");
    BOOST_TEST(f("x\ny") == "\"x\\ny\"");
    BOOST_TEST(f("q\"\\") == "\"q\\\"\\\\\"");
    BOOST_TEST(f("\r\t\x01\x7f") == "\"\\r\\t\\x01\\x7f\"");
    BOOST_TEST(f("caf\xc3\xa9") == "\"caf\\xc3\\xa9\"");
}

BOOST_AUTO_TEST_SUITE_END()

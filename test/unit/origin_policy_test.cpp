#include "wshub/origin_policy.hpp"

#include <boost/test/unit_test.hpp>
#include <stdexcept>

using namespace wshub;

BOOST_AUTO_TEST_SUITE(origin_policy_rules)

BOOST_AUTO_TEST_CASE(empty_list_allows_anything_including_no_origin) {
    for (auto list : {"", "   ", "\t"}) {
        auto p = origin_policy::parse(list);
        BOOST_TEST(p.allows_any());
        BOOST_TEST(p.allowed("https://evil.example"));
        BOOST_TEST(p.allowed(""));
    }
    BOOST_TEST(origin_policy().allowed("null"));
}

BOOST_AUTO_TEST_CASE(listed_origins_match_exactly) {
    auto p = origin_policy::parse("https://a.example,http://localhost:8080");
    BOOST_TEST(!p.allows_any());
    BOOST_TEST(p.allowed("https://a.example"));
    BOOST_TEST(p.allowed("http://localhost:8080"));
    BOOST_TEST(!p.allowed("http://a.example"));       // other scheme
    BOOST_TEST(!p.allowed("https://a.example:8443")); // other port
    BOOST_TEST(!p.allowed("http://localhost"));       // other port
    BOOST_TEST(!p.allowed("https://b.a.example"));    // subdomain
    BOOST_TEST(!p.allowed("https://a.example.evil")); // suffix
    BOOST_TEST(!p.allowed("https://xa.example"));     // prefix
    BOOST_TEST(!p.allowed("https://a.example/x"));    // not an origin
    BOOST_TEST(!p.allowed("https://u@a.example"));    // userinfo
    BOOST_TEST(!p.allowed("null"));                   // opaque origin
}

BOOST_AUTO_TEST_CASE(missing_origin_is_refused_when_a_list_is_set) {
    auto p = origin_policy::parse("https://a.example");
    BOOST_TEST(!p.allowed(""));
    BOOST_TEST(!p.allowed("  "));
}

BOOST_AUTO_TEST_CASE(scheme_and_host_compare_without_case) {
    auto p = origin_policy::parse("HTTPS://A.Example");
    BOOST_TEST(p.allowed("https://a.example"));
    BOOST_TEST(p.allowed("hTTps://a.EXAMPLE"));
    BOOST_REQUIRE(p.origins().size() == 1u);
    BOOST_TEST(p.origins()[0] == "https://a.example");
}

BOOST_AUTO_TEST_CASE(default_ports_and_a_trailing_slash_are_normalised) {
    auto p = origin_policy::parse(" https://a.example:443/ , http://b.example:80");
    BOOST_TEST(p.allowed("https://a.example"));
    BOOST_TEST(p.allowed("https://a.example:443"));
    BOOST_TEST(p.allowed("http://b.example"));
    BOOST_TEST(!p.allowed("http://a.example"));
    BOOST_TEST(!p.allowed("https://b.example:80"));
}

BOOST_AUTO_TEST_CASE(ipv6_literals) {
    auto p = origin_policy::parse("http://[::1]:8080");
    BOOST_TEST(p.allowed("http://[::1]:8080"));
    BOOST_TEST(!p.allowed("http://[::1]"));
    BOOST_TEST(!p.allowed("http://[::1"));
}

BOOST_AUTO_TEST_CASE(star_allows_any) {
    auto p = origin_policy::parse("https://a.example, *");
    BOOST_TEST(p.allows_any());
    BOOST_TEST(p.allowed("https://other.example"));
    BOOST_TEST(p.allowed(""));
}

BOOST_AUTO_TEST_CASE(duplicates_collapse) {
    auto p = origin_policy::parse("https://a.example,HTTPS://a.example:443");
    BOOST_TEST(p.origins().size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_entries_throw) {
    for (auto list :
         {"a.example", "https://", "https://a.example,", ",https://a.example", "https://a.example,,x",
          "https://a.example/path", "https://a.example?q", "https://*.a.example", "https://a b",
          "https://a.example:0", "https://a.example:65536", "https://a.example:", "https://a.example:x",
          "://a.example", "1http://a.example", "null", "https://[zz]"}) {
        BOOST_CHECK_THROW(origin_policy::parse(list), std::invalid_argument);
    }
}

BOOST_AUTO_TEST_CASE(error_names_the_entry) {
    try {
        origin_policy::parse("https://ok.example, ftp//bad");
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("ftp//bad") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()

#include "ip_address.hpp"
#include "wshub/trusted_proxies.hpp"

#include <boost/test/unit_test.hpp>
#include <stdexcept>

using namespace wshub;
using wshub_test::addr;

BOOST_AUTO_TEST_SUITE(trusted_proxies_policy)

BOOST_AUTO_TEST_CASE(addresses_and_networks_of_both_families_are_trusted) {
    const auto t = trusted_proxies::parse(" 127.0.0.1, 10.1.0.0/16,::1 , fd00::/8,");
    BOOST_TEST(!t.empty());
    BOOST_TEST(t.trusts(addr("127.0.0.1")));
    BOOST_TEST(!t.trusts(addr("127.0.0.2")));
    BOOST_TEST(t.trusts(addr("10.1.200.3")));
    BOOST_TEST(!t.trusts(addr("10.2.0.1")));
    BOOST_TEST(t.trusts(addr("::1")));
    BOOST_TEST(t.trusts(addr("fd12:3456::1")));
    BOOST_TEST(!t.trusts(addr("2001:db8::1")));
    // A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6.
    BOOST_TEST(t.trusts(addr("::ffff:10.1.0.9")));
}

BOOST_AUTO_TEST_CASE(a_network_with_host_bits_set_means_its_network) {
    const auto t = trusted_proxies::parse("192.168.1.77/24");
    BOOST_TEST(t.trusts(addr("192.168.1.1")));
    BOOST_TEST(!t.trusts(addr("192.168.2.1")));
}

BOOST_AUTO_TEST_CASE(an_empty_list_trusts_nobody) {
    const auto t = trusted_proxies::parse(" , ");
    BOOST_TEST(t.empty());
    BOOST_TEST(!t.trusts(addr("127.0.0.1")));
    BOOST_TEST(trusted_proxies{}.client_address(addr("127.0.0.1"), "203.0.113.9", "203.0.113.9") ==
               addr("127.0.0.1"));
}

BOOST_AUTO_TEST_CASE(entries_that_are_not_addresses_are_refused_by_name) {
    for (const char* bad :
         {"proxy.local", "10.0.0.0/33", "::1/129", "10.0.0.1/", "1.2.3.4.5", "10.0.0.0/8/8"}) {
        try {
            trusted_proxies::parse(std::string("127.0.0.1,") + bad);
            BOOST_ERROR("accepted " << bad);
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).find(bad) != std::string::npos, e.what());
        }
    }
}

BOOST_AUTO_TEST_CASE(an_untrusted_peer_is_the_client_whatever_it_sends) {
    const auto t = trusted_proxies::parse("127.0.0.1");
    BOOST_TEST(t.client_address(addr("192.0.2.5"), "203.0.113.9", "203.0.113.9") == addr("192.0.2.5"));
}

BOOST_AUTO_TEST_CASE(the_client_is_the_last_untrusted_hop_of_x_forwarded_for) {
    const auto t = trusted_proxies::parse("127.0.0.1, 10.0.0.0/8");
    const auto proxy = addr("127.0.0.1");
    BOOST_TEST(t.client_address(proxy, "203.0.113.9", "") == addr("203.0.113.9"));
    // What the client itself wrote (a forged hop on the left) is passed over.
    BOOST_TEST(t.client_address(proxy, "1.1.1.1, 203.0.113.9", "") == addr("203.0.113.9"));
    // Trusted hops (a proxy chain) are passed over from the right.
    BOOST_TEST(t.client_address(proxy, "1.1.1.1, 203.0.113.9, 10.0.0.7,10.0.0.8", "") == addr("203.0.113.9"));
    // Every hop trusted: the leftmost.
    BOOST_TEST(t.client_address(proxy, "10.0.0.5, 10.0.0.7", "") == addr("10.0.0.5"));
    // Ports and brackets as some proxies write them.
    BOOST_TEST(t.client_address(proxy, "203.0.113.9:5555", "") == addr("203.0.113.9"));
    BOOST_TEST(t.client_address(proxy, "[2001:db8::7]:443", "") == addr("2001:db8::7"));
    BOOST_TEST(t.client_address(proxy, "2001:db8::7", "") == addr("2001:db8::7"));
    // X-Forwarded-For wins over X-Real-IP.
    BOOST_TEST(t.client_address(proxy, "203.0.113.9", "198.51.100.1") == addr("203.0.113.9"));
}

BOOST_AUTO_TEST_CASE(a_hop_that_is_not_an_address_ends_the_walk) {
    const auto t = trusted_proxies::parse("127.0.0.1, 10.0.0.0/8");
    const auto proxy = addr("127.0.0.1");
    BOOST_TEST(t.client_address(proxy, "unknown", "") == proxy);
    BOOST_TEST(t.client_address(proxy, "unknown, 10.0.0.7", "") == addr("10.0.0.7"));
    BOOST_TEST(t.client_address(proxy, "203.0.113.9, garbage", "") == proxy);
}

BOOST_AUTO_TEST_CASE(x_real_ip_is_used_without_x_forwarded_for) {
    const auto t = trusted_proxies::parse("::1");
    BOOST_TEST(t.client_address(addr("::1"), "", "198.51.100.1") == addr("198.51.100.1"));
    BOOST_TEST(t.client_address(addr("::1"), "  ", "2001:db8::1") == addr("2001:db8::1"));
    BOOST_TEST(t.client_address(addr("::1"), "", "not an address") == addr("::1"));
    BOOST_TEST(t.client_address(addr("::1"), "", "") == addr("::1"));
}

BOOST_AUTO_TEST_SUITE_END()

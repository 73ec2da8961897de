#include "wshub/upgrade_rate_limit.hpp"

#include <boost/test/unit_test.hpp>
#include <stdexcept>

using namespace wshub;
using namespace std::chrono_literals;
namespace ip = boost::asio::ip;

namespace {

const upgrade_rate_limit::time_point t0 = upgrade_rate_limit::time_point{} + 1000s;

ip::address v4(unsigned n) {
    return ip::address_v4(0xC6336400u + n); // 198.51.100.n
}

} // namespace

BOOST_AUTO_TEST_SUITE(upgrade_rate_limit_policy)

BOOST_AUTO_TEST_CASE(an_address_gets_its_burst_then_its_rate) {
    upgrade_rate_limit limit(2); // burst 4
    BOOST_TEST(limit.burst() == 4.0);
    for (int i = 0; i < 4; ++i)
        BOOST_TEST(limit.try_admit(v4(1), t0), i);
    BOOST_TEST(!limit.try_admit(v4(1), t0));
    BOOST_TEST(!limit.try_admit(v4(1), t0 + 250ms));
    BOOST_TEST(limit.try_admit(v4(1), t0 + 500ms));
    BOOST_TEST(!limit.try_admit(v4(1), t0 + 500ms));
}

BOOST_AUTO_TEST_CASE(addresses_are_counted_apart) {
    upgrade_rate_limit limit(0.5); // burst 1
    BOOST_TEST(limit.try_admit(v4(1), t0));
    BOOST_TEST(!limit.try_admit(v4(1), t0));
    BOOST_TEST(limit.try_admit(v4(2), t0));
    BOOST_TEST(limit.try_admit(ip::make_address("2001:db8::1"), t0));
    // The same /64 is one address, as for the connection limits; an IPv4-mapped address is IPv4.
    BOOST_TEST(!limit.try_admit(ip::make_address("2001:db8::2"), t0));
    BOOST_TEST(!limit.try_admit(ip::make_address("::ffff:198.51.100.1"), t0));
}

BOOST_AUTO_TEST_CASE(zero_is_unlimited_and_tracks_nothing) {
    upgrade_rate_limit limit(0);
    for (int i = 0; i < 1000; ++i)
        BOOST_REQUIRE(limit.try_admit(v4(1), t0));
    BOOST_TEST(limit.tracked_addresses() == 0u);
    BOOST_CHECK_THROW(upgrade_rate_limit(-1), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(addresses_are_forgotten_once_their_bucket_is_full_again) {
    upgrade_rate_limit limit(10); // burst 20, full again 2 s after its last upgrade
    for (unsigned i = 0; i < 500; ++i)
        BOOST_REQUIRE(limit.try_admit(v4(i % 250), t0));
    BOOST_TEST(limit.tracked_addresses() == 250u);
    BOOST_REQUIRE(limit.try_admit(v4(1000), t0 + 3s)); // a sweep runs first
    BOOST_TEST(limit.tracked_addresses() == 1u);
}

BOOST_AUTO_TEST_CASE(a_flood_from_many_addresses_is_bounded_in_memory) {
    upgrade_rate_limit limit(1, 100); // burst 2, at most 100 addresses
    unsigned admitted = 0;
    for (unsigned i = 0; i < 10'000; ++i)
        admitted += limit.try_admit(v4(i), t0);
    BOOST_TEST(limit.tracked_addresses() == 100u);
    BOOST_TEST(admitted == 100u); // the rest are refused while the table is full
    // Tracked addresses keep their own buckets meanwhile.
    BOOST_TEST(limit.try_admit(v4(5), t0));
    BOOST_TEST(!limit.try_admit(v4(5), t0));
    // Once their buckets have refilled, the table empties and new addresses are taken again.
    BOOST_TEST(limit.try_admit(v4(20'000), t0 + 3s));
    BOOST_TEST(limit.tracked_addresses() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

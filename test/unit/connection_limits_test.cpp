#include "ip_address.hpp"
#include "wshub/connection_limits.hpp"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <thread>
#include <vector>

using namespace wshub;
using wshub_test::addr;
namespace ip = boost::asio::ip;

BOOST_AUTO_TEST_SUITE(connection_limits_admission)

BOOST_AUTO_TEST_CASE(total_limit_refuses_with_its_reason) {
    connection_limits limits(2, 0);
    auto a = limits.try_acquire(addr("10.0.0.1"));
    auto b = limits.try_acquire(addr("10.0.0.2"));
    BOOST_REQUIRE(a && b);
    connection_limits::refusal why{};
    BOOST_TEST(!limits.try_acquire(addr("10.0.0.3"), &why));
    BOOST_TEST((why == connection_limits::refusal::server_full));
    BOOST_TEST(connection_limits::reason(why) == "server is at its connection limit");
    BOOST_TEST(limits.total() == 2u);
}

BOOST_AUTO_TEST_CASE(per_address_limit_refuses_only_that_address) {
    connection_limits limits(0, 2);
    auto a1 = limits.try_acquire(addr("192.0.2.1"));
    auto a2 = limits.try_acquire(addr("192.0.2.1"));
    BOOST_REQUIRE(a1 && a2);
    connection_limits::refusal why{};
    BOOST_TEST(!limits.try_acquire(addr("192.0.2.1"), &why));
    BOOST_TEST((why == connection_limits::refusal::too_many_from_address));
    BOOST_TEST(connection_limits::reason(why) == "too many connections from this address");
    BOOST_TEST(limits.try_acquire(addr("192.0.2.2")).has_value());
    BOOST_TEST(limits.count(addr("192.0.2.1")) == 2u);
}

BOOST_AUTO_TEST_CASE(total_limit_is_checked_first) {
    connection_limits limits(1, 1);
    auto a = limits.try_acquire(addr("192.0.2.1"));
    BOOST_REQUIRE(a);
    connection_limits::refusal why{};
    BOOST_TEST(!limits.try_acquire(addr("192.0.2.1"), &why));
    BOOST_TEST((why == connection_limits::refusal::server_full));
}

BOOST_AUTO_TEST_CASE(destroying_a_slot_releases_it_and_forgets_the_address) {
    connection_limits limits(1, 1);
    {
        auto s = limits.try_acquire(addr("192.0.2.1"));
        BOOST_REQUIRE(s);
        BOOST_TEST(limits.tracked_addresses() == 1u);
        BOOST_TEST(!limits.try_acquire(addr("192.0.2.9")));
    }
    BOOST_TEST(limits.total() == 0u);
    BOOST_TEST(limits.tracked_addresses() == 0u);
    BOOST_TEST(limits.try_acquire(addr("192.0.2.9")).has_value());
}

BOOST_AUTO_TEST_CASE(refusals_leave_no_entries_behind) {
    connection_limits limits(1, 5);
    auto s = limits.try_acquire(addr("192.0.2.1"));
    BOOST_REQUIRE(s);
    for (int i = 0; i < 100; ++i)
        BOOST_TEST(!limits.try_acquire(ip::make_address_v4(0x0A000000u + static_cast<unsigned>(i))));
    BOOST_TEST(limits.tracked_addresses() == 1u);
}

BOOST_AUTO_TEST_CASE(slots_move_and_release_once) {
    connection_limits limits(0, 3);
    auto s = limits.try_acquire(addr("192.0.2.1"));
    BOOST_REQUIRE(s);
    connection_limits::slot moved = std::move(*s);
    s.reset(); // the moved-from slot releases nothing
    BOOST_TEST(limits.count(addr("192.0.2.1")) == 1u);

    auto other = limits.try_acquire(addr("192.0.2.1"));
    BOOST_REQUIRE(other);
    BOOST_TEST(limits.count(addr("192.0.2.1")) == 2u);
    moved = std::move(*other); // releases what `moved` held
    BOOST_TEST(limits.count(addr("192.0.2.1")) == 1u);
    moved.release();
    moved.release();
    BOOST_TEST(limits.count(addr("192.0.2.1")) == 0u);
    BOOST_TEST(limits.total() == 0u);
}

BOOST_AUTO_TEST_CASE(a_slot_may_outlive_its_limits) {
    std::optional<connection_limits::slot> s;
    {
        connection_limits limits(1, 1);
        s = limits.try_acquire(addr("192.0.2.1"));
        BOOST_REQUIRE(s);
    }
    s.reset(); // must not touch freed memory (the sanitizer builds check this)
}

BOOST_AUTO_TEST_CASE(v4_mapped_v6_counts_as_v4) {
    connection_limits limits(0, 1);
    auto a = limits.try_acquire(addr("203.0.113.5"));
    BOOST_REQUIRE(a);
    BOOST_TEST(!limits.try_acquire(addr("::ffff:203.0.113.5")));
    BOOST_TEST(limits.count(addr("::ffff:203.0.113.5")) == 1u);
}

BOOST_AUTO_TEST_CASE(v6_counts_per_64_prefix) {
    connection_limits limits(0, 2);
    auto a = limits.try_acquire(addr("2001:db8:1:2::1"));
    auto b = limits.try_acquire(addr("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    BOOST_REQUIRE(a && b);
    BOOST_TEST(!limits.try_acquire(addr("2001:db8:1:2:abcd::7")));
    BOOST_TEST(limits.try_acquire(addr("2001:db8:1:3::1")).has_value());
    BOOST_TEST(connection_limits::key_for(addr("2001:db8:1:2:abcd::7")) == addr("2001:db8:1:2::"));
}

BOOST_AUTO_TEST_CASE(zero_means_unlimited) {
    connection_limits limits(0, 0);
    std::vector<connection_limits::slot> held;
    for (int i = 0; i < 1000; ++i) {
        auto s = limits.try_acquire(addr("192.0.2.1"));
        BOOST_REQUIRE(s);
        held.push_back(std::move(*s));
    }
    BOOST_TEST(limits.total() == 1000u);
    BOOST_TEST(limits.tracked_addresses() == 0u); // nothing to count per address
    held.clear();
    BOOST_TEST(limits.total() == 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_acquire_and_release_keep_the_limits) {
    constexpr std::size_t max_total = 12, max_per_ip = 5;
    constexpr int threads = 8, rounds = 2000;
    connection_limits limits(max_total, max_per_ip);
    std::atomic<bool> over_limit{false};
    std::atomic<int> admitted{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            std::vector<connection_limits::slot> held;
            for (int i = 0; i < rounds; ++i) {
                // Two threads share each address, so per-address counts are contended too.
                const auto peer = ip::make_address_v4(0xC0000200u + static_cast<unsigned>(t / 2));
                if (auto s = limits.try_acquire(peer)) {
                    ++admitted;
                    held.push_back(std::move(*s));
                }
                if (limits.total() > max_total || limits.count(peer) > max_per_ip) over_limit = true;
                if (held.size() > 3 || (i % 7 == 0 && !held.empty())) held.erase(held.begin());
            }
        });
    }
    for (auto& th : pool)
        th.join();
    BOOST_TEST(!over_limit.load());
    BOOST_TEST(admitted.load() > 0);
    BOOST_TEST(limits.total() == 0u);
    BOOST_TEST(limits.tracked_addresses() == 0u);
}

BOOST_AUTO_TEST_CASE(per_user_limit_counts_each_user_id) {
    connection_limits limits(0, 0, 2);
    auto a1 = limits.try_acquire(addr("10.0.0.1"), nullptr, "alice");
    auto a2 = limits.try_acquire(addr("10.0.0.2"), nullptr, "alice");
    BOOST_REQUIRE(a1 && a2);
    connection_limits::refusal why{};
    BOOST_TEST(!limits.try_acquire(addr("10.0.0.3"), &why, "alice"));
    BOOST_TEST((why == connection_limits::refusal::too_many_for_user));
    BOOST_TEST(connection_limits::reason(why) == "too many connections for this user");
    BOOST_TEST(limits.try_acquire(addr("10.0.0.3"), nullptr, "bob").has_value());
    BOOST_TEST(limits.count_user("alice") == 2u);
    a1->release();
    BOOST_TEST(limits.count_user("alice") == 1u);
    auto a3 = limits.try_acquire(addr("10.0.0.3"), nullptr, "alice");
    BOOST_TEST(a3.has_value());
    // Users with no connection are forgotten.
    a2.reset();
    a3.reset();
    BOOST_TEST(limits.count_user("alice") == 0u);
}

BOOST_AUTO_TEST_CASE(a_refusal_for_the_user_leaves_the_address_count_alone) {
    connection_limits limits(0, 5, 1);
    auto a = limits.try_acquire(addr("10.0.0.1"), nullptr, "alice");
    BOOST_REQUIRE(a);
    BOOST_TEST(!limits.try_acquire(addr("10.0.0.2"), nullptr, "alice"));
    BOOST_TEST(limits.count(addr("10.0.0.2")) == 0u);
    BOOST_TEST(limits.tracked_addresses() == 1u);
    BOOST_TEST(limits.total() == 1u);
}

BOOST_AUTO_TEST_CASE(unaddressed_slots_count_in_the_total_only) {
    connection_limits limits(2, 1);
    auto proxy1 = limits.try_acquire_unaddressed();
    BOOST_REQUIRE(proxy1);
    BOOST_TEST(limits.total() == 1u);
    BOOST_TEST(limits.tracked_addresses() == 0u);
    auto direct = limits.try_acquire(addr("10.0.0.1"));
    BOOST_REQUIRE(direct);
    connection_limits::refusal why{};
    BOOST_TEST(!limits.try_acquire_unaddressed(&why));
    BOOST_TEST((why == connection_limits::refusal::server_full));
    proxy1.reset();
    BOOST_TEST(limits.total() == 1u);
    BOOST_TEST(limits.count(addr("10.0.0.1")) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

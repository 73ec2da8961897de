#include "wshub/token_bucket.hpp"

#include <boost/test/unit_test.hpp>
#include <limits>
#include <stdexcept>

using namespace wshub;
using namespace std::chrono_literals;

namespace {

const token_bucket::time_point t0 = token_bucket::time_point{} + 1000s;

} // namespace

BOOST_AUTO_TEST_SUITE(token_bucket_policy)

BOOST_AUTO_TEST_CASE(starts_full_then_refuses_past_the_burst) {
    token_bucket b(10, 5);
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(b.try_take(1, t0), i);
    BOOST_TEST(!b.try_take(1, t0));
}

BOOST_AUTO_TEST_CASE(refills_at_the_rate) {
    token_bucket b(4, 5); // one token per 250 ms (binary fractions keep the sums exact)
    for (int i = 0; i < 5; ++i)
        BOOST_REQUIRE(b.try_take(1, t0));
    BOOST_TEST(!b.try_take(1, t0 + 125ms));
    BOOST_TEST(b.try_take(1, t0 + 250ms));
    BOOST_TEST(!b.try_take(1, t0 + 375ms));
    BOOST_TEST(b.try_take(1, t0 + 500ms));
}

BOOST_AUTO_TEST_CASE(refill_stops_at_the_burst) {
    token_bucket b(10, 5);
    BOOST_REQUIRE(b.try_take(5, t0));
    BOOST_TEST(b.available(t0 + 1h) == 5.0);
    BOOST_TEST(b.try_take(5, t0 + 1h));
    BOOST_TEST(!b.try_take(1, t0 + 1h));
}

BOOST_AUTO_TEST_CASE(average_rate_holds_over_a_long_run) {
    token_bucket b(100, 10);
    int taken = 0;
    for (int ms = 0; ms < 10'000; ++ms)
        taken += b.try_take(1, t0 + std::chrono::milliseconds(ms));
    // 10 s at 100/s plus the initial burst, give or take rounding.
    BOOST_TEST(taken >= 1005);
    BOOST_TEST(taken <= 1010);
}

BOOST_AUTO_TEST_CASE(zero_rate_is_unlimited) {
    token_bucket b(0, 0);
    BOOST_TEST(b.unlimited());
    for (int i = 0; i < 1000; ++i)
        BOOST_REQUIRE(b.try_take(1e9, t0));
}

BOOST_AUTO_TEST_CASE(a_take_larger_than_the_burst_passes_when_full_and_leaves_a_debt) {
    token_bucket b(1000, 100); // bytes/s
    BOOST_TEST(b.try_take(250, t0));
    BOOST_TEST(b.available(t0) == -150.0);
    BOOST_TEST(!b.try_take(1, t0 + 100ms)); // debt of 150 less 100 refilled
    BOOST_TEST(b.try_take(1, t0 + 160ms));
    // Not full again: a large take must wait until it is.
    BOOST_TEST(!b.try_take(250, t0 + 200ms));
    BOOST_TEST(b.try_take(250, t0 + 400ms));
}

BOOST_AUTO_TEST_CASE(byte_counts_are_fractional_tokens) {
    token_bucket b(1000, 1000);
    BOOST_TEST(b.try_take(999.5, t0));
    BOOST_TEST(!b.try_take(1, t0));
    BOOST_TEST(b.try_take(1, t0 + 1ms));
}

BOOST_AUTO_TEST_CASE(a_clock_going_backwards_refills_nothing) {
    token_bucket b(4, 1);
    BOOST_REQUIRE(b.try_take(1, t0));
    BOOST_TEST(!b.try_take(1, t0 - 10s));
    BOOST_TEST(!b.try_take(1, t0 + 125ms));
    BOOST_TEST(b.try_take(1, t0 + 250ms));
}

BOOST_AUTO_TEST_CASE(empty_takes_always_pass) {
    token_bucket b(1, 1);
    BOOST_REQUIRE(b.try_take(1, t0));
    BOOST_TEST(b.try_take(0, t0));
}

BOOST_AUTO_TEST_CASE(bad_parameters_throw) {
    BOOST_CHECK_THROW(token_bucket(-1, 10), std::invalid_argument);
    BOOST_CHECK_THROW(token_bucket(10, 0), std::invalid_argument);
    BOOST_CHECK_THROW(token_bucket(10, 0.5), std::invalid_argument);
    BOOST_CHECK_THROW(token_bucket(std::numeric_limits<double>::infinity(), 10), std::invalid_argument);
    BOOST_CHECK_THROW(token_bucket(std::numeric_limits<double>::quiet_NaN(), 10), std::invalid_argument);
    BOOST_CHECK_THROW(token_bucket(10, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

#include "wshub/outbox.hpp"

#include <array>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace wshub;
namespace asio = boost::asio;

namespace {

outbox::chunk make_chunk(std::string s) {
    auto owner = std::make_shared<const std::string>(std::move(s));
    return {owner, owner->data(), owner->size()};
}

std::string take(outbox& box, std::size_t max_bytes) {
    std::array<asio::const_buffer, 8> bufs;
    const std::size_t n = box.prepare(bufs);
    std::string out;
    for (std::size_t i = 0; i < n && out.size() < max_bytes; ++i) {
        const auto* p = static_cast<const char*>(bufs[i].data());
        out.append(p, std::min(bufs[i].size(), max_bytes - out.size()));
    }
    box.consume(out.size());
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(outbox_policy)

BOOST_AUTO_TEST_CASE(bytes_come_out_in_order_across_partial_writes) {
    outbox box(1024);
    BOOST_TEST((box.push(make_chunk("hello ")) == outbox::push_result::accepted));
    BOOST_TEST((box.push(make_chunk("world")) == outbox::push_result::accepted));
    BOOST_TEST(box.queued_bytes() == 11u);
    std::string got = take(box, 4);
    got += take(box, 3);
    got += take(box, 100);
    BOOST_TEST(got == "hello world");
    BOOST_TEST(box.empty());
    BOOST_TEST(box.queued_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(empty_queue_takes_a_chunk_larger_than_the_limit) {
    outbox box(16);
    BOOST_TEST((box.push(make_chunk(std::string(100, 'x'))) == outbox::push_result::accepted));
    BOOST_TEST((box.push(make_chunk("y")) == outbox::push_result::overflow));
}

BOOST_AUTO_TEST_CASE(overflow_when_backlog_would_pass_the_limit) {
    outbox box(10);
    BOOST_TEST((box.push(make_chunk("12345")) == outbox::push_result::accepted));
    BOOST_TEST((box.push(make_chunk("12345")) == outbox::push_result::accepted));
    BOOST_TEST((box.push(make_chunk("1")) == outbox::push_result::overflow));
    BOOST_TEST(box.queued_bytes() == 10u); // a refused chunk is not queued
}

BOOST_AUTO_TEST_CASE(drop_unsent_keeps_the_chunk_on_the_wire) {
    outbox box(100);
    box.push(make_chunk("aaaa"));
    box.push(make_chunk("bbbb"));
    box.push(make_chunk("cccc"));
    std::array<asio::const_buffer, 1> one;
    BOOST_TEST(box.prepare(one) == 1u); // a write of the first chunk is in flight
    box.drop_unsent();
    BOOST_TEST(box.queued_bytes() == 4u);
    box.consume(2); // the write finished partly
    BOOST_TEST(take(box, 100) == "aa");
    BOOST_TEST(box.empty());
}

BOOST_AUTO_TEST_CASE(drop_unsent_keeps_a_partly_written_chunk) {
    outbox box(100);
    box.push(make_chunk("aaaa"));
    box.push(make_chunk("bbbb"));
    BOOST_TEST(take(box, 1) == "a");
    box.drop_unsent();
    BOOST_TEST(take(box, 100) == "aaa"); // the frame on the wire is finished, nothing after it
}

BOOST_AUTO_TEST_CASE(final_chunk_passes_the_limit_and_closes) {
    outbox box(4);
    box.push(make_chunk("1234"));
    BOOST_TEST((box.push_final(make_chunk("close")) == outbox::push_result::accepted));
    BOOST_TEST(box.closed());
    BOOST_TEST((box.push(make_chunk("late")) == outbox::push_result::closed));
    BOOST_TEST(take(box, 100) == "1234close");
}

BOOST_AUTO_TEST_CASE(long_backlog_is_compacted_without_losing_order) {
    outbox box(1 << 20);
    std::string expected;
    for (int i = 0; i < 1000; ++i) {
        auto s = std::to_string(i) + ",";
        expected += s;
        box.push(make_chunk(s));
    }
    std::string got;
    while (!box.empty())
        got += take(box, 7);
    BOOST_TEST(got == expected);
}

BOOST_AUTO_TEST_CASE(a_backlog_over_the_soft_limit_is_tolerated_for_the_grace_period) {
    using namespace std::chrono_literals;
    const outbox::clock::time_point t0{};
    outbox box(outbox::limits{10, 100, 5s});
    BOOST_TEST((box.push(make_chunk(std::string(8, 'a')), t0) == outbox::push_result::accepted));
    BOOST_TEST((box.push(make_chunk(std::string(8, 'b')), t0 + 1s) == outbox::push_result::accepted));
    BOOST_TEST(!box.too_slow(t0 + 5s)); // over since t0 + 1 s
    BOOST_TEST((box.push(make_chunk("c"), t0 + 5s) == outbox::push_result::accepted));
    BOOST_TEST(box.too_slow(t0 + 6s));
    BOOST_TEST((box.push(make_chunk("d"), t0 + 6s) == outbox::push_result::overflow));
}

BOOST_AUTO_TEST_CASE(catching_up_below_the_soft_limit_restarts_the_grace_period) {
    using namespace std::chrono_literals;
    const outbox::clock::time_point t0{};
    outbox box(outbox::limits{10, 100, 5s});
    BOOST_TEST((box.push(make_chunk(std::string(30, 'a')), t0) == outbox::push_result::accepted));
    take(box, 25); // 5 left: caught up
    BOOST_TEST(!box.too_slow(t0 + 10s));
    BOOST_TEST((box.push(make_chunk(std::string(30, 'b')), t0 + 10s) == outbox::push_result::accepted));
    BOOST_TEST(!box.too_slow(t0 + 14s));
    BOOST_TEST(box.too_slow(t0 + 15s));
}

BOOST_AUTO_TEST_CASE(the_hard_limit_refuses_at_once) {
    using namespace std::chrono_literals;
    const outbox::clock::time_point t0{};
    outbox box(outbox::limits{10, 40, 5s});
    BOOST_TEST((box.push(make_chunk(std::string(30, 'a')), t0) == outbox::push_result::accepted));
    BOOST_TEST((box.push(make_chunk(std::string(11, 'b')), t0) == outbox::push_result::overflow));
    BOOST_TEST((box.push(make_chunk(std::string(10, 'c')), t0) == outbox::push_result::accepted));
    BOOST_TEST(box.queued_bytes() == 40u);
}

BOOST_AUTO_TEST_CASE(the_queued_bytes_gauge_follows_every_change) {
    owned_counter gauge;
    gauge.add(1000); // other outboxes' bytes
    {
        outbox box(outbox::limits{8, 8, outbox::clock::duration::max()}, &gauge);
        BOOST_TEST((box.push(make_chunk("hello ")) == outbox::push_result::accepted));
        BOOST_TEST((box.push(make_chunk("world")) == outbox::push_result::overflow)); // refused: not counted
        BOOST_TEST(gauge.value() == 1006u);
        BOOST_TEST(take(box, 4) == "hell");
        BOOST_TEST(gauge.value() == 1002u);
        BOOST_TEST((box.push(make_chunk("!")) == outbox::push_result::accepted));
        BOOST_TEST(gauge.value() == 1003u);
        box.drop_unsent(); // the partly written chunk stays, "!" goes
        BOOST_TEST(gauge.value() == box.queued_bytes() + 1000);
        BOOST_TEST((box.push_final(make_chunk("bye")) == outbox::push_result::accepted));
        BOOST_TEST(gauge.value() == box.queued_bytes() + 1000);
    }
    // What an outbox still held when it went is taken off.
    BOOST_TEST(gauge.value() == 1000u);
}

BOOST_AUTO_TEST_SUITE_END()

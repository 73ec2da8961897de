#include "wshub/stream_history.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

using namespace wshub;
using clock_type = std::chrono::steady_clock;

namespace {

const clock_type::time_point t0{std::chrono::hours(1)};

// A batch of messages numbered `seqs` in `channel` ("" the all-clients stream), as the sender
// would number them at `at`.
frame_batch_ptr batch(const std::string& channel, std::vector<std::uint64_t> seqs,
                      clock_type::time_point at = t0) {
    static std::uint64_t order = 0;
    auto b = std::make_shared<frame_batch>();
    b->numbered_at = at;
    for (auto s : seqs) {
        frame_batch::frame f;
        f.begin = b->bytes.size();
        const auto payload = channel + std::to_string(s);
        f.header = static_cast<std::uint8_t>(frame_header_size(payload.size()));
        append_frame(b->bytes, opcode::text, payload);
        f.size = b->bytes.size() - f.begin;
        f.order = ++order;
        f.seq = s;
        f.target.channel = channel;
        b->frames.push_back(std::move(f));
    }
    return b;
}

std::vector<std::uint64_t> seqs(const std::vector<stream_history::kept>& kept) {
    std::vector<std::uint64_t> out;
    for (const auto& k : kept)
        out.push_back(k.frame().seq);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(stream_history_recovery)

BOOST_AUTO_TEST_CASE(streams_are_kept_apart_and_report_their_last_seq) {
    stream_history h(10, 1 << 20, std::chrono::seconds(60));
    BOOST_TEST(h.last("") == 0u);
    h.record(batch("", {1, 2}));
    h.record(batch("news", {1}));
    BOOST_TEST(h.last("") == 2u);
    BOOST_TEST(h.last("news") == 1u);
    BOOST_TEST(h.last("sport") == 0u);
    std::vector<stream_history::kept> out;
    const auto c = h.after("", 1, t0, out);
    BOOST_TEST(c.covered);
    BOOST_TEST(seqs(out) == std::vector<std::uint64_t>{2}, boost::test_tools::per_element());
    BOOST_TEST(out.front().frame().payload(out.front().batch->bytes) == "2");
}

BOOST_AUTO_TEST_CASE(the_last_position_is_covered_with_nothing_to_replay) {
    stream_history h(10, 1 << 20, std::chrono::seconds(60));
    h.record(batch("", {1, 2, 3}));
    std::vector<stream_history::kept> out;
    BOOST_TEST(h.after("", 3, t0, out).covered);
    BOOST_TEST(out.empty());
    BOOST_TEST(h.after("", 0, t0, out).covered);
    BOOST_TEST(out.size() == 3u);
}

BOOST_AUTO_TEST_CASE(past_the_size_the_oldest_go_and_an_older_position_is_a_gap) {
    stream_history h(3, 1 << 20, std::chrono::seconds(60));
    h.record(batch("", {1, 2, 3, 4}));
    h.record(batch("", {5}));
    std::vector<stream_history::kept> out;
    auto c = h.after("", 2, t0, out); // 3 is still kept: nothing after 2 is lost
    BOOST_TEST(c.covered);
    BOOST_TEST(seqs(out) == (std::vector<std::uint64_t>{3, 4, 5}), boost::test_tools::per_element());
    out.clear();
    c = h.after("", 1, t0, out); // 2 is gone
    BOOST_TEST(!c.covered);
    BOOST_TEST(c.oldest == 3u);
    BOOST_TEST(seqs(out) == (std::vector<std::uint64_t>{3, 4, 5}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_position_past_the_last_is_a_gap) {
    stream_history h(3, 1 << 20, std::chrono::seconds(60));
    h.record(batch("news", {1, 2}));
    std::vector<stream_history::kept> out;
    const auto c = h.after("news", 7, t0, out);
    BOOST_TEST(!c.covered);
    BOOST_TEST(c.oldest == 1u);
    BOOST_TEST(out.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_channel_never_published_to_covers_only_position_zero_and_is_not_made_a_stream) {
    stream_history h(3, 1 << 20, std::chrono::seconds(60));
    std::vector<stream_history::kept> out;
    BOOST_TEST(h.after("quiet", 0, t0, out).covered);
    const auto c = h.after("quiet", 5, t0, out);
    BOOST_TEST(!c.covered);
    BOOST_TEST(c.oldest == 1u);
    BOOST_TEST(out.empty());
    BOOST_TEST(h.last("quiet") == 0u);
}

BOOST_AUTO_TEST_CASE(messages_older_than_the_ttl_are_not_replayed) {
    stream_history h(10, 1 << 20, std::chrono::seconds(60));
    h.record(batch("", {1, 2}, t0));
    h.record(batch("", {3}, t0 + std::chrono::seconds(50)));
    std::vector<stream_history::kept> out;
    const auto later = t0 + std::chrono::seconds(90);
    auto c = h.after("", 0, later, out);
    BOOST_TEST(!c.covered);
    BOOST_TEST(c.oldest == 3u);
    BOOST_TEST(seqs(out) == std::vector<std::uint64_t>{3}, boost::test_tools::per_element());
    // The sweep drops them from every stream, and the last seq stays.
    h.expire(t0 + std::chrono::seconds(200));
    out.clear();
    c = h.after("", 3, t0 + std::chrono::seconds(200), out);
    BOOST_TEST(c.covered);
    BOOST_TEST(c.oldest == 4u);
    BOOST_TEST(h.last("") == 3u);
}

BOOST_AUTO_TEST_CASE(past_the_byte_bound_the_oldest_go_and_a_larger_message_is_not_kept) {
    // Frames of "1".."9": 3 bytes each (2 of header).
    stream_history h(100, 7, std::chrono::seconds(60));
    h.record(batch("", {1, 2, 3}));
    std::vector<stream_history::kept> out;
    auto c = h.after("", 0, t0, out);
    BOOST_TEST(!c.covered);
    BOOST_TEST(c.oldest == 2u);
    BOOST_TEST(seqs(out) == (std::vector<std::uint64_t>{2, 3}), boost::test_tools::per_element());
    stream_history tiny(100, 2, std::chrono::seconds(60));
    tiny.record(batch("", {1}));
    out.clear();
    BOOST_TEST(!tiny.after("", 0, t0, out).covered);
    BOOST_TEST(out.empty());
    BOOST_TEST(tiny.last("") == 1u);
}

BOOST_AUTO_TEST_CASE(a_size_of_zero_keeps_nothing_but_still_numbers) {
    stream_history h(0, 1 << 20, std::chrono::seconds(60));
    h.record(batch("", {1, 2}));
    std::vector<stream_history::kept> out;
    BOOST_TEST(h.after("", 2, t0, out).covered);
    BOOST_TEST(!h.after("", 1, t0, out).covered);
    BOOST_TEST(out.empty());
    BOOST_TEST(h.last("") == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

#include "wshub/utf8.hpp"

#include <boost/beast/websocket/detail/utf8_checker.hpp>
#include <boost/test/unit_test.hpp>
#include <random>
#include <string>
#include <string_view>

using namespace wshub;

namespace {

std::string hex(std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
        out += ' ';
    }
    return out;
}

// Feeds `s` to a validator in pieces of `piece` bytes; false as soon as one piece is refused.
bool valid_in_pieces(std::string_view s, std::size_t piece) {
    utf8_validator v;
    for (std::size_t at = 0; at < s.size(); at += piece)
        if (!v.feed(s.substr(at, piece))) return false;
    return v.complete();
}

} // namespace

BOOST_AUTO_TEST_SUITE(utf8)

BOOST_AUTO_TEST_CASE(valid_sequences_of_every_length) {
    BOOST_TEST(is_valid_utf8(""));
    BOOST_TEST(is_valid_utf8("plain ASCII, \x01 and \x7F"));
    BOOST_TEST(is_valid_utf8("\xC2\x80 \xDF\xBF"));                      // U+0080, U+07FF
    BOOST_TEST(is_valid_utf8("\xE0\xA0\x80 \xED\x9F\xBF \xEF\xBF\xBF")); // U+0800, U+D7FF, U+FFFF
    BOOST_TEST(is_valid_utf8("\xEE\x80\x80"));                           // U+E000, past the surrogates
    BOOST_TEST(is_valid_utf8("\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF"));      // U+10000, U+10FFFF
}

BOOST_AUTO_TEST_CASE(overlong_forms_are_invalid) {
    BOOST_TEST(!is_valid_utf8("\xC0\x80"));
    BOOST_TEST(!is_valid_utf8("\xC1\xBF"));
    BOOST_TEST(!is_valid_utf8("\xE0\x80\x80"));
    BOOST_TEST(!is_valid_utf8("\xE0\x9F\xBF"));
    BOOST_TEST(!is_valid_utf8("\xF0\x80\x80\x80"));
    BOOST_TEST(!is_valid_utf8("\xF0\x8F\xBF\xBF"));
}

BOOST_AUTO_TEST_CASE(surrogates_and_code_points_past_10ffff_are_invalid) {
    BOOST_TEST(!is_valid_utf8("\xED\xA0\x80")); // U+D800
    BOOST_TEST(!is_valid_utf8("\xED\xBF\xBF")); // U+DFFF
    BOOST_TEST(!is_valid_utf8("\xF4\x90\x80\x80"));
    BOOST_TEST(!is_valid_utf8("\xF5\x80\x80\x80"));
    BOOST_TEST(!is_valid_utf8("\xFF"));
}

BOOST_AUTO_TEST_CASE(truncated_sequences_at_the_end_are_invalid) {
    for (std::string_view s : {"a\xC3", "a\xE2\x82", "a\xE2", "a\xF0\x9F\x98", "a\xF0\x9F", "a\xF0"})
        BOOST_TEST(!is_valid_utf8(s), hex(s));
    // Truncated in the middle: the next byte is not a continuation.
    BOOST_TEST(!is_valid_utf8("\xE2\x82"
                              "A"));
}

BOOST_AUTO_TEST_CASE(stray_continuation_bytes_are_invalid) {
    BOOST_TEST(!is_valid_utf8("\x80"));
    BOOST_TEST(!is_valid_utf8("a\xBF"));
    BOOST_TEST(!is_valid_utf8("\xC3\xA9\xA9")); // one continuation too many
}

BOOST_AUTO_TEST_CASE(a_bad_byte_anywhere_in_an_ascii_run_is_found) {
    // The ASCII fast path reads eight bytes at a time: put the bad byte at every offset of the
    // first two words and the tail, in runs of lengths around a multiple of eight.
    for (std::size_t length : {9u, 16u, 17u, 23u, 24u}) {
        for (std::size_t at = 0; at <= 16 && at < length; ++at) {
            std::string s(length, 'a');
            s[at] = '\x80';
            BOOST_TEST(!is_valid_utf8(s), "length " << length << " at " << at);
            s[at] = '\xFE';
            BOOST_TEST(!is_valid_utf8(s), "length " << length << " at " << at);
            s[at] = '\xC3'; // truncated by the 'a' after it, or by the end
            BOOST_TEST(!is_valid_utf8(s), "length " << length << " at " << at);
            // And a good character there is no false alarm.
            s.replace(at, 1, "\xC3\xA9");
            BOOST_TEST(is_valid_utf8(s), "length " << length << " at " << at);
        }
    }
}

BOOST_AUTO_TEST_CASE(agrees_with_beast_on_random_bytes) {
    std::mt19937 rng(20240611);
    std::uniform_int_distribution<int> length(0, 12);
    std::uniform_int_distribution<int> any(0x00, 0xFF);
    std::uniform_int_distribution<int> high(0x80, 0xF5); // where the interesting cases are
    std::uniform_int_distribution<int> pick(0, 3);
    int valid = 0;
    for (int round = 0; round < 5000; ++round) {
        std::string s;
        for (int i = length(rng); i > 0; --i)
            s += static_cast<char>(pick(rng) == 0 ? any(rng) : high(rng));
        const bool ours = is_valid_utf8(s);
        const bool beast = boost::beast::websocket::detail::check_utf8(s.data(), s.size());
        BOOST_TEST(ours == beast, hex(s));
        if (ours != beast) break; // one report is enough
        valid += ours;
    }
    // Both answers occur, or the comparison would say little.
    BOOST_TEST(valid > 100);
    BOOST_TEST(valid < 4900);
}

BOOST_AUTO_TEST_CASE(pieces_of_any_size_give_the_same_answer) {
    for (std::string_view s :
         {"", "plain", "\xC2\x80 \xDF\xBF", "price: \xE2\x82\xAC 5", "\xF0\x9F\x98\x80 and \xF4\x8F\xBF\xBF",
          "\xC3\x28", "ok \xC0\xAF", "\xED\xA0\x80", "a\xF0\x9F\x98", "\xFF"})
        for (std::size_t piece = 1; piece <= 9; ++piece)
            BOOST_TEST(valid_in_pieces(s, piece) == is_valid_utf8(s), hex(s) << "in pieces of " << piece);
}

BOOST_AUTO_TEST_CASE(refuses_at_the_first_byte_nothing_valid_can_follow) {
    // A prefix that valid text could still continue is fine but not complete.
    utf8_validator v;
    BOOST_TEST(v.feed("abc \xE2\x82"));
    BOOST_TEST(v.valid());
    BOOST_TEST(!v.complete());
    BOOST_TEST(v.feed("\xAC"));
    BOOST_TEST(v.complete());
    // These can begin nothing valid, whatever comes next.
    for (std::string_view bad : {"\xFF", "\x80", "\xC0", "\xC1", "\xF5", "\xE0\x9F", "\xED\xA0", "\xF0\x8F",
                                 "\xF4\x90", "\xE2\x82("}) {
        utf8_validator w;
        BOOST_TEST(w.feed("fine so far "));
        BOOST_TEST(!w.feed(bad), hex(bad));
        BOOST_TEST(!w.valid());
        // And it stays refused.
        BOOST_TEST(!w.feed("more"));
        BOOST_TEST(!w.complete());
    }
}

BOOST_AUTO_TEST_CASE(reset_starts_a_new_sequence) {
    utf8_validator v;
    BOOST_TEST(!v.feed("\xFF"));
    v.reset();
    BOOST_TEST(v.complete());
    BOOST_TEST(v.feed("\xC3"));
    v.reset();
    BOOST_TEST(v.complete()); // the cut character belonged to the old sequence
}

BOOST_AUTO_TEST_SUITE_END()

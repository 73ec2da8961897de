#include "wshub/frame.hpp"
#include "wshub/frame_parser.hpp"

#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace wshub;

namespace {

// The suite below is named frame_parser too.
using parser = wshub::frame_parser;
using kind = frame_event::kind;

struct frame_options {
    bool fin = true;
    std::uint8_t rsv = 0;  // the three reserved bits, 0..7
    bool masked = true;    // clients must mask; false to check that an unmasked frame is refused
    int length_bytes = -1; // extended length bytes: 0, 2 or 8; -1 for the minimal encoding
    std::array<unsigned char, 4> mask{0xA7, 0x3C, 0x01, 0xF6}; // no zero byte: masking must show
};

// A client-to-server frame as a browser would send it (unless `o` says otherwise).
std::string client_frame(opcode op, std::string_view payload, frame_options o = {}) {
    std::string out;
    out += static_cast<char>((o.fin ? 0x80 : 0) | (o.rsv << 4) | static_cast<std::uint8_t>(op));
    const std::uint64_t n = payload.size();
    const int length_bytes = o.length_bytes >= 0 ? o.length_bytes : n < 126 ? 0 : n <= 0xFFFF ? 2 : 8;
    const unsigned mask_bit = o.masked ? 0x80 : 0;
    if (length_bytes == 0) {
        out += static_cast<char>(mask_bit | n);
    } else {
        out += static_cast<char>(mask_bit | (length_bytes == 2 ? 126 : 127));
        for (int i = length_bytes - 1; i >= 0; --i)
            out += static_cast<char>((n >> (8 * i)) & 0xFF);
    }
    if (o.masked) out.append(reinterpret_cast<const char*>(o.mask.data()), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out += static_cast<char>(o.masked ? payload[i] ^ o.mask[i & 3] : payload[i]);
    return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    return p.append(reason);
}

// One line per event, so sequences of events compare (and print) as strings.
std::string describe(const frame_event& e) {
    switch (e.what) {
    case kind::message:
        return (e.text ? "text:" : "binary:") + e.payload + "\n";
    case kind::ping:
        return "ping:" + e.payload + "\n";
    case kind::pong:
        return "pong\n";
    case kind::close:
        return "close " + std::to_string(e.code) + ":" + e.payload + "\n";
    case kind::violation:
        return "violation " + std::to_string(e.code) + "\n";
    }
    return "?\n";
}

// Feeds `chunks` in order, draining each, and describes every event. A chunk is always consumed
// whole unless the parser is done.
std::string feed(parser& p, const std::vector<std::string_view>& chunks) {
    std::string events;
    for (auto chunk : chunks) {
        std::span<const char> in(chunk.data(), chunk.size());
        while (auto e = p.next(in))
            events += describe(*e);
        if (!p.done()) BOOST_TEST(in.empty());
    }
    return events;
}

std::string parse_whole(std::string_view bytes, std::size_t max_size = 1 << 20) {
    parser p(max_size);
    return feed(p, {bytes});
}

// The one event that `bytes` produces, fed whole.
frame_event parse_one(std::string_view bytes, std::size_t max_size = 1 << 20) {
    parser p(max_size);
    std::span<const char> in(bytes.data(), bytes.size());
    auto e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    return *e;
}

std::uint16_t violation_code(std::string_view bytes, std::size_t max_size = 1 << 20) {
    parser p(max_size);
    std::span<const char> in(bytes.data(), bytes.size());
    while (auto e = p.next(in))
        if (e->what == kind::violation) {
            BOOST_TEST(p.done());
            return e->code;
        }
    return 0;
}

// A little of everything: a fragmented text message (a multi-byte character split across the
// fragments) with a ping between the fragments, a binary frame with a 16-bit length, an empty
// message, a pong and a close with a reason.
std::string mixed_stream() {
    return client_frame(opcode::text, "h\xC3\xA9llo \xE2\x82", {.fin = false}) +
           client_frame(opcode::ping, "are you there") +
           client_frame(opcode::continuation, "\xAC!", {.fin = true}) +
           client_frame(opcode::binary, std::string(300, '\x9B')) + client_frame(opcode::text, "") +
           client_frame(opcode::pong, "x") + client_frame(opcode::close, close_payload(1001, "bye"));
}

} // namespace

BOOST_AUTO_TEST_SUITE(frame_parser)

BOOST_AUTO_TEST_CASE(masked_text_message_is_unmasked) {
    const auto e = parse_one(client_frame(opcode::text, "Hello, wshub"));
    BOOST_TEST((e.what == kind::message));
    BOOST_TEST(e.text);
    BOOST_TEST(e.payload == "Hello, wshub");
}

BOOST_AUTO_TEST_CASE(binary_message_keeps_every_byte) {
    std::string payload;
    for (int i = 0; i < 256; ++i)
        payload += static_cast<char>(i);
    const auto e = parse_one(client_frame(opcode::binary, payload));
    BOOST_TEST((e.what == kind::message));
    BOOST_TEST(!e.text);
    BOOST_TEST(e.payload == payload);
}

BOOST_AUTO_TEST_CASE(bytes_may_arrive_split_at_any_point) {
    const auto bytes = mixed_stream();
    const auto whole = parse_whole(bytes);
    BOOST_TEST(whole == "ping:are you there\ntext:h\xC3\xA9llo \xE2\x82\xAC!\nbinary:" +
                            std::string(300, '\x9B') + "\ntext:\npong\nclose 1001:bye\n");

    // One byte at a time.
    {
        parser p(1 << 20);
        std::vector<std::string_view> bytewise;
        for (std::size_t i = 0; i < bytes.size(); ++i)
            bytewise.push_back(std::string_view(bytes).substr(i, 1));
        BOOST_TEST(feed(p, bytewise) == whole);
        BOOST_TEST(p.done());
    }
    // Two pieces, split at every point.
    for (std::size_t split = 0; split <= bytes.size(); ++split) {
        parser p(1 << 20);
        const std::string_view view(bytes);
        BOOST_TEST(feed(p, {view.substr(0, split), view.substr(split)}) == whole, "split at " << split);
    }
}

BOOST_AUTO_TEST_CASE(header_with_a_64_bit_length_may_be_split_anywhere) {
    const auto bytes = client_frame(opcode::binary, std::string(70000, 'z'));
    const auto whole = parse_whole(bytes);
    BOOST_TEST(whole == "binary:" + std::string(70000, 'z') + "\n");
    for (std::size_t split = 0; split <= 16; ++split) {
        parser p(1 << 20);
        const std::string_view view(bytes);
        BOOST_TEST(feed(p, {view.substr(0, split), view.substr(split)}) == whole, "split at " << split);
    }
}

BOOST_AUTO_TEST_CASE(each_call_consumes_exactly_one_event) {
    const auto a = client_frame(opcode::text, "one");
    const auto b = client_frame(opcode::ping, "two");
    const auto c = client_frame(opcode::binary, "three");
    const auto partial = client_frame(opcode::text, "four").substr(0, 5);
    const auto bytes = a + b + c + partial;
    parser p(1024);
    std::span<const char> in(bytes.data(), bytes.size());

    auto e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST(describe(*e) == "text:one\n");
    BOOST_TEST(in.size() == bytes.size() - a.size());
    e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST(describe(*e) == "ping:two\n");
    BOOST_TEST(in.size() == partial.size() + c.size());
    e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST(describe(*e) == "binary:three\n");
    BOOST_TEST(in.size() == partial.size());
    BOOST_TEST(!p.mid_message());
    // What is left is kept for the next call.
    BOOST_TEST(!p.next(in).has_value());
    BOOST_TEST(in.empty());
    BOOST_TEST(p.mid_message());
    const auto rest = client_frame(opcode::text, "four").substr(5);
    in = std::span<const char>(rest.data(), rest.size());
    e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST(describe(*e) == "text:four\n");
    BOOST_TEST(in.empty());
}

BOOST_AUTO_TEST_CASE(ping_between_fragments_comes_before_the_message) {
    const auto bytes = client_frame(opcode::text, "Hel", {.fin = false}) + client_frame(opcode::ping, "p") +
                       client_frame(opcode::continuation, "lo, ", {.fin = false}) +
                       client_frame(opcode::continuation, "world");
    parser p(1024);
    std::span<const char> in(bytes.data(), bytes.size());
    auto e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST(describe(*e) == "ping:p\n");
    // The first fragment is held until the message is whole.
    BOOST_TEST(p.mid_message());
    e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST(describe(*e) == "text:Hello, world\n");
    BOOST_TEST(!p.mid_message());
    BOOST_TEST(in.empty());
}

BOOST_AUTO_TEST_CASE(fragmented_binary_message_is_binary) {
    const auto bytes = client_frame(opcode::binary, "\xFF\xFE", {.fin = false}) +
                       client_frame(opcode::continuation, "", {.fin = false}) +
                       client_frame(opcode::continuation, "\xFD");
    BOOST_TEST(parse_whole(bytes) == "binary:\xFF\xFE\xFD\n");
}

BOOST_AUTO_TEST_CASE(sixteen_and_sixty_four_bit_lengths) {
    for (std::size_t n : {125u, 126u, 65535u, 65536u}) {
        std::string payload(n, 'a');
        for (std::size_t i = 0; i < n; i += 7)
            payload[i] = static_cast<char>('a' + i % 26);
        const auto bytes = client_frame(opcode::binary, payload);
        // The helper's minimal encoding, so the parser sees each length form.
        const std::size_t len7 = static_cast<unsigned char>(bytes[1]) & 0x7F;
        BOOST_TEST(len7 == (n < 126 ? n : n <= 0xFFFF ? 126u : 127u));
        const auto e = parse_one(bytes, 65536);
        BOOST_TEST((e.what == kind::message));
        BOOST_TEST(e.payload.size() == n);
        BOOST_TEST((e.payload == payload));
    }
}

BOOST_AUTO_TEST_CASE(non_minimal_lengths_are_1002) {
    // RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length".
    BOOST_TEST(violation_code(client_frame(opcode::binary, "hello", {.length_bytes = 2})) == 1002);
    BOOST_TEST(violation_code(client_frame(opcode::binary, std::string(125, 'x'), {.length_bytes = 2})) ==
               1002);
    BOOST_TEST(violation_code(client_frame(opcode::binary, "hello", {.length_bytes = 8})) == 1002);
    BOOST_TEST(violation_code(client_frame(opcode::binary, std::string(65535, 'x'), {.length_bytes = 8})) ==
               1002);
    BOOST_TEST(violation_code(client_frame(opcode::ping, "", {.length_bytes = 2})) == 1002);
}

BOOST_AUTO_TEST_CASE(sixty_four_bit_length_with_top_bit_is_1002) {
    std::string bytes = "\x82\xFF";
    bytes += '\x80';
    bytes.append(7, '\0');
    bytes += "\x01\x02\x03\x04";
    // Not 1009: the length is malformed, not merely large.
    BOOST_TEST(violation_code(bytes, 1 << 20) == 1002);
}

BOOST_AUTO_TEST_CASE(unmasked_frame_is_1002) {
    BOOST_TEST(violation_code(client_frame(opcode::text, "hi", {.masked = false})) == 1002);
    BOOST_TEST(violation_code(client_frame(opcode::ping, "", {.masked = false})) == 1002);
}

BOOST_AUTO_TEST_CASE(reserved_bits_are_1002) {
    for (std::uint8_t rsv : {1, 2, 4, 7})
        BOOST_TEST(violation_code(client_frame(opcode::text, "hi", {.rsv = rsv})) == 1002,
                   "rsv " << int(rsv));
}

BOOST_AUTO_TEST_CASE(unknown_opcodes_are_1002) {
    for (std::uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF})
        BOOST_TEST(violation_code(client_frame(static_cast<opcode>(op), "x")) == 1002, "opcode " << int(op));
}

BOOST_AUTO_TEST_CASE(control_frames_over_125_bytes_are_1002) {
    BOOST_TEST(describe(parse_one(client_frame(opcode::ping, std::string(125, 'p')))) ==
               "ping:" + std::string(125, 'p') + "\n");
    BOOST_TEST(violation_code(client_frame(opcode::ping, std::string(126, 'p'))) == 1002);
    BOOST_TEST(violation_code(client_frame(opcode::pong, std::string(126, 'p'))) == 1002);
    BOOST_TEST(violation_code(client_frame(opcode::close, close_payload(1000, std::string(124, 'r')))) ==
               1002);
}

BOOST_AUTO_TEST_CASE(fragmented_control_frames_are_1002) {
    for (opcode op : {opcode::ping, opcode::pong, opcode::close})
        BOOST_TEST(violation_code(client_frame(op, "", {.fin = false})) == 1002, "opcode " << int(op));
}

BOOST_AUTO_TEST_CASE(continuation_without_a_message_is_1002) {
    BOOST_TEST(violation_code(client_frame(opcode::continuation, "orphan")) == 1002);
    // Nor after a message has ended.
    BOOST_TEST(violation_code(client_frame(opcode::text, "done") +
                              client_frame(opcode::continuation, "more")) == 1002);
}

BOOST_AUTO_TEST_CASE(new_message_inside_a_fragmented_one_is_1002) {
    const auto first = client_frame(opcode::text, "part", {.fin = false});
    BOOST_TEST(violation_code(first + client_frame(opcode::text, "new")) == 1002);
    BOOST_TEST(violation_code(first + client_frame(opcode::binary, "new")) == 1002);
}

BOOST_AUTO_TEST_CASE(message_over_the_limit_is_1009_at_its_header) {
    BOOST_TEST(describe(parse_one(client_frame(opcode::binary, "0123456789"), 10)) == "binary:0123456789\n");
    // Only the header has arrived: the violation does not wait for the payload.
    const auto bytes = client_frame(opcode::binary, "0123456789A");
    parser p(10);
    std::span<const char> in(bytes.data(), 6);
    const auto e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST((e->what == kind::violation));
    BOOST_TEST(e->code == 1009);
    BOOST_TEST(p.done());
}

BOOST_AUTO_TEST_CASE(fragments_adding_up_over_the_limit_are_1009) {
    const auto first = client_frame(opcode::text, "012345", {.fin = false});
    BOOST_TEST(parse_whole(first + client_frame(opcode::continuation, "6789"), 10) == "text:0123456789\n");
    const auto second = client_frame(opcode::continuation, "6789A");
    const auto bytes = first + second;
    parser p(10);
    // Up to the second fragment's header only.
    std::span<const char> in(bytes.data(), first.size() + 6);
    const auto e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST(e->code == 1009);
    BOOST_TEST(in.empty());
}

BOOST_AUTO_TEST_CASE(huge_declared_length_is_1009_not_an_allocation) {
    // 2^40 bytes announced: refused before anything is reserved for them.
    const std::string bytes("\x82\xFF\x00\x00\x01\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14);
    BOOST_TEST(violation_code(bytes, 1 << 20) == 1009);
}

BOOST_AUTO_TEST_CASE(text_that_is_not_utf8_is_1007) {
    BOOST_TEST(violation_code(client_frame(opcode::text, "ab\xFF")) == 1007);
    BOOST_TEST(violation_code(client_frame(opcode::text, "\xC0\x80")) == 1007);
    // Binary messages carry any bytes.
    BOOST_TEST(parse_whole(client_frame(opcode::binary, "ab\xFF")) == "binary:ab\xFF\n");
}

BOOST_AUTO_TEST_CASE(utf8_sequence_split_across_fragments_is_fine_only_when_whole) {
    // U+20AC EURO SIGN: E2 82 AC.
    const auto head = client_frame(opcode::text, "\xE2\x82", {.fin = false});
    BOOST_TEST(parse_whole(head + client_frame(opcode::continuation, "\xAC")) == "text:\xE2\x82\xAC\n");
    BOOST_TEST(parse_whole(client_frame(opcode::text, "\xE2", {.fin = false}) +
                           client_frame(opcode::continuation, "\x82\xAC")) == "text:\xE2\x82\xAC\n");
    BOOST_TEST(violation_code(head + client_frame(opcode::continuation, "")) == 1007);
    BOOST_TEST(violation_code(head + client_frame(opcode::continuation, "A")) == 1007);
}

BOOST_AUTO_TEST_CASE(text_that_cannot_become_utf8_is_1007_before_the_message_ends) {
    // Non-final fragments: the message never completes, the bytes so far decide.
    BOOST_TEST(violation_code(client_frame(opcode::text, "\xFF", {.fin = false})) == 1007);
    BOOST_TEST(violation_code(client_frame(opcode::text, "fine ", {.fin = false}) +
                              client_frame(opcode::continuation, "\xED\xA0", {.fin = false})) == 1007);
    // Inside a frame whose payload has not all arrived: a 1000-byte frame cut after 4 bytes.
    const auto frame = client_frame(opcode::text, "abc\xFF" + std::string(996, 'x'));
    BOOST_TEST(violation_code(std::string_view(frame).substr(0, 8 + 4)) == 1007);
    // A prefix valid text could continue is held, not refused.
    parser p(1 << 20);
    BOOST_TEST(feed(p, {client_frame(opcode::text, "ok \xE2\x82", {.fin = false})}).empty());
    BOOST_TEST(!p.done());
    BOOST_TEST(p.mid_message());
}

BOOST_AUTO_TEST_CASE(empty_close_has_code_0) {
    parser p(1024);
    const auto bytes = client_frame(opcode::close, "");
    std::span<const char> in(bytes.data(), bytes.size());
    const auto e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST((e->what == kind::close));
    BOOST_TEST(e->code == 0);
    BOOST_TEST(e->payload.empty());
    BOOST_TEST(p.done());
}

BOOST_AUTO_TEST_CASE(close_with_code_and_reason) {
    const auto e = parse_one(client_frame(opcode::close, close_payload(1000, "see you \xE2\x82\xAC")));
    BOOST_TEST((e.what == kind::close));
    BOOST_TEST(e.code == 1000);
    BOOST_TEST(e.payload == "see you \xE2\x82\xAC");
    BOOST_TEST(parse_one(client_frame(opcode::close, close_payload(4321))).payload.empty());
}

BOOST_AUTO_TEST_CASE(close_with_a_one_byte_payload_is_1002) {
    BOOST_TEST(violation_code(client_frame(opcode::close, "\x03")) == 1002);
}

BOOST_AUTO_TEST_CASE(invalid_close_codes_are_1002) {
    for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        BOOST_TEST(!is_valid_close_code(code), code);
        BOOST_TEST(violation_code(client_frame(opcode::close, close_payload(code, "r"))) == 1002, code);
    }
}

BOOST_AUTO_TEST_CASE(valid_close_codes_are_passed_on) {
    for (std::uint16_t code :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
        BOOST_TEST(is_valid_close_code(code), code);
        const auto e = parse_one(client_frame(opcode::close, close_payload(code)));
        BOOST_TEST((e.what == kind::close), code);
        BOOST_TEST(e.code == code);
    }
}

BOOST_AUTO_TEST_CASE(close_reason_that_is_not_utf8_is_1007) {
    BOOST_TEST(violation_code(client_frame(opcode::close, close_payload(1000, "bad \xED\xA0\x80"))) == 1007);
}

BOOST_AUTO_TEST_CASE(nothing_is_consumed_after_a_close) {
    const auto close = client_frame(opcode::close, close_payload(1000));
    const auto after = client_frame(opcode::text, "too late");
    const auto bytes = close + after;
    parser p(1024);
    std::span<const char> in(bytes.data(), bytes.size());
    BOOST_REQUIRE(p.next(in).has_value());
    BOOST_TEST(in.size() == after.size());
    BOOST_TEST(!p.next(in).has_value());
    BOOST_TEST(in.size() == after.size());
    BOOST_TEST(p.done());
}

BOOST_AUTO_TEST_CASE(nothing_is_consumed_after_a_violation) {
    const auto bad = client_frame(opcode::text, "x", {.masked = false});
    const auto after = client_frame(opcode::text, "fine");
    const auto bytes = bad + after;
    parser p(1024);
    std::span<const char> in(bytes.data(), bytes.size());
    const auto e = p.next(in);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST((e->what == kind::violation));
    BOOST_TEST(!e->payload.empty()); // says why
    BOOST_TEST(p.done());
    const auto left = in.size();
    BOOST_TEST(left >= after.size());
    BOOST_TEST(!p.next(in).has_value());
    BOOST_TEST(in.size() == left);
}

BOOST_AUTO_TEST_CASE(mid_message_while_anything_is_held) {
    const auto first = client_frame(opcode::text, "ab", {.fin = false});
    const auto last = client_frame(opcode::continuation, "cd");
    parser p(1024);
    BOOST_TEST(!p.mid_message());
    auto feed_bytes = [&](std::string_view bytes) {
        std::span<const char> in(bytes.data(), bytes.size());
        auto e = p.next(in);
        BOOST_TEST(in.empty());
        return e;
    };
    BOOST_TEST(!feed_bytes(std::string_view(first).substr(0, 1)).has_value()); // one header byte
    BOOST_TEST(p.mid_message());
    BOOST_TEST(!feed_bytes(std::string_view(first).substr(1, 5)).has_value()); // the header, no payload
    BOOST_TEST(p.mid_message());
    BOOST_TEST(!feed_bytes(std::string_view(first).substr(6)).has_value()); // the first fragment
    BOOST_TEST(p.mid_message());
    const auto e = feed_bytes(last);
    BOOST_REQUIRE(e.has_value());
    BOOST_TEST(e->payload == "abcd");
    BOOST_TEST(!p.mid_message());
    // A control frame alone is not a message, but while its bytes are held it is.
    const auto ping = client_frame(opcode::ping, "hi");
    BOOST_TEST(!feed_bytes(std::string_view(ping).substr(0, 3)).has_value());
    BOOST_TEST(p.mid_message());
    BOOST_TEST(feed_bytes(std::string_view(ping).substr(3)).has_value());
    BOOST_TEST(!p.mid_message());
    // A violation inside a fragmented message ends it: nothing is held any more.
    BOOST_TEST(!feed_bytes(first).has_value());
    BOOST_TEST(p.mid_message());
    const auto unmasked = client_frame(opcode::text, "x", {.masked = false});
    std::span<const char> in(unmasked.data(), unmasked.size());
    const auto violation = p.next(in);
    BOOST_REQUIRE(violation.has_value());
    BOOST_TEST((violation->what == kind::violation));
    BOOST_TEST(!p.mid_message());
}

BOOST_AUTO_TEST_SUITE_END()

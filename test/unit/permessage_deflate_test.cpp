#include "json_payload.hpp"
#include "wshub/frame.hpp"
#include "wshub/frame_parser.hpp"
#include "wshub/permessage_deflate.hpp"
#include "wshub/websocket_handshake.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <zlib.h>

using namespace wshub;
using wshub_test::json_payload;

namespace {

std::string compressed(std::string_view message) {
    deflater d;
    std::string out;
    d.compress(message, out);
    return out;
}

// A masked client frame (the parser's tests have the general form).
std::string client_frame(std::uint8_t first_byte, std::string_view payload) {
    std::string out;
    out += static_cast<char>(first_byte);
    const std::size_t n = payload.size();
    const std::array<unsigned char, 4> mask{0x12, 0x34, 0x56, 0x78};
    if (n < 126) {
        out += static_cast<char>(0x80 | n);
    } else if (n <= 0xFFFF) {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n & 0xFF);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i)
            out += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xFF);
    }
    out.append(reinterpret_cast<const char*>(mask.data()), 4);
    for (std::size_t i = 0; i < n; ++i)
        out += static_cast<char>(payload[i] ^ mask[i & 3]);
    return out;
}

constexpr std::uint8_t fin = 0x80, rsv1 = 0x40, text = 0x1, binary = 0x2, continuation = 0x0, ping = 0x9;

// Every event of `bytes` fed whole to a parser that inflates with `z` (or none).
std::vector<frame_event> parse(std::string_view bytes, inflater* z, std::size_t max_size = 1 << 20) {
    frame_parser p(max_size);
    p.use_inflater(z);
    std::span<const char> in(bytes.data(), bytes.size());
    std::vector<frame_event> events;
    while (auto e = p.next(in))
        events.push_back(std::move(*e));
    return events;
}

std::uint16_t violation_code(std::string_view bytes, inflater* z, std::size_t max_size = 1 << 20) {
    const auto events = parse(bytes, z, max_size);
    if (events.empty() || events.back().what != frame_event::kind::violation) return 0;
    return events.back().code;
}

} // namespace

BOOST_AUTO_TEST_SUITE(permessage_deflate_negotiation)

BOOST_AUTO_TEST_CASE(plain_and_browser_offers_are_accepted) {
    BOOST_TEST(permessage_deflate_answer("permessage-deflate").has_value());
    // What Chromium and Firefox send.
    BOOST_TEST(permessage_deflate_answer("permessage-deflate; client_max_window_bits").has_value());
    BOOST_TEST(permessage_deflate_answer("permessage-deflate; client_max_window_bits=10").has_value());
    BOOST_TEST(permessage_deflate_answer("permessage-deflate; server_no_context_takeover; "
                                         "client_no_context_takeover; server_max_window_bits=15")
                   .has_value());
    BOOST_TEST(permessage_deflate_answer("Permessage-Deflate; Server_Max_Window_Bits=\"15\"").has_value());
    BOOST_TEST(
        permessage_deflate_answer("permessage-deflate ;client_max_window_bits = 9,, x-other").has_value());
    // Other extensions are passed over; the first acceptable offer of ours counts.
    BOOST_TEST(permessage_deflate_answer("x-webkit-deflate-frame, permessage-deflate").has_value());
    BOOST_TEST(permessage_deflate_answer("permessage-deflate; server_max_window_bits=10, permessage-deflate")
                   .has_value());
}

BOOST_AUTO_TEST_CASE(offers_wshub_cannot_honour_are_declined) {
    BOOST_TEST(!permessage_deflate_answer(""));
    BOOST_TEST(!permessage_deflate_answer("x-webkit-deflate-frame"));
    BOOST_TEST(!permessage_deflate_answer("deflate-stream"));
    // A smaller window for our compressor than the 15 bits it uses.
    for (const char* bits : {"8", "9", "14"})
        BOOST_TEST(
            !permessage_deflate_answer(std::string("permessage-deflate; server_max_window_bits=") + bits),
            bits);
    // Unknown parameters, parameters twice, values that are not allowed.
    for (const char* offer : {
             "permessage-deflate; mystery",
             "permessage-deflate; mystery=1",
             "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
             "permessage-deflate; client_max_window_bits; client_max_window_bits=15",
             "permessage-deflate; server_max_window_bits=15; server_max_window_bits=15",
             "permessage-deflate; server_no_context_takeover=1",
             "permessage-deflate; client_no_context_takeover=yes",
             "permessage-deflate; server_max_window_bits",
             "permessage-deflate; server_max_window_bits=16",
             "permessage-deflate; server_max_window_bits=015",
             "permessage-deflate; server_max_window_bits=abc",
             "permessage-deflate; client_max_window_bits=7",
             "permessage-deflate; client_max_window_bits=16",
             // Fields that do not parse.
             "permessage-deflate; @bad",
             "permessage-deflate; client_max_window_bits=15 junk",
             "permessage-deflate; server_max_window_bits=\"15",
             "permessage-deflate; =15",
             "permessage-deflate;",
             "permessage-deflate, x; y=",
         })
        BOOST_TEST(!permessage_deflate_answer(offer), offer);
}

BOOST_AUTO_TEST_CASE(an_offer_that_names_the_server_window_gets_it_answered) {
    // RFC 7692 section 7.1.2.1: the server accepts server_max_window_bits by answering it; a
    // client that asked for it fails a 101 without it.
    constexpr std::string_view plain =
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    const std::string with_window = std::string(plain) + "; server_max_window_bits=15";
    BOOST_TEST(permessage_deflate_answer("permessage-deflate").value_or("") == plain);
    BOOST_TEST(permessage_deflate_answer("permessage-deflate; client_max_window_bits").value_or("") == plain);
    BOOST_TEST(permessage_deflate_answer("permessage-deflate; server_max_window_bits=15").value_or("") ==
               with_window);
    BOOST_TEST(permessage_deflate_answer("permessage-deflate; Server_Max_Window_Bits=\"15\"; "
                                         "client_max_window_bits")
                   .value_or("") == with_window);
    // Only the offer accepted counts: here the first, which named no window.
    BOOST_TEST(permessage_deflate_answer("permessage-deflate, permessage-deflate; server_max_window_bits=15")
                   .value_or("") == plain);
    // A declined offer with a window before an accepted one without.
    BOOST_TEST(permessage_deflate_answer("permessage-deflate; server_max_window_bits=9, permessage-deflate")
                   .value_or("") == plain);
    BOOST_TEST(!permessage_deflate_answer("permessage-deflate; server_max_window_bits=9"));
}

BOOST_AUTO_TEST_CASE(the_101_names_the_extension_only_when_negotiated) {
    constexpr std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==";
    const auto answer = *permessage_deflate_answer("permessage-deflate");
    const auto with = std::get<std::string>(
        accept_websocket_handshake({true, key, "13", {}, "permessage-deflate", answer}));
    BOOST_TEST(with.find("\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                         "client_no_context_takeover\r\n") != std::string::npos);
    BOOST_TEST(with.ends_with("\r\n\r\n"));
    const auto without =
        std::get<std::string>(accept_websocket_handshake({true, key, "13", {}, "permessage-deflate", {}}));
    BOOST_TEST(without.find("Sec-WebSocket-Extensions") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(permessage_deflate_codec)

BOOST_AUTO_TEST_CASE(messages_round_trip_and_shrink) {
    inflater z;
    for (std::size_t n : {0u, 1u, 200u, 1024u, 70000u}) {
        const auto message = json_payload(n);
        const auto c = compressed(message);
        if (n >= 200) BOOST_TEST(c.size() * 3 < message.size());
        // The sync flush's empty block is left off (RFC 7692 section 7.2.1).
        BOOST_TEST(!c.ends_with(std::string_view("\x00\x00\xff\xff", 4)));
        std::string out;
        BOOST_TEST((z.inflate(c, 1 << 20, out) == inflater::result::ok));
        BOOST_TEST(out == message);
    }
}

BOOST_AUTO_TEST_CASE(each_message_is_compressed_on_its_own) {
    // server_no_context_takeover: the same message compresses to the same bytes every time, and
    // a fresh inflater reads any of them.
    deflater d;
    const auto m = json_payload(500);
    std::string first, second;
    d.compress(json_payload(800), first);
    first.clear();
    d.compress(m, first);
    d.compress(m, second);
    BOOST_TEST(first == second);
    inflater z;
    std::string out;
    BOOST_TEST((z.inflate(second, 1 << 20, out) == inflater::result::ok));
    BOOST_TEST(out == m);
}

BOOST_AUTO_TEST_CASE(a_final_block_from_another_compressor_inflates) {
    // A client may end its message with a BFINAL block (zlib's Z_FINISH).
    const auto m = json_payload(300);
    z_stream s{};
    BOOST_REQUIRE(deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string c(1024, '\0');
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(m.data()));
    s.avail_in = static_cast<uInt>(m.size());
    s.next_out = reinterpret_cast<Bytef*>(c.data());
    s.avail_out = static_cast<uInt>(c.size());
    BOOST_REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
    c.resize(c.size() - s.avail_out);
    deflateEnd(&s);
    inflater z;
    std::string out;
    BOOST_TEST((z.inflate(c, 1 << 20, out) == inflater::result::ok));
    BOOST_TEST(out == m);
}

BOOST_AUTO_TEST_CASE(inflating_stops_at_the_limit) {
    // 10 MB of zeros deflate to about 10 KB: inflated with a 64 KiB limit, no more than the
    // limit plus one byte is ever produced.
    const auto bomb = compressed(std::string(10'000'000, '\0'));
    BOOST_TEST(bomb.size() < 20'000u);
    inflater z;
    std::string out;
    BOOST_TEST((z.inflate(bomb, 65536, out) == inflater::result::too_big));
    BOOST_TEST(out.size() <= 65537u);
    // Exactly at the limit is fine.
    BOOST_TEST((z.inflate(compressed(std::string(65536, 'a')), 65536, out) == inflater::result::ok));
    BOOST_TEST(out.size() == 65536u);
}

BOOST_AUTO_TEST_CASE(invalid_data_is_invalid_and_the_inflater_recovers) {
    inflater z;
    std::string out;
    // Block type 3 does not exist.
    BOOST_TEST(
        (z.inflate(std::string_view("\xff\xff\xff\xff", 4), 1 << 20, out) == inflater::result::invalid));
    const auto m = json_payload(400);
    BOOST_TEST((z.inflate(compressed(m), 1 << 20, out) == inflater::result::ok));
    BOOST_TEST(out == m);
}

BOOST_AUTO_TEST_CASE(a_message_cut_off_inside_a_block_is_invalid) {
    // A sender that loses the end of its message must not have the beginning passed on as if it
    // were whole. Every cut of a compressed message's last bytes leaves it ending mid-block.
    const auto m = json_payload(1000);
    const auto c = compressed(m);
    inflater z;
    std::string out;
    for (std::size_t cut = 1; cut <= 16; ++cut)
        BOOST_TEST((z.inflate(std::string_view(c).substr(0, c.size() - cut), 1 << 20, out) ==
                    inflater::result::invalid),
                   "cut " << cut);
    BOOST_TEST((z.inflate(c, 1 << 20, out) == inflater::result::ok));
    BOOST_TEST(out == m);
    // The RFC's examples (section 7.2.3) are whole: "Hello" in a compressed block, the same with
    // BFINAL set, in a stored block followed by the empty block's 0x00; an empty message is that
    // 0x00 alone (an empty payload is taken as the same). The stored block without the 0x00 after
    // it was cut off.
    const std::pair<std::string_view, std::string_view> whole[] = {
        {std::string_view("\xf2\x48\xcd\xc9\xc9\x07\x00", 7), "Hello"},
        {std::string_view("\xf3\x48\xcd\xc9\xc9\x07\x00", 7), "Hello"},
        {std::string_view("\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00", 11), "Hello"},
        {std::string_view("\x00", 1), ""},
        {"", ""},
    };
    for (const auto& [payload, text] : whole) {
        BOOST_TEST((z.inflate(payload, 1 << 20, out) == inflater::result::ok));
        BOOST_TEST(out == std::string(text));
    }
    BOOST_TEST((z.inflate(std::string_view("\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f", 10), 1 << 20, out) ==
                inflater::result::invalid));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(permessage_deflate_frames)

BOOST_AUTO_TEST_CASE(compressed_messages_are_inflated) {
    inflater z;
    const auto m = json_payload(2000);
    const auto events =
        parse(client_frame(fin | rsv1 | text, compressed(m)) + client_frame(fin | binary, "plain") +
                  client_frame(fin | rsv1 | binary, compressed("bin")),
              &z);
    BOOST_REQUIRE(events.size() == 3u);
    BOOST_TEST(events[0].text);
    BOOST_TEST(events[0].payload == m);
    BOOST_TEST(events[1].payload == "plain");
    BOOST_TEST(!events[2].text);
    BOOST_TEST(events[2].payload == "bin");
}

BOOST_AUTO_TEST_CASE(fragmented_compressed_message_with_a_ping_between) {
    inflater z;
    const auto m = json_payload(3000);
    const auto c = compressed(m);
    const auto third = c.size() / 3;
    const auto bytes = client_frame(rsv1 | text, c.substr(0, third)) + client_frame(fin | ping, "p") +
                       client_frame(continuation, c.substr(third, third)) +
                       client_frame(fin | continuation, c.substr(2 * third));
    // Fed a byte at a time too.
    for (const bool bytewise : {false, true}) {
        frame_parser p(1 << 20);
        p.use_inflater(&z);
        std::vector<frame_event> events;
        for (std::size_t at = 0; at < bytes.size();) {
            const std::size_t n = bytewise ? 1 : bytes.size();
            std::span<const char> in(bytes.data() + at, n);
            while (auto e = p.next(in))
                events.push_back(std::move(*e));
            at += n;
        }
        BOOST_REQUIRE(events.size() == 2u);
        BOOST_TEST((events[0].what == frame_event::kind::ping));
        BOOST_TEST((events[1].what == frame_event::kind::message));
        BOOST_TEST(events[1].payload == m);
    }
}

BOOST_AUTO_TEST_CASE(rsv1_where_it_does_not_belong_is_1002) {
    inflater z;
    // Without the extension.
    BOOST_TEST(violation_code(client_frame(fin | rsv1 | text, compressed("hello")), nullptr) == 1002);
    // On a continuation frame, and on control frames.
    BOOST_TEST(violation_code(client_frame(rsv1 | text, compressed("he")) +
                                  client_frame(fin | rsv1 | continuation, "llo"),
                              &z) == 1002);
    BOOST_TEST(violation_code(client_frame(text, "he") + client_frame(fin | rsv1 | continuation, "llo"),
                              &z) == 1002);
    BOOST_TEST(violation_code(client_frame(fin | rsv1 | ping, ""), &z) == 1002);
    // RSV2 and RSV3 are never ours.
    BOOST_TEST(violation_code(client_frame(fin | 0x20 | text, "hi"), &z) == 1002);
    BOOST_TEST(violation_code(client_frame(fin | 0x10 | text, "hi"), &z) == 1002);
}

BOOST_AUTO_TEST_CASE(bomb_is_1009_and_invalid_data_1007) {
    inflater z;
    const auto bomb = client_frame(fin | rsv1 | binary, compressed(std::string(5'000'000, 'x')));
    BOOST_TEST(violation_code(bomb, &z, 65536) == 1009);
    BOOST_TEST(violation_code(client_frame(fin | rsv1 | binary, "\xff\xff\xff\xff"), &z) == 1007);
    // Text that inflates to bytes that are not UTF-8.
    BOOST_TEST(violation_code(client_frame(fin | rsv1 | text, compressed("caf\xC3")), &z) == 1007);
    BOOST_TEST(violation_code(client_frame(fin | rsv1 | text, compressed("caf\xC3\xA9")), &z) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(permessage_deflate_batch)

BOOST_AUTO_TEST_CASE(one_compressed_copy_per_batch_with_small_messages_as_they_are) {
    auto b = std::make_shared<frame_batch>();
    const std::vector<std::string> payloads{json_payload(1024), "tiny", json_payload(200)};
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        frame_batch::frame f;
        f.begin = b->bytes.size();
        f.header = static_cast<std::uint8_t>(frame_header_size(payloads[i].size()));
        append_frame(b->bytes, opcode::text, payloads[i]);
        f.size = b->bytes.size() - f.begin;
        f.seq = i + 1;
        b->frames.push_back(f);
    }
    const auto& d = b->deflated(false, 64);
    BOOST_TEST(&d == &b->deflated(false, 64)); // made once
    BOOST_REQUIRE(d.ranges.size() == 3u);
    BOOST_TEST(d.bytes.size() < b->bytes.size() / 2);
    inflater z;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const auto frame = std::string_view(d.bytes).substr(d.ranges[i].first, d.ranges[i].second);
        const auto first = static_cast<unsigned char>(frame[0]);
        const bool is_compressed = (first & 0x40) != 0;
        BOOST_TEST((first & 0x8F) == 0x81); // FIN, text
        BOOST_TEST(is_compressed == (payloads[i].size() >= 64));
        const auto len7 = static_cast<unsigned char>(frame[1]) & 0x7F;
        const auto payload = frame.substr(len7 < 126 ? 2 : 4);
        std::string out;
        if (is_compressed) {
            BOOST_TEST((z.inflate(payload, 1 << 20, out) == inflater::result::ok));
        } else {
            out = payload;
        }
        BOOST_TEST(out == payloads[i]);
        if (i > 0) BOOST_TEST(d.ranges[i - 1].first + d.ranges[i - 1].second == d.ranges[i].first);
    }
    // The envelopes get their own compressed copy.
    const auto& de = b->deflated(true, 64);
    BOOST_REQUIRE(de.ranges.size() == 3u);
    const auto second = std::string_view(de.bytes).substr(de.ranges[1].first, de.ranges[1].second);
    BOOST_TEST((static_cast<unsigned char>(second[0]) & 0x40) == 0); // {"seq":2,...,"data":"tiny"} is small
    const auto first = std::string_view(de.bytes).substr(de.ranges[0].first, de.ranges[0].second);
    BOOST_TEST((static_cast<unsigned char>(first[0]) & 0x40) != 0);
}

BOOST_AUTO_TEST_CASE(a_message_deflate_does_not_shrink_goes_out_as_it_is) {
    auto b = std::make_shared<frame_batch>();
    std::string noise(300, '\0');
    std::uint32_t x = 12345;
    for (auto& c : noise) {
        x = x * 1103515245 + 12345;
        c = static_cast<char>(x >> 24);
    }
    frame_batch::frame f;
    f.header = 4;
    append_frame(b->bytes, opcode::binary, noise);
    f.size = b->bytes.size();
    f.kind = payload_kind::binary;
    b->frames.push_back(f);
    BOOST_TEST(b->deflated(false, 64).bytes == b->bytes);
}

BOOST_AUTO_TEST_SUITE_END()

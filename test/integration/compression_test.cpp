// permessage-deflate (RFC 7692) end to end: the negotiation in the 101, one broadcast reaching a
// compressing client (Beast's websocket::stream with its own deflate, an implementation
// independent of the server's zlib) and a plain one, compressed messages from clients (whole and
// fragmented), and the inbound limits: a decompression bomb (1009), data that is not deflate
// (1007), RSV1 from a client that did not negotiate the extension (1002).
#include "json_payload.hpp"
#include "raw_connection.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"
#include "wshub/permessage_deflate.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;

namespace {

constexpr std::string_view response_extension =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

struct compression_server : server_fixture {
    compression_server()
        : server_fixture(wshub_args(
              1, {"--compression", "on", "--compression-min-size", "100", "--max-message-size", "65536"})) {}
};

websocket::permessage_deflate beast_deflate() {
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    pmd.msg_size_threshold = 0; // compress everything it sends
    return pmd;
}

std::string deflated(std::string_view message) {
    wshub::deflater d;
    std::string out;
    d.compress(message, out);
    return out;
}

constexpr std::uint8_t rsv1 = 4;

// A raw connection that negotiated permessage-deflate.
void upgrade_with_deflate(raw_connection& c, std::uint16_t port, std::string_view target) {
    const auto r = c.upgrade(port, target, "http://127.0.0.1",
                             {{"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"}});
    BOOST_REQUIRE_EQUAL(r.status, 101u);
    BOOST_REQUIRE_EQUAL(r.field("Sec-WebSocket-Extensions"), response_extension);
}

server_frame expect_close(raw_connection& c, unsigned code) {
    const auto f = c.read_frame();
    BOOST_REQUIRE_MESSAGE(f.opcode == op_close, "expected a close frame, got opcode " << int(f.opcode));
    BOOST_TEST(close_code(f) == code, "close code " << close_code(f) << " '" << close_reason(f) << "'");
    c.read_until_end();
    return f;
}

} // namespace

BOOST_AUTO_TEST_SUITE(compression)

BOOST_FIXTURE_TEST_CASE(offers_are_accepted_or_declined, compression_server) {
    ws_client beast_client(io);
    beast_client.offer_deflate(beast_deflate());
    beast_client.connect(port(), "/im?user_id=beast");
    // Beast offers server_max_window_bits=15, and a window named in the offer is answered (RFC
    // 7692 section 7.1.2.1: without it, stricter clients fail the connection).
    const std::string with_window = std::string(response_extension) + "; server_max_window_bits=15";
    BOOST_TEST(beast_client.extensions() == with_window);

    const std::vector<std::pair<std::string, std::string>> offers = {
        {"permessage-deflate", std::string(response_extension)},
        {"permessage-deflate; client_max_window_bits", std::string(response_extension)}, // Chromium's
        {"permessage-deflate; server_max_window_bits=15; server_no_context_takeover", with_window},
        {"x-unknown, permessage-deflate; client_max_window_bits=12", std::string(response_extension)},
        {"permessage-deflate; server_max_window_bits=10", ""}, // a window below ours
        {"permessage-deflate; unknown_parameter", ""},
        {"permessage-deflate; client_no_context_takeover; client_no_context_takeover", ""},
        {"permessage-deflate; server_max_window_bits=16", ""},
        {"x-webkit-deflate-frame", ""},
    };
    for (const auto& [offer, answer] : offers) {
        BOOST_TEST_CONTEXT(offer) {
            raw_connection c(io);
            const auto r = c.upgrade(port(), "/im?user_id=raw", "http://127.0.0.1",
                                     {{"Sec-WebSocket-Extensions", offer}});
            BOOST_TEST(r.status == 101u);
            BOOST_TEST(r.field("Sec-WebSocket-Extensions") == answer);
        }
    }
    // A declined client is served plainly: RSV1 from it is a protocol error.
    raw_connection declined(io);
    const auto r = declined.upgrade(port(), "/im?user_id=declined", "http://127.0.0.1",
                                    {{"Sec-WebSocket-Extensions", "permessage-deflate; mystery"}});
    BOOST_REQUIRE_EQUAL(r.status, 101u);
    declined.send(client_frame(op_text, deflated("hello there"), true, true, rsv1));
    expect_close(declined, 1002);
}

BOOST_FIXTURE_TEST_CASE(compression_off_declines_every_offer, server_fixture) {
    ws_client beast_client(io);
    beast_client.offer_deflate(beast_deflate());
    beast_client.connect(port(), "/im?user_id=beast");
    BOOST_TEST(beast_client.extensions() == "");
    beast_client.send_text(json_payload(1000)); // sent uncompressed, since nothing was negotiated
    BOOST_TEST(beast_client.read().payload == json_payload(1000));
}

BOOST_FIXTURE_TEST_CASE(one_broadcast_reaches_compressed_and_plain_clients, compression_server) {
    ws_client compressed(io), plain(io), sender(io);
    compressed.offer_deflate(beast_deflate());
    compressed.connect(port(), "/im?user_id=compressed");
    plain.connect(port(), "/im?user_id=plain");
    raw_connection wire(io); // sees the frames as they are on the wire
    upgrade_with_deflate(wire, port(), "/im?user_id=wire");
    sender.connect(port(), "/im?user_id=sender");

    const std::vector<std::string> messages = {json_payload(1024), "small", json_payload(20000),
                                               json_payload(150)};
    for (const auto& m : messages)
        sender.send_text(m);
    for (const auto& m : messages) {
        const auto a = compressed.read();
        const auto b = plain.read();
        BOOST_TEST(a.is_text);
        BOOST_TEST(a.payload == m);
        BOOST_TEST(b.payload == m);
        BOOST_TEST(sender.read().payload == m);
        // Compressed on the wire from --compression-min-size on, and only then.
        const auto f = wire.read_frame();
        BOOST_TEST(f.fin);
        BOOST_TEST(f.opcode == op_text);
        BOOST_TEST(f.rsv == (m.size() >= 100 ? rsv1 : 0),
                   "rsv " << int(f.rsv) << " for " << m.size() << " bytes");
        if (f.rsv == rsv1) {
            BOOST_TEST(f.payload.size() * (m.size() >= 1000 ? 3 : 1) < m.size());
            wshub::inflater z;
            std::string out;
            BOOST_TEST((z.inflate(f.payload, 1 << 20, out) == wshub::inflater::result::ok));
            BOOST_TEST(out == m);
        }
    }
    // Messages compressed by the client reach everyone, inflated.
    const auto from_compressed = json_payload(3000);
    compressed.send_text(from_compressed);
    BOOST_TEST(plain.read().payload == from_compressed);
    BOOST_TEST(compressed.read().payload == from_compressed);
    BOOST_TEST(wire.read_frame().rsv == rsv1);
}

BOOST_FIXTURE_TEST_CASE(fragmented_compressed_messages_are_inflated, compression_server) {
    ws_client watcher(io), compressing(io);
    watcher.connect(port(), "/im?user_id=watcher");
    // Beast compresses the fragments of one message as one deflate stream, RSV1 on the first.
    compressing.offer_deflate(beast_deflate());
    compressing.connect(port(), "/im?user_id=compressing");
    const auto m = json_payload(6000);
    compressing.send_fragmented({m.substr(0, 2000), m.substr(2000, 3000), m.substr(5000)}, true);
    BOOST_TEST(watcher.read().payload == m);

    // By hand: the compressed bytes cut in three frames, with a ping between them.
    raw_connection c(io);
    upgrade_with_deflate(c, port(), "/im?user_id=raw");
    const auto second = json_payload(4000);
    const auto z = deflated(second);
    const auto third = z.size() / 3;
    c.send(client_frame(op_text, z.substr(0, third), false, true, rsv1) + client_frame(op_ping, "p") +
           client_frame(op_continuation, z.substr(third, third), false) +
           client_frame(op_continuation, z.substr(2 * third), true));
    const auto pong = c.read_frame();
    BOOST_TEST(pong.opcode == op_pong);
    BOOST_TEST(watcher.read().payload == second);
    // RSV1 on a continuation frame is a protocol error.
    c.send(client_frame(op_text, z.substr(0, third), false, true, rsv1) +
           client_frame(op_continuation, z.substr(third), true, true, rsv1));
    // (the raw client also gets the first message back, compressed)
    auto f = c.read_frame();
    while (f.opcode == op_text)
        f = c.read_frame();
    BOOST_TEST(f.opcode == op_close);
    BOOST_TEST(close_code(f) == 1002u);
}

BOOST_FIXTURE_TEST_CASE(a_decompression_bomb_is_1009, compression_server) {
    ws_client watcher(io);
    watcher.connect(port(), "/im?user_id=watcher");
    raw_connection c(io);
    upgrade_with_deflate(c, port(), "/im?user_id=bomber");
    // 20 MB of zeros in about 20 KB: within the 64 KiB limit on the wire, far over it inflated.
    const auto bomb = deflated(std::string(20'000'000, '\0'));
    BOOST_REQUIRE(bomb.size() < 65536u);
    c.send(client_frame(op_binary, bomb, true, true, rsv1));
    expect_close(c, 1009);
    // Just under the limit inflated is fine.
    raw_connection ok(io);
    upgrade_with_deflate(ok, port(), "/im?user_id=ok");
    ok.send(client_frame(op_binary, deflated(std::string(65536, 'a')), true, true, rsv1));
    const auto m = watcher.read();
    BOOST_TEST(m.payload == std::string(65536, 'a'));
}

struct byte_limited_server : server_fixture {
    byte_limited_server()
        : server_fixture(wshub_args(1, {"--compression", "on", "--rate-limit-bytes", "100000"})) {}
};

BOOST_FIXTURE_TEST_CASE(inflated_bytes_count_against_the_byte_rate_limit, byte_limited_server) {
    // 60 KB of zeros deflate to under 1 KB. Counted as sent on the wire, five of them would pass a
    // 100 kB/s limit and be fanned out inflated: 300 kB, a thousand times what the client paid.
    raw_connection c(io);
    upgrade_with_deflate(c, port(), "/im?user_id=amplifier");
    const auto message = deflated(std::string(60'000, '\0'));
    BOOST_REQUIRE(message.size() < 1000u);
    std::string five;
    for (int i = 0; i < 5; ++i)
        five += client_frame(op_binary, message, true, true, rsv1);
    c.send(five);
    // Its own messages come back before the close: the first passes, the second is over.
    for (int i = 0; i < 5; ++i) {
        const auto f = c.read_frame();
        if (f.opcode == op_close) {
            BOOST_TEST(close_code(f) == 1008u,
                       "close code " << close_code(f) << " '" << close_reason(f) << "'");
            BOOST_TEST(i <= 2, i << " messages came back before the close");
            return;
        }
    }
    BOOST_FAIL("five messages inflating to 300 kB were let through a 100 kB/s limit");
}

BOOST_FIXTURE_TEST_CASE(invalid_deflate_data_is_1007, compression_server) {
    raw_connection c(io);
    upgrade_with_deflate(c, port(), "/im?user_id=garbage");
    c.send(client_frame(op_text, "\xff\xff\xff\xff not deflate", true, true, rsv1));
    expect_close(c, 1007);
    // Deflate that inflates to text that is not UTF-8 is 1007 too.
    raw_connection t(io);
    upgrade_with_deflate(t, port(), "/im?user_id=latin1");
    t.send(client_frame(op_text, deflated("caf\xE9 au lait"), true, true, rsv1));
    expect_close(t, 1007);
}

BOOST_FIXTURE_TEST_CASE(rsv1_without_the_extension_is_1002, compression_server) {
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=no-offer");
    c.send(client_frame(op_text, deflated("hello hello hello"), true, true, rsv1));
    expect_close(c, 1002);
}

BOOST_AUTO_TEST_SUITE_END()

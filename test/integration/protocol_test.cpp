// RFC 6455 conformance of the server's side, with frames built by hand on a raw connection after a
// normal handshake: a protocol violation gets the close code the RFC asks for (1002, or 1007 for a
// text message that is not UTF-8) and then the end of the connection, control frames are answered
// even between the fragments of a message, and a clean close is echoed.
#include "raw_connection.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;

namespace {

// Reads what the server sends until its close frame, then until the connection ends. Returns the
// close frame; nothing but the close frame may arrive, and nothing after it.
server_frame expect_close(raw_connection& c, unsigned code) {
    const auto f = c.read_frame();
    BOOST_TEST(!f.masked, "a server frame must not be masked");
    BOOST_REQUIRE_MESSAGE(f.opcode == op_close, "expected a close frame, got opcode "
                                                    << int(f.opcode) << " '" << f.payload.substr(0, 40)
                                                    << "'");
    BOOST_TEST(close_code(f) == code, "close code " << close_code(f) << " '" << close_reason(f) << "'");
    const auto end = c.read_until_end();
    BOOST_TEST(end.bytes.empty(), end.bytes.size() << " bytes after the close frame");
    // The server may reset rather than FIN when bytes of the offending frame were left unread.
    BOOST_TEST((end.end == asio::error::eof || end.end == asio::error::connection_reset), end.end.message());
    return f;
}

// One connection per case, so that each violation is judged on a fresh session.
void expect_violation(server_fixture& f, const std::string& bytes, unsigned code, const std::string& what) {
    BOOST_TEST_CONTEXT(what) {
        raw_connection c(f.io);
        c.upgrade_ok(f.port(), "/im?user_id=violator");
        c.send(bytes);
        expect_close(c, code);
    }
}

// The server is still fine afterwards, and nothing of the bad frames was broadcast.
void expect_still_serving(server_fixture& f, ws_client& watcher) {
    ws_client probe(f.io);
    probe.connect(f.port(), "/im?user_id=probe");
    probe.send_text("probe");
    const auto m = watcher.read();
    BOOST_TEST(m.payload == "probe", "the watcher got '" << m.payload.substr(0, 40) << "' first");
}

} // namespace

BOOST_AUTO_TEST_SUITE(protocol)

BOOST_FIXTURE_TEST_CASE(text_that_is_not_utf8_gets_1007, server_fixture) {
    ws_client watcher(io);
    watcher.connect(port(), "/im?user_id=watcher");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"\xC3\x28", "an invalid continuation byte"},  {"ok \xC0\xAF", "an overlong encoding"},
        {"\xED\xA0\x80", "a UTF-16 surrogate"},        {"\xF4\x90\x80\x80", "a code point above U+10FFFF"},
        {"\xFF", "a byte that never occurs in UTF-8"},
    };
    for (const auto& [payload, what] : cases)
        expect_violation(*this, client_frame(op_text, payload), 1007, what);
    // Split over fragments: each part on its own could still be the start of valid text.
    expect_violation(*this, client_frame(op_text, "\xE2\x82", false) + client_frame(op_continuation, "\x28"),
                     1007, "a sequence broken across fragments");
    expect_still_serving(*this, watcher);
}

BOOST_FIXTURE_TEST_CASE(utf8_split_across_fragments_is_fine, server_fixture) {
    ws_client watcher(io);
    watcher.connect(port(), "/im?user_id=watcher");
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=euro");
    // U+20AC EURO SIGN is E2 82 AC: cut after its second byte.
    c.send(client_frame(op_text, "price: \xE2\x82", false) + client_frame(op_continuation, "\xAC"
                                                                                           "5"));
    const auto m = watcher.read();
    BOOST_TEST(m.is_text);
    BOOST_TEST(m.payload == "price: \xE2\x82\xAC"
                            "5");
}

BOOST_FIXTURE_TEST_CASE(unmasked_client_frame_gets_1002, server_fixture) {
    ws_client watcher(io);
    watcher.connect(port(), "/im?user_id=watcher");
    expect_violation(*this, client_frame(op_text, "hello", true, false), 1002, "an unmasked text frame");
    expect_violation(*this, client_frame(op_ping, "hello", true, false), 1002, "an unmasked ping");
    expect_still_serving(*this, watcher);
}

BOOST_FIXTURE_TEST_CASE(reserved_bits_get_1002, server_fixture) {
    ws_client watcher(io);
    watcher.connect(port(), "/im?user_id=watcher");
    // No extension was negotiated, so none of RSV1-3 may be set.
    for (std::uint8_t rsv : {4, 2, 1, 7})
        expect_violation(*this, client_frame(op_text, "reserved", true, true, rsv), 1002,
                         "RSV bits " + std::to_string(rsv));
    expect_violation(*this, client_frame(op_ping, "", true, true, 4), 1002, "RSV1 on a ping");
    expect_still_serving(*this, watcher);
}

BOOST_FIXTURE_TEST_CASE(unknown_opcodes_get_1002, server_fixture) {
    ws_client watcher(io);
    watcher.connect(port(), "/im?user_id=watcher");
    for (std::uint8_t op : {0x3, 0x7, 0xB, 0xF})
        expect_violation(*this, client_frame(op, "x"), 1002, "opcode " + std::to_string(op));
    expect_still_serving(*this, watcher);
}

BOOST_FIXTURE_TEST_CASE(malformed_close_frames_get_1002, server_fixture) {
    expect_violation(*this, client_frame(op_close, "\x03"), 1002, "a close frame with a 1-byte payload");
    // Section 7.4: 1004-1006 and 1015 are reserved or never sent, 1016-2999 unassigned, and
    // nothing is defined at 5000 or above.
    for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 5001, 65535})
        expect_violation(*this, client_frame(op_close, close_payload(code)), 1002,
                         "close code " + std::to_string(code));
    expect_violation(*this, client_frame(op_close, close_payload(1000, std::string(124, 'r'))), 1002,
                     "a close frame of 126 bytes (control frames are at most 125)");
}

BOOST_FIXTURE_TEST_CASE(control_and_fragmentation_rules_are_enforced, server_fixture) {
    expect_violation(*this, client_frame(op_ping, std::string(126, 'p')), 1002, "a ping of 126 bytes");
    expect_violation(*this, client_frame(op_ping, "abc", false), 1002, "a fragmented ping");
    expect_violation(*this, client_frame(op_continuation, "orphan"), 1002, "a continuation with no message");
    expect_violation(*this, client_frame(op_text, "first", false) + client_frame(op_text, "second"), 1002,
                     "a new message inside a fragmented one");
}

BOOST_FIXTURE_TEST_CASE(ping_is_answered_with_a_pong_carrying_its_payload, server_fixture) {
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=pinger");
    c.send(client_frame(op_ping, "abc"));
    const auto pong = c.read_frame();
    BOOST_TEST(pong.opcode == op_pong);
    BOOST_TEST(pong.fin);
    BOOST_TEST(!pong.masked);
    BOOST_TEST(pong.payload == "abc");

    // The largest control frame, and an empty one.
    const std::string biggest(125, '\x7F');
    c.send(client_frame(op_ping, biggest) + client_frame(op_ping, ""));
    BOOST_TEST(c.read_frame().payload == biggest);
    const auto empty = c.read_frame();
    BOOST_TEST(empty.opcode == op_pong);
    BOOST_TEST(empty.payload.empty());
    // An unsolicited pong is allowed and needs no answer: the next ping's pong comes next.
    c.send(client_frame(op_pong, "unsolicited") + client_frame(op_ping, "next"));
    const auto next = c.read_frame();
    BOOST_TEST(next.opcode == op_pong);
    BOOST_TEST(next.payload == "next");
}

BOOST_FIXTURE_TEST_CASE(burst_of_messages_in_one_write_arrives_whole_and_in_order, server_fixture) {
    // 600 messages in one write: more than the server parses per pass (256), so the rest of the
    // read waits in the session between passes; none may be lost, split or reordered.
    ws_client watcher(io);
    watcher.connect(port(), "/im?user_id=watcher");
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=burster");
    std::string burst;
    for (int i = 0; i < 600; ++i)
        burst += client_frame(op_text, "m" + std::to_string(i));
    c.send(burst);
    for (int i = 0; i < 600; ++i) {
        const auto m = watcher.read();
        BOOST_REQUIRE_EQUAL(m.payload, "m" + std::to_string(i));
    }
}

BOOST_FIXTURE_TEST_CASE(burst_of_pings_gets_every_pong_in_order, server_fixture) {
    // 1000 pings in one write (the default rate limit's burst: every frame counts): the server
    // answers a read's pings together, in one write, so a burst costs it one system call, but
    // each ping still gets its own pong.
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=pinger");
    std::string burst;
    for (int i = 0; i < 1000; ++i)
        burst += client_frame(op_ping, std::to_string(i));
    c.send(burst);
    for (int i = 0; i < 1000; ++i) {
        const auto pong = c.read_frame();
        BOOST_REQUIRE(pong.opcode == op_pong);
        BOOST_REQUIRE_EQUAL(pong.payload, std::to_string(i));
    }
}

BOOST_FIXTURE_TEST_CASE(ping_between_fragments_is_answered_and_the_message_arrives_whole, server_fixture) {
    ws_client receiver(io);
    receiver.connect(port(), "/im?user_id=receiver");
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=fragmenter");

    c.send(client_frame(op_text, "Hello, ", false));
    c.send(client_frame(op_ping, "in the middle"));
    // The pong comes while the message is still incomplete.
    const auto pong = c.read_frame();
    BOOST_TEST(pong.opcode == op_pong);
    BOOST_TEST(pong.payload == "in the middle");
    c.send(client_frame(op_continuation, "fragmented ", false) + client_frame(op_ping, "again") +
           client_frame(op_continuation, "world"));

    const auto m = receiver.read();
    BOOST_TEST(m.is_text);
    BOOST_TEST(m.payload == "Hello, fragmented world");
    // The sender gets the second pong, then its own message as one unfragmented frame.
    const auto second = c.read_frame();
    BOOST_TEST(second.opcode == op_pong);
    BOOST_TEST(second.payload == "again");
    const auto own = c.read_frame();
    BOOST_TEST(own.opcode == op_text);
    BOOST_TEST(own.fin);
    BOOST_TEST(own.payload == "Hello, fragmented world");
}

BOOST_FIXTURE_TEST_CASE(clean_close_is_echoed_then_the_connection_ends, server_fixture) {
    raw_connection c(io);
    c.upgrade_ok(port(), "/im?user_id=leaver");
    c.send(client_frame(op_close, close_payload(1000, "bye")));
    const auto echo = c.read_frame();
    BOOST_TEST(echo.opcode == op_close);
    BOOST_TEST(!echo.masked);
    BOOST_TEST(close_code(echo) == 1000u);
    // Then a FIN, and nothing else.
    const auto end = c.read_until_end();
    BOOST_TEST(end.bytes.empty());
    BOOST_TEST((end.end == asio::error::eof), end.end.message());
    const auto line = server.wait_for_log("disconnect user_id=leaver");
    BOOST_REQUIRE(line.has_value());
    BOOST_TEST(line->find("closed by peer (1000: bye)") != std::string::npos, *line);

    // Every assigned code a peer may send (1014 "bad gateway" included) and the application codes
    // (3000-4999) are echoed; so is a close frame without a code.
    for (std::uint16_t code :
         {1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999}) {
        raw_connection app(io);
        app.upgrade_ok(port(), "/im?user_id=app");
        app.send(client_frame(op_close, close_payload(code)));
        const auto f = app.read_frame();
        BOOST_TEST(f.opcode == op_close);
        BOOST_TEST(close_code(f) == code);
        BOOST_TEST((app.read_until_end().end == asio::error::eof));
    }
    raw_connection bare(io);
    bare.upgrade_ok(port(), "/im?user_id=bare");
    bare.send(client_frame(op_close, ""));
    const auto f = bare.read_frame();
    BOOST_TEST(f.opcode == op_close);
    BOOST_TEST((bare.read_until_end().end == asio::error::eof));
}

BOOST_FIXTURE_TEST_CASE(text_that_cannot_become_utf8_gets_1007_at_once, server_fixture) {
    // The message is never finished: the server must judge the bytes it has, fragment by fragment
    // and even inside a frame whose rest has not arrived.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {client_frame(op_text, "\xFF", false), "a first fragment starting with 0xFF"},
        {client_frame(op_text, "ok \xC0", false), "a first fragment ending in an overlong lead byte"},
        {client_frame(op_text, "fine ", false) + client_frame(op_continuation, "\xED\xA0", false),
         "a second fragment starting a surrogate"},
        {client_frame(op_text, "\xE2\x82", false) + client_frame(op_continuation, "\x28", false),
         "a sequence broken across fragments"},
        {client_frame(op_text, "abc\xFF" + std::string(996, 'x')).substr(0, 4 + 4 + 4),
         "the first bytes of a frame whose rest never comes"},
    };
    for (const auto& [bytes, what] : cases)
        expect_violation(*this, bytes, 1007, what);
}

BOOST_FIXTURE_TEST_CASE(close_reason_that_is_not_utf8_gets_1007, server_fixture) {
    expect_violation(*this, client_frame(op_close, close_payload(1000, "bye \xFF")), 1007,
                     "a close reason with a byte that never occurs in UTF-8");
}

BOOST_FIXTURE_TEST_CASE(messages_before_a_bad_frame_reach_everyone_the_sender_too, server_fixture) {
    // What a client sent before breaking the protocol was valid and is the hub's: every client
    // gets it, its sender included, and the sender's 1002 comes only after it.
    ws_client watcher(io);
    watcher.connect(port(), "/im?user_id=watcher");
    const std::vector<std::pair<std::string, std::string>> bad_frames = {
        {client_frame(op_text, "x", true, true, 4), "reserved bits"},
        {client_frame(0x3, "x"), "a reserved opcode"},
        {client_frame(op_continuation, "x"), "a continuation with nothing to continue"},
    };
    int round = 0;
    for (const auto& [bad, what] : bad_frames) {
        BOOST_TEST_CONTEXT(what) {
            raw_connection c(io);
            c.upgrade_ok(port(), "/im?user_id=breaker");
            const std::string first = "first " + std::to_string(round),
                              last = "last " + std::to_string(round);
            ++round;
            c.send(client_frame(op_text, first) + client_frame(op_binary, last) + bad);
            for (const auto& expected : {first, last}) {
                const auto own = c.read_frame();
                BOOST_REQUIRE_MESSAGE(own.opcode != op_close, "closed (" << close_code(own)
                                                                         << ") before its own '" << expected
                                                                         << "' came back");
                BOOST_TEST(own.payload == expected);
            }
            expect_close(c, 1002);
            BOOST_TEST(watcher.read().payload == first);
            BOOST_TEST(watcher.read().payload == last);
        }
    }
    expect_still_serving(*this, watcher);
}

BOOST_AUTO_TEST_SUITE_END()

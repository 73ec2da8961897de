// --client-messages: with `drop` what clients send reaches nobody, the sender included; with the
// default `broadcast` the very same exchange reaches everyone.
//
// "Nothing arrives" is shown without a fixed wait: a ping sent behind the message on the same
// connection comes back only after the server has processed the message, and a ping from the
// receiver comes back behind anything that was queued for it.
#include "raw_connection.hpp"
#include "server_fixture.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace wshub_test;

namespace {

struct drop_server : server_fixture {
    drop_server()
        : server_fixture(wshub_args(1, {"--client-messages=drop"})) {}
};

// A window in which a broadcast, had there been one, would long have arrived on loopback.
constexpr std::chrono::milliseconds quiet_window{300};

// Sends a ping and reads up to its pong; returns the data frames that came before it.
std::vector<server_frame> ping_and_collect(raw_connection& c, const std::string& token) {
    c.send(client_frame(op_ping, token));
    std::vector<server_frame> before;
    for (;;) {
        auto f = c.read_frame();
        BOOST_TEST(!f.masked);
        if (f.opcode == op_pong) {
            BOOST_TEST(f.payload == token);
            return before;
        }
        BOOST_REQUIRE_MESSAGE(f.opcode == op_text || f.opcode == op_binary,
                              "unexpected frame with opcode " << int(f.opcode));
        before.push_back(std::move(f));
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(client_messages)

BOOST_FIXTURE_TEST_CASE(drop_mode_delivers_a_client_message_to_nobody, drop_server) {
    raw_connection sender(io), receiver(io);
    sender.upgrade_ok(port(), "/im?user_id=sender");
    receiver.upgrade_ok(port(), "/im?user_id=receiver");

    sender.send(client_frame(op_text, "should go nowhere"));
    sender.send(client_frame(op_binary, std::string(3000, '\x01')));
    // The sender's pong proves both messages were read and handled; no copy came back before it.
    BOOST_TEST(ping_and_collect(sender, "after-messages").empty());

    if (const auto late = receiver.read_frame_within(quiet_window))
        BOOST_ERROR("the receiver got a frame with opcode " << int(late->opcode) << ": '" << late->payload
                                                            << "'");
    BOOST_TEST(ping_and_collect(receiver, "receiver-check").empty());
    // Nor does the sender get its copy late.
    BOOST_TEST(ping_and_collect(sender, "sender-check").empty());

    // Both connections are still open and served: a proper close is answered.
    for (auto* c : {&sender, &receiver}) {
        c->send(client_frame(op_close, close_payload(1000)));
        const auto f = c->read_frame();
        BOOST_TEST(f.opcode == op_close);
        BOOST_TEST(close_code(f) == 1000u);
    }
}

BOOST_FIXTURE_TEST_CASE(broadcast_mode_delivers_the_same_exchange_to_everyone, server_fixture) {
    raw_connection sender(io), receiver(io);
    sender.upgrade_ok(port(), "/im?user_id=sender");
    receiver.upgrade_ok(port(), "/im?user_id=receiver");

    sender.send(client_frame(op_text, "goes to everyone"));
    auto at_sender = ping_and_collect(sender, "after-message");
    // The broadcast copy may come after the pong, which is queued as soon as the ping is read.
    if (at_sender.empty()) {
        auto f = sender.read_frame();
        at_sender.push_back(std::move(f));
    }
    BOOST_REQUIRE(at_sender.size() == 1u);
    BOOST_TEST(at_sender[0].opcode == op_text);
    BOOST_TEST(at_sender[0].payload == "goes to everyone");

    const auto at_receiver = receiver.read_frame_within(std::chrono::seconds(10));
    BOOST_REQUIRE(at_receiver.has_value());
    BOOST_TEST(at_receiver->opcode == op_text);
    BOOST_TEST(at_receiver->payload == "goes to everyone");
}

BOOST_AUTO_TEST_SUITE_END()

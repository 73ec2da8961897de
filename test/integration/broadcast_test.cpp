// Every message goes to every client, sender included, once, with its type and bytes unchanged.
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace wshub_test;
namespace websocket = boost::beast::websocket;

namespace {

void expect_text(ws_client& c, const std::string& payload) {
    const auto m = c.read();
    BOOST_TEST(m.is_text);
    BOOST_TEST(m.payload == payload);
}

// Bytes that are not valid UTF-8, so a text/binary mix-up would show.
std::string all_byte_values() {
    std::string s;
    for (int i = 0; i < 256; ++i)
        s.push_back(static_cast<char>(i));
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(broadcast)

BOOST_FIXTURE_TEST_CASE(reaches_every_client_including_the_sender, server_fixture) {
    ws_client a(io), b(io), c(io);
    a.connect(port(), "/im?user_id=a");
    b.connect(port(), "/im?user_id=b");
    c.connect(port(), "/im?user_id=c");

    a.send_text("from a");
    for (auto* cl : {&a, &b, &c})
        expect_text(*cl, "from a");
    b.send_text("from b");
    c.send_text("from c");
    for (auto* cl : {&a, &b, &c}) {
        // b's message was sent first, so it is first everywhere.
        expect_text(*cl, "from b");
        expect_text(*cl, "from c");
    }
    // Nothing was duplicated: the next message anyone gets is the new one.
    a.send_text("end");
    for (auto* cl : {&a, &b, &c})
        expect_text(*cl, "end");
}

BOOST_FIXTURE_TEST_CASE(duplicate_user_id_connections_are_independent, server_fixture) {
    ws_client first(io), second(io), other(io);
    first.connect(port(), "/im?user_id=dup");
    second.connect(port(), "/im?user_id=dup");
    other.connect(port(), "/im?user_id=other");

    other.send_text("to both");
    for (auto* cl : {&first, &second, &other})
        expect_text(*cl, "to both");

    first.close();
    BOOST_TEST(server.wait_for_log("disconnect user_id=dup").has_value());

    other.send_text("after close");
    expect_text(second, "after close");
    expect_text(other, "after close");
    second.send_text("from the survivor");
    expect_text(second, "from the survivor");
    expect_text(other, "from the survivor");
}

BOOST_FIXTURE_TEST_CASE(binary_stays_binary_and_text_stays_text, server_fixture) {
    ws_client sender(io), receiver(io);
    sender.connect(port(), "/im?user_id=s");
    receiver.connect(port(), "/im?user_id=r");

    const std::string bytes = all_byte_values();
    const std::string text = "h\xC3\xA9llo \xE2\x9C\x93"; // "héllo ✓" in UTF-8
    sender.send_binary(bytes);
    sender.send_text(text);
    sender.send_binary("");
    for (auto* cl : {&receiver, &sender}) {
        const auto b = cl->read();
        BOOST_TEST(!b.is_text);
        BOOST_TEST(b.payload.size() == 256u);
        BOOST_TEST(b.payload == bytes);
        const auto t = cl->read();
        BOOST_TEST(t.is_text);
        BOOST_TEST(t.payload == text);
        const auto empty = cl->read();
        BOOST_TEST(!empty.is_text);
        BOOST_TEST(empty.payload.empty());
    }
}

BOOST_FIXTURE_TEST_CASE(one_mebibyte_message_arrives_intact, server_fixture) {
    ws_client sender(io), receiver(io);
    sender.connect(port(), "/im?user_id=big");
    receiver.connect(port(), "/im?user_id=r");

    std::string payload(1024 * 1024, '\0'); // exactly the default --max-message-size
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>((i * 31 + i / 251) & 0xFF);
    sender.send_binary(payload);

    const auto m = receiver.read();
    BOOST_TEST(!m.is_text);
    BOOST_TEST(m.payload.size() == payload.size());
    BOOST_TEST((m.payload == payload), "the 1 MiB payload arrived altered");
    BOOST_TEST((sender.read().payload == payload));
}

BOOST_FIXTURE_TEST_CASE(message_over_the_limit_closes_the_sender_with_1009, server_fixture) {
    ws_client sender(io), bystander(io);
    sender.connect(port(), "/im?user_id=too-big");
    bystander.connect(port(), "/im?user_id=bystander");

    sender.send_binary(std::string(1024 * 1024 + 1, 'x'));
    const auto closed = sender.read_close();
    BOOST_TEST(closed.code == static_cast<unsigned>(websocket::close_code::too_big));
    BOOST_TEST(closed.transport_error.empty(), "after the 1009 close frame: " << closed.transport_error);
    BOOST_TEST(closed.messages_before == 0u, "the oversized message must not be broadcast");

    bystander.send_text("unaffected");
    expect_text(bystander, "unaffected");
}

BOOST_FIXTURE_TEST_CASE(fragmented_message_is_reassembled, server_fixture) {
    ws_client sender(io), receiver(io);
    sender.connect(port(), "/im?user_id=frag");
    receiver.connect(port(), "/im?user_id=r");

    sender.send_fragmented({"frag-one ", "frag-two ", "", "frag-three"}, true);
    sender.send_fragmented({std::string(3, '\x01'), std::string(70000, '\x02'), std::string(5, '\x03')},
                           false);
    sender.send_text("after");
    for (auto* cl : {&receiver, &sender}) {
        expect_text(*cl, "frag-one frag-two frag-three");
        const auto b = cl->read();
        BOOST_TEST(!b.is_text);
        BOOST_TEST(
            (b.payload == std::string(3, '\x01') + std::string(70000, '\x02') + std::string(5, '\x03')));
        expect_text(*cl, "after");
    }
}

BOOST_FIXTURE_TEST_CASE(client_close_is_answered_with_its_code, server_fixture) {
    ws_client client(io), other(io);
    client.connect(port(), "/im?user_id=leaving");
    other.connect(port(), "/im?user_id=staying");
    client.close(websocket::close_code::normal); // fails unless the server answers the close
    BOOST_TEST(server.wait_for_log("disconnect user_id=leaving").has_value());
    other.send_text("still served");
    expect_text(other, "still served");
}

BOOST_AUTO_TEST_SUITE_END()

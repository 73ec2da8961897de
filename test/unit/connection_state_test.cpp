#include "wshub/connection_state.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>

using namespace wshub;
using phase = connection_state::phase;

namespace {

// A connection that has joined its shard, as after session::start().
connection_state started() {
    connection_state s;
    s.started();
    return s;
}

// What the hub's sender does with one of the client's messages: numbers it `order`.
void number(connection_state& s, std::uint64_t order) {
    auto& receipt = *s.receipt();
    receipt.last_order.store(order);
    receipt.numbered.fetch_add(1);
}

} // namespace

BOOST_AUTO_TEST_SUITE(connection_state_lifecycle)

BOOST_AUTO_TEST_CASE(a_new_connection_is_open_and_served_once_started) {
    connection_state s;
    BOOST_TEST((s.current() == phase::open));
    BOOST_TEST((s.cause() == close_cause::none));
    BOOST_TEST(s.describe().empty());
    BOOST_TEST(s.may_write());
    BOOST_TEST(s.acts_on_frames());
    BOOST_TEST(!s.serving()); // not in its shard yet
    s.started();
    BOOST_TEST(s.serving());
    BOOST_TEST(!s.close_held());
    BOOST_TEST(!s.close_sent());
    BOOST_TEST(!s.half_close_due());
    BOOST_TEST(!s.lingers());
}

BOOST_AUTO_TEST_CASE(our_close_sends_one_frame_with_its_code_and_reason) {
    auto s = started();
    const auto frame = s.close_server(close_status::policy_violation, "rate limit exceeded");
    BOOST_TEST_REQUIRE(frame.has_value());
    BOOST_TEST(frame->code == 1008);
    BOOST_TEST(frame->reason == "rate limit exceeded");
    BOOST_TEST((s.current() == phase::closing));
    BOOST_TEST((s.cause() == close_cause::server_close));
    BOOST_TEST(s.code() == 1008);
    BOOST_TEST(s.describe() == "closed by server (1008 rate limit exceeded)");
    BOOST_TEST(s.close_sent());
    BOOST_TEST(s.may_write()); // the close frame itself, and what was queued before it
    BOOST_TEST(!s.serving());  // no more broadcasts, pings or closes
    BOOST_TEST(!s.acts_on_frames());
    // A second close (the shutdown's 1001, a token expiry) sends no second frame.
    BOOST_TEST(!s.close_server(close_status::going_away, "server shutting down").has_value());
    BOOST_TEST(s.describe() == "closed by server (1008 rate limit exceeded)");
}

BOOST_AUTO_TEST_CASE(each_reason_of_ours_is_described_with_its_code) {
    const struct {
        close_status code;
        const char* reason;
        const char* described;
    } cases[] = {
        {close_status::going_away, "server shutting down", "closed by server (1001 server shutting down)"},
        {close_status::token_expired, "token expired", "closed by server (4001 token expired)"},
        {close_status::policy_violation, "outbound queue overflow: client too slow",
         "closed by server (1008 outbound queue overflow: client too slow)"},
    };
    for (const auto& c : cases) {
        auto s = started();
        const auto frame = s.close_server(c.code, c.reason);
        BOOST_TEST_REQUIRE(frame.has_value());
        BOOST_TEST(frame->code == static_cast<std::uint16_t>(c.code));
        BOOST_TEST(s.describe() == c.described);
    }
}

BOOST_AUTO_TEST_CASE(the_peers_answer_to_our_close_completes_the_handshake) {
    auto s = started();
    BOOST_TEST_REQUIRE(s.close_server(close_status::going_away, "server shutting down").has_value());
    BOOST_TEST(s.lingers()); // until its close frame comes
    s.peer_closed(1001, "bye");
    BOOST_TEST(s.peer_close_received());
    BOOST_TEST(!s.close_held()); // nothing to echo: ours went out
    BOOST_TEST(!s.take_held_close().has_value());
    BOOST_TEST((s.cause() == close_cause::server_close)); // we started it
    BOOST_TEST(s.half_close_due());
    BOOST_TEST(!s.lingers()); // it sends nothing after its close frame
}

BOOST_AUTO_TEST_CASE(the_peers_close_is_echoed_once_its_own_messages_are_back) {
    auto s = started();
    s.published();
    s.published();
    s.peer_closed(1000, "bye");
    BOOST_TEST((s.current() == phase::closing));
    BOOST_TEST((s.cause() == close_cause::peer_close_frame));
    BOOST_TEST(s.describe() == "closed by peer (1000: bye)");
    BOOST_TEST(s.close_held());
    BOOST_TEST(!s.close_sent());
    BOOST_TEST(s.serving()); // broadcasts still reach it, its own messages among them
    BOOST_TEST(s.awaits_own_messages());

    number(s, 7);
    BOOST_TEST(s.awaits_own_messages()); // one of two numbered
    number(s, 9);
    s.delivered(8);
    BOOST_TEST(s.awaits_own_messages()); // numbered, not yet delivered back
    s.delivered(9);
    BOOST_TEST(s.own_messages_delivered());
    BOOST_TEST(!s.awaits_own_messages());

    const auto frame = s.take_held_close();
    BOOST_TEST_REQUIRE(frame.has_value());
    BOOST_TEST(frame->code == 1000);
    BOOST_TEST(frame->reason.empty()); // the echo carries the code alone
    BOOST_TEST(s.close_sent());
    BOOST_TEST(!s.close_held());
    BOOST_TEST(!s.take_held_close().has_value()); // once
    BOOST_TEST(s.half_close_due());
    BOOST_TEST(!s.lingers());
    BOOST_TEST(!s.close_server(close_status::going_away, "server shutting down").has_value());
}

BOOST_AUTO_TEST_CASE(a_close_frame_without_a_code_is_answered_without_one) {
    auto s = started();
    s.peer_closed(0, "");
    BOOST_TEST(!s.awaits_own_messages()); // it published nothing
    BOOST_TEST(s.describe() == "closed");
    const auto frame = s.take_held_close();
    BOOST_TEST_REQUIRE(frame.has_value());
    BOOST_TEST(frame->code == 0);
}

BOOST_AUTO_TEST_CASE(a_violation_is_answered_with_its_code_and_why) {
    for (const std::uint16_t code : {1002, 1007, 1009}) {
        auto s = started();
        s.peer_violated(code, "bad frame");
        BOOST_TEST((s.cause() == close_cause::peer_violation));
        BOOST_TEST(s.code() == code);
        BOOST_TEST(s.describe() == "protocol error (" + std::to_string(code) + "): bad frame");
        BOOST_TEST(!s.peer_close_received());
        const auto frame = s.take_held_close();
        BOOST_TEST_REQUIRE(frame.has_value());
        BOOST_TEST(frame->code == code);
        BOOST_TEST(frame->reason == "bad frame");
        BOOST_TEST(s.lingers()); // the peer may still be sending: drain it before closing
    }
}

BOOST_AUTO_TEST_CASE(our_close_replaces_a_held_answer) {
    auto s = started();
    s.published();
    s.peer_closed(1000, "bye");
    BOOST_TEST(s.awaits_own_messages());
    // The shutdown comes while its own messages are on their way.
    const auto frame = s.close_server(close_status::going_away, "server shutting down");
    BOOST_TEST_REQUIRE(frame.has_value());
    BOOST_TEST(frame->code == 1001);
    BOOST_TEST(s.describe() == "closed by server (1001 server shutting down)");
    BOOST_TEST(!s.close_held());
    BOOST_TEST(!s.awaits_own_messages());
    BOOST_TEST(!s.take_held_close().has_value()); // the reader's late answer sends nothing
    BOOST_TEST(!s.lingers());                     // its close frame came
}

BOOST_AUTO_TEST_CASE(the_idle_timeout_closes_the_socket_and_says_so) {
    auto s = started();
    BOOST_TEST(s.idle_timeout());
    BOOST_TEST((s.current() == phase::closed));
    BOOST_TEST((s.cause() == close_cause::idle_timeout));
    BOOST_TEST(s.describe() == "idle timeout: no answer to pings");
    BOOST_TEST(!s.may_write());
    BOOST_TEST(!s.serving());
    BOOST_TEST(!s.acts_on_frames());
    BOOST_TEST(!s.half_close_due());
    BOOST_TEST(!s.lingers());
    // Closed once: the socket is not closed twice.
    BOOST_TEST(!s.force_close());
    BOOST_TEST(!s.idle_timeout());
}

BOOST_AUTO_TEST_CASE(the_idle_timeout_replaces_an_unanswered_peer_close) {
    auto s = started();
    s.published();
    s.peer_closed(1000, "bye");
    BOOST_TEST(s.idle_timeout());
    BOOST_TEST((s.cause() == close_cause::idle_timeout));
    BOOST_TEST(!s.awaits_own_messages());
    BOOST_TEST(!s.take_held_close().has_value());
}

BOOST_AUTO_TEST_CASE(a_failed_write_closes_the_socket_and_keeps_the_first_cause) {
    auto s = started();
    BOOST_TEST(s.write_failed("Broken pipe"));
    BOOST_TEST(s.closed());
    BOOST_TEST(s.describe() == "write failed: Broken pipe");
    // The reader then fails on the closed socket: the write stays the reason.
    s.read_failed("Bad file descriptor");
    BOOST_TEST(s.describe() == "write failed: Broken pipe");
    BOOST_TEST(!s.write_failed("again"));

    auto after_close = started();
    BOOST_TEST_REQUIRE(
        after_close.close_server(close_status::going_away, "server shutting down").has_value());
    BOOST_TEST(after_close.write_failed("Connection reset by peer"));
    BOOST_TEST(after_close.describe() == "closed by server (1001 server shutting down)");
    BOOST_TEST(!after_close.half_close_due());
}

BOOST_AUTO_TEST_CASE(a_forced_close_keeps_the_reason_before_it) {
    auto s = started();
    BOOST_TEST_REQUIRE(s.close_server(close_status::going_away, "server shutting down").has_value());
    BOOST_TEST(s.force_close()); // the drain time is over
    BOOST_TEST(s.closed());
    BOOST_TEST((s.cause() == close_cause::server_close));
    BOOST_TEST(!s.force_close());

    auto bare = started();
    BOOST_TEST(bare.force_close());
    BOOST_TEST((bare.cause() == close_cause::forced));
    BOOST_TEST(!bare.describe().empty());
}

BOOST_AUTO_TEST_CASE(the_end_of_the_peers_stream_without_a_close_frame) {
    auto s = started();
    s.peer_disconnected();
    BOOST_TEST((s.current() == phase::closing));
    BOOST_TEST((s.cause() == close_cause::peer_disconnected));
    BOOST_TEST(s.describe() == "connection closed without a close frame");
    BOOST_TEST(s.may_write()); // what is queued is still flushed
    BOOST_TEST(!s.half_close_due());
    BOOST_TEST(!s.lingers());

    auto failed = started();
    failed.read_failed("Connection reset by peer");
    BOOST_TEST(failed.describe() == "read failed: Connection reset by peer");
}

BOOST_AUTO_TEST_CASE(events_after_the_socket_closed_are_ignored) {
    auto s = started();
    BOOST_TEST(s.force_close());
    s.peer_closed(1000, "late");
    s.peer_violated(1002, "late");
    s.peer_disconnected();
    s.read_failed("late");
    BOOST_TEST(!s.close_server(close_status::going_away, "late").has_value());
    BOOST_TEST(!s.take_held_close().has_value());
    BOOST_TEST(!s.idle_timeout());
    BOOST_TEST(!s.write_failed("late"));
    BOOST_TEST(!s.close_held());
    BOOST_TEST(!s.peer_close_received());
    BOOST_TEST((s.cause() == close_cause::forced));
    BOOST_TEST(s.closed());
}

BOOST_AUTO_TEST_CASE(the_socket_closing_while_the_answer_is_held_sends_none) {
    auto s = started();
    s.published();
    s.peer_violated(1009, "message too big");
    BOOST_TEST(s.awaits_own_messages());
    BOOST_TEST(s.force_close()); // the shutdown's drain time ran out first
    BOOST_TEST(!s.awaits_own_messages());
    BOOST_TEST(!s.take_held_close().has_value());
    BOOST_TEST(s.describe() == "protocol error (1009): message too big");
}

BOOST_AUTO_TEST_CASE(the_reader_leaves_the_shard_once) {
    auto s = started();
    BOOST_TEST(s.reader_ended());
    BOOST_TEST(!s.reader_ended()); // its exception handler after finish(): already out
    BOOST_TEST(!s.serving());
    // The shard no longer closes it; a close after the reader is ignored.
    BOOST_TEST(!s.close_server(close_status::going_away, "server shutting down").has_value());

    connection_state never_started;
    BOOST_TEST(!never_started.reader_ended());
}

BOOST_AUTO_TEST_CASE(one_writer_at_a_time_and_none_after_the_socket_closed) {
    auto s = started();
    BOOST_TEST(!s.writer_running());
    BOOST_TEST(s.writer_starting());
    BOOST_TEST(s.writer_running());
    BOOST_TEST(!s.writer_starting()); // the running one sends what is queued
    BOOST_TEST(s.flushing());
    s.writer_idle();
    BOOST_TEST(!s.flushing());
    BOOST_TEST(s.writer_starting());
    BOOST_TEST(s.force_close());
    BOOST_TEST(!s.flushing()); // its write fails on the closed socket
    s.writer_idle();
    BOOST_TEST(!s.writer_starting());
}

BOOST_AUTO_TEST_CASE(own_messages_are_back_once_numbered_and_delivered) {
    connection_state s;
    BOOST_TEST(s.own_messages_delivered()); // none published
    const auto receipt = s.receipt();
    BOOST_TEST(receipt == s.receipt()); // one receipt for all of them
    s.published();
    BOOST_TEST(!s.own_messages_delivered()); // not numbered yet
    number(s, 3);
    BOOST_TEST(!s.own_messages_delivered()); // numbered, seq 3 not delivered yet
    s.delivered(3);
    BOOST_TEST(s.own_messages_delivered());
}

BOOST_AUTO_TEST_CASE(each_way_of_ending_maps_to_one_disconnect_reason) {
    using r = disconnect_reason;
    auto peer_close = started();
    peer_close.peer_closed(1000, "bye");
    BOOST_TEST((peer_close.reason() == r::client_close));

    auto gone = started();
    gone.peer_disconnected();
    BOOST_TEST((gone.reason() == r::client_gone));
    auto reset = started();
    reset.read_failed("Connection reset by peer");
    BOOST_TEST((reset.reason() == r::client_gone));

    auto violation = started();
    violation.peer_violated(1009, "message too big");
    BOOST_TEST((violation.reason() == r::protocol_error));

    auto idle = started();
    idle.idle_timeout();
    BOOST_TEST((idle.reason() == r::idle));

    auto write = started();
    write.write_failed("Broken pipe");
    BOOST_TEST((write.reason() == r::write_error));

    auto forced = started();
    forced.force_close();
    BOOST_TEST((forced.reason() == r::server_error));

    // Our closes: the code tells the reason, except 1008, whose caller names it.
    const struct {
        close_status code;
        r expected;
    } by_code[] = {{close_status::going_away, r::shutdown},
                   {close_status::token_expired, r::token_expired},
                   {close_status::disconnected, r::disconnected},
                   {close_status::protocol_error, r::protocol_error}};
    for (const auto& c : by_code) {
        auto s = started();
        BOOST_TEST_REQUIRE(s.close_server(c.code, "why").has_value());
        BOOST_TEST((s.reason() == c.expected));
    }
    for (auto why : {r::slow_consumer, r::rate_limit}) {
        auto s = started();
        BOOST_TEST_REQUIRE(s.close_server(close_status::policy_violation, "why", why).has_value());
        BOOST_TEST((s.reason() == why));
        s.peer_closed(1008, {}); // the client's answer does not change it
        BOOST_TEST((s.reason() == why));
    }
}

BOOST_AUTO_TEST_CASE(our_close_of_an_unanswered_peer_close_is_the_reason) {
    auto s = started();
    s.published();
    s.peer_closed(1000, "bye");
    BOOST_TEST((s.reason() == disconnect_reason::client_close));
    BOOST_TEST_REQUIRE(s.close_server(close_status::going_away, "server shutting down").has_value());
    BOOST_TEST((s.reason() == disconnect_reason::shutdown));
    // A first cause that stays (the peer's close was answered) keeps its reason.
    auto answered = started();
    answered.peer_closed(1000, "bye");
    BOOST_TEST_REQUIRE(answered.take_held_close().has_value());
    BOOST_TEST(!answered.close_server(close_status::going_away, "late").has_value());
    BOOST_TEST((answered.reason() == disconnect_reason::client_close));
}

BOOST_AUTO_TEST_SUITE_END()

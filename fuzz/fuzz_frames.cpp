// Parses arbitrary client bytes as WebSocket frames. Input: one byte whose low three bits pick the
// maximum message size, whose next bit turns permessage-deflate on (RSV1 messages are inflated)
// and whose high four bits pick how the rest is cut into pieces, then the bytes from the client.
// The same bytes fed whole must give the same events as fed in pieces.
#include "wshub/frame_parser.hpp"
#include "wshub/utf8.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/websocket/detail/utf8_checker.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using wshub::frame_event;

constexpr std::array<std::size_t, 8> max_sizes{0, 1, 2, 10, 125, 126, 1000, std::size_t{1} << 20};

bool same(const frame_event& a, const frame_event& b) {
    return a.what == b.what && a.text == b.text && a.code == b.code && a.payload == b.payload;
}

void check(const wshub::frame_parser& p, const frame_event& e, std::size_t max_size) {
    switch (e.what) {
    case frame_event::kind::message:
        if (e.payload.size() > max_size) __builtin_trap();
        if (e.text && !wshub::is_valid_utf8(e.payload)) __builtin_trap();
        if (e.code != 0) __builtin_trap();
        // Nothing of it is held any more.
        if (p.mid_message() || p.done()) __builtin_trap();
        break;
    case frame_event::kind::ping:
    case frame_event::kind::pong:
        if (e.payload.size() > 125 || p.done()) __builtin_trap();
        break;
    case frame_event::kind::close:
        if (e.code != 0 && !wshub::is_valid_close_code(e.code)) __builtin_trap();
        if (e.code == 0 && !e.payload.empty()) __builtin_trap();
        if (e.payload.size() > 123 || !wshub::is_valid_utf8(e.payload)) __builtin_trap();
        if (!p.done()) __builtin_trap();
        break;
    case frame_event::kind::violation:
        if (e.code != 1002 && e.code != 1007 && e.code != 1009) __builtin_trap();
        if (e.payload.empty() || !p.done()) __builtin_trap();
        break;
    default:
        __builtin_trap();
    }
}

// Feeds `chunk` to `p` until it wants more or is done, appending the events to `events`; returns
// how many bytes it consumed.
std::size_t feed(wshub::frame_parser& p, std::span<const char> chunk, std::size_t max_size,
                 std::vector<frame_event>& events) {
    std::span<const char> in = chunk;
    const char* const end = chunk.data() + chunk.size();
    for (;;) {
        const bool was_done = p.done();
        const std::size_t before = in.size();
        auto e = p.next(in);
        // What is left is always the tail of what was given.
        if (in.size() > before || in.data() + in.size() != end) __builtin_trap();
        if (was_done && (e || in.size() != before)) __builtin_trap();
        if (!e) {
            // Nothing to report: it ran out of bytes, or it was done already.
            if (!in.empty() && !p.done()) __builtin_trap();
            break;
        }
        check(p, *e, max_size);
        events.push_back(std::move(*e));
    }
    return chunk.size() - in.size();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t max_size = max_sizes[data[0] & 7];
    const bool deflate = (data[0] & 8) != 0;
    const unsigned pattern = data[0] >> 4;
    // One inflater for both parsers, as a shard shares one among its sessions: it is reset for
    // every message, so nothing of one parser's messages may leak into the other's.
    static wshub::inflater shared_inflater;
    wshub::inflater* const z = deflate ? &shared_inflater : nullptr;
    // A copy of exactly the input, so that reading past it is caught.
    const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);

    const bool valid_utf8 = wshub::is_valid_utf8(bytes);
    if (valid_utf8 != boost::beast::websocket::detail::check_utf8(bytes.data(), bytes.size()))
        __builtin_trap();
    // Fed in pieces the validator agrees, and once it refuses a piece it was right to.
    wshub::utf8_validator pieces;
    bool refused = false;
    for (std::size_t at = 0, i = 0; at < bytes.size() && !refused; ++i) {
        const std::size_t n =
            std::min<std::size_t>(pattern == 0 ? 1 : (pattern * (i + 5) * 3 + i) % 11, bytes.size() - at);
        refused = !pieces.feed(std::string_view(bytes).substr(at, n));
        at += n;
    }
    if ((refused ? false : pieces.complete()) != valid_utf8) __builtin_trap();

    std::vector<frame_event> whole_events;
    wshub::frame_parser whole(max_size);
    whole.use_inflater(z);
    const std::size_t whole_consumed = feed(whole, bytes, max_size, whole_events);
    if (!whole.done() && whole_consumed != bytes.size()) __builtin_trap();

    // The same bytes in pieces: one byte at a time (pattern 0), or pieces of 0 to 16 bytes whose
    // sizes cycle through a sequence the pattern picks.
    std::vector<frame_event> chunked_events;
    wshub::frame_parser chunked(max_size);
    chunked.use_inflater(z);
    std::size_t chunked_consumed = 0;
    std::size_t at = 0;
    for (unsigned i = 0; at < bytes.size() || i == 0; ++i) {
        const std::size_t n =
            std::min<std::size_t>(pattern == 0 ? 1 : (pattern * (i + 3) * 7 + i) % 17, bytes.size() - at);
        chunked_consumed +=
            feed(chunked, std::span<const char>(bytes).subspan(at, n), max_size, chunked_events);
        at += n;
    }
    // Text is refused at its first bad byte, so when the bytes end in a violation the chunked
    // parser may have stopped short of where the whole one did (it never had the rest).
    const bool violated = !whole_events.empty() && whole_events.back().what == frame_event::kind::violation;
    if (violated ? chunked_consumed > whole_consumed : chunked_consumed != whole_consumed) __builtin_trap();
    if (chunked.done() != whole.done()) __builtin_trap();
    if (chunked.mid_message() != whole.mid_message()) __builtin_trap();
    if (chunked_events.size() != whole_events.size()) __builtin_trap();
    for (std::size_t i = 0; i < whole_events.size(); ++i)
        if (!same(whole_events[i], chunked_events[i])) __builtin_trap();
    return 0;
}

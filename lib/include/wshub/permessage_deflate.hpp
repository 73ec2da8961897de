// The permessage-deflate extension (RFC 7692), as wshub uses it: the negotiation of
// Sec-WebSocket-Extensions, and zlib's raw deflate for one message at a time.
//
// wshub always answers with server_no_context_takeover and client_no_context_takeover: each
// message is compressed (and inflated) from a fresh state, so one compressed copy of a broadcast
// serves every client that negotiated the extension, and one inflater per I/O thread serves every
// client of the thread. A client holds no zlib state of its own.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wshub {

// The Sec-WebSocket-Extensions value of the 101 that accepts the client's first offer of
// permessage-deflate in a form wshub accepts, from its Sec-WebSocket-Extensions (every line's
// values joined by commas); nothing when there is none. An acceptable offer has only known
// parameters, none twice, each with a valid value (RFC 7692 section 7.1), and no
// server_max_window_bits below 15 (wshub compresses with a 32 KiB window). client_max_window_bits
// may be anything valid: wshub inflates with the largest window. Offers of other extensions are
// ignored; a field that does not parse (RFC 6455 section 9.1) offers nothing.
//
// The answer always says server_no_context_takeover and client_no_context_takeover, and
// server_max_window_bits=15 when the offer asked for a window: a server accepts that parameter
// only by answering it (RFC 7692 section 7.1.2.1), and clients fail a 101 that leaves it out.
std::optional<std::string_view> permessage_deflate_answer(std::string_view offered_extensions);

// Compresses messages with a raw deflate stream reset for each one: the payload of a frame with
// RSV1 set (RFC 7692 section 7.2.1: flushed with Z_SYNC_FLUSH, the trailing 00 00 ff ff removed).
class deflater {
  public:
    deflater();
    ~deflater();
    deflater(const deflater&) = delete;
    deflater& operator=(const deflater&) = delete;

    // Appends the compressed form of `message` to `out`.
    void compress(std::string_view message, std::string& out);

  private:
    struct state;
    std::unique_ptr<state> z_;
};

// Inflates compressed messages, each from a reset state (client_no_context_takeover).
class inflater {
  public:
    inflater();
    ~inflater();
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;

    enum class result {
        ok,
        too_big, // the message inflates past the limit: inflating stopped there
        invalid, // not a valid deflate stream, or one cut off inside a block
    };
    // Replaces `out` with `compressed` (a message's payload, without the 00 00 ff ff the sender
    // removed) inflated; at most `max_size` bytes of output are produced.
    result inflate(std::string_view compressed, std::size_t max_size, std::string& out);

  private:
    struct state;
    std::unique_ptr<state> z_;
};

} // namespace wshub

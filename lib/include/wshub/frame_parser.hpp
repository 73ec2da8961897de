// Client-to-server WebSocket frames (RFC 6455 section 5), parsed without I/O: bytes go in as they
// arrive, in pieces of any size, and whole messages and control frames come out. Between frames it
// holds nothing but a few words of state, so an idle connection costs it no buffer; the bytes read
// can live in a buffer shared by every connection of a thread, since nothing refers to them
// after next() returns.
#pragma once

#include "wshub/frame.hpp"
#include "wshub/message.hpp"
#include "wshub/permessage_deflate.hpp"
#include "wshub/utf8.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wshub {

// Whether a peer may send `code` in a close frame (section 7.4): 1000-1003, 1007-1014 and the
// application range 3000-4999. Not 1004-1006 and 1015 (reserved, or never on the wire), nor the
// unassigned codes below 1000, 1016-2999 and from 5000 on.
bool is_valid_close_code(std::uint16_t code) noexcept;

// What next() found.
struct frame_event {
    enum class kind : std::uint8_t {
        message, // a whole data message, reassembled from its fragments: `payload`, `text`
        ping,    // `payload` is to be echoed in a pong
        pong,
        close,     // the peer's close frame: `code` (0 when it sent none) and `payload` the reason
        violation, // the peer broke the protocol: close with `code`, `payload` says why
    };
    kind what = kind::message;
    bool text = false;
    std::uint16_t code = 0;
    std::string payload;
};

class frame_parser {
  public:
    // Messages (the sum of their fragments) above `max_message_size` bytes are a violation (1009).
    explicit frame_parser(std::size_t max_message_size) noexcept
        : max_message_size_(max_message_size) {}

    // permessage-deflate was negotiated: a data message whose first frame has RSV1 set is
    // compressed, and is inflated with `z` (shared, reset for each message) once it is whole.
    // Its compressed bytes and its inflated size both count against the message limit (1009,
    // and inflating stops there); data that does not inflate is a violation with 1007, as is
    // inflated text that is not UTF-8. Without it (or on a control or continuation frame) RSV1
    // is a protocol error (1002), as the other reserved bits always are.
    void use_inflater(inflater* z) noexcept { inflater_ = z; }

    // Consumes bytes from the front of `in` up to and including the next event, and returns it;
    // nothing when `in` ran out first (what it held is kept for the next call). After a close or
    // a violation the parser is done and consumes nothing more.
    std::optional<frame_event> next(std::span<const char>& in);

    bool done() const noexcept { return done_; }
    // Frames whose header has been read: every frame the peer sent, a fragment or a control frame
    // as much as a whole message, for the rate limits.
    std::uint64_t frames() const noexcept { return frames_; }
    // What inflating added to compressed messages (their inflated size less their size on the
    // wire), in all: the byte rate limit charges it, so that compression does not multiply it.
    std::uint64_t inflated_growth() const noexcept { return inflated_growth_; }
    // Whether part of a frame or of a fragmented message is held, waiting for more bytes.
    bool mid_message() const noexcept { return header_size_ > 0 || in_frame_ || in_message_; }

  private:
    std::optional<frame_event> fail(close_status code, std::string_view why);
    // Checks a complete header; on success the frame's payload follows.
    std::optional<frame_event> start_frame();
    std::optional<frame_event> finish_frame();

    std::size_t max_message_size_;
    std::string message_; // data of the message being reassembled
    std::string control_; // payload of the control frame being read
    std::array<unsigned char, 14> header_{};
    std::uint8_t header_size_ = 0;   // header bytes gathered so far
    std::uint8_t header_needed_ = 2; // header bytes this frame has, once its second byte is known
    std::array<unsigned char, 4> mask_{};
    std::uint64_t remaining_ = 0; // payload bytes of the current frame still to come
    std::uint64_t unmasked_ = 0;  // payload bytes of the current frame read so far (mask phase)
    std::uint64_t frames_ = 0;
    std::uint64_t inflated_growth_ = 0;
    std::uint8_t opcode_ = 0;
    bool fin_ = false;
    bool in_frame_ = false;   // a header was read; its payload is being read
    bool in_message_ = false; // a data message has fragments still to come
    bool message_text_ = false;
    bool message_compressed_ = false; // RSV1 on its first frame: message_ holds deflated bytes
    inflater* inflater_ = nullptr;    // set when permessage-deflate was negotiated
    utf8_validator text_;             // the text message's bytes so far, checked as they arrive
    bool done_ = false;
};

} // namespace wshub

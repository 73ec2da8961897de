#include "wshub/frame_parser.hpp"

#include "wshub/frame.hpp"
#include "wshub/frame_mask.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace wshub {

namespace {

// The opcode as it is on the wire, where it may be none of the known ones.
constexpr std::uint8_t wire_value(opcode op) noexcept {
    return static_cast<std::uint8_t>(op);
}

constexpr std::size_t max_control_payload = 125;

} // namespace

bool is_valid_close_code(std::uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

std::optional<frame_event> frame_parser::fail(close_status code, std::string_view why) {
    done_ = true;
    in_frame_ = in_message_ = false;
    header_size_ = 0;
    message_ = std::string();
    control_ = std::string();
    return frame_event{frame_event::kind::violation, false, static_cast<std::uint16_t>(code),
                       std::string(why)};
}

std::optional<frame_event> frame_parser::next(std::span<const char>& in) {
    while (!done_) {
        if (!in_frame_) {
            // Gather the header: its first two bytes say how long the rest of it is.
            while (header_size_ < header_needed_) {
                if (in.empty()) return std::nullopt;
                const std::size_t n = std::min<std::size_t>(header_needed_ - header_size_, in.size());
                std::memcpy(header_.data() + header_size_, in.data(), n);
                header_size_ = static_cast<std::uint8_t>(header_size_ + n);
                in = in.subspan(n);
                if (header_size_ == 2) {
                    const unsigned len7 = header_[1] & 0x7F;
                    const unsigned extended = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
                    const unsigned mask = (header_[1] & 0x80) ? 4 : 0;
                    header_needed_ = static_cast<std::uint8_t>(2 + extended + mask);
                }
            }
            if (auto violation = start_frame()) return violation;
        }
        if (remaining_ > 0) {
            if (in.empty()) return std::nullopt;
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
            std::string& into = opcode_ >= wire_value(opcode::close) ? control_ : message_;
            const std::size_t old = into.size();
            into.append(in.data(), n);
            apply_mask(into.data() + old, n, mask_, unmasked_);
            unmasked_ += n;
            remaining_ -= n;
            in = in.subspan(n);
            // Text is judged as it arrives: bytes that no valid UTF-8 could continue end the
            // connection now, not after a message limit's worth of them.
            if (opcode_ < wire_value(opcode::close) && message_text_ && !message_compressed_ &&
                !text_.feed(std::string_view(into).substr(old)))
                return fail(close_status::bad_payload, "text message is not UTF-8");
            if (remaining_ > 0) return std::nullopt;
        }
        if (auto event = finish_frame()) return event;
    }
    return std::nullopt;
}

std::optional<frame_event> frame_parser::start_frame() {
    const unsigned b0 = header_[0];
    const unsigned b1 = header_[1];
    fin_ = (b0 & 0x80) != 0;
    opcode_ = static_cast<std::uint8_t>(b0 & 0x0F);
    header_size_ = 0;
    header_needed_ = 2;
    ++frames_;
    // RSV2 and RSV3 belong to no extension wshub speaks; RSV1 to permessage-deflate, on the first
    // frame of a data message only (RFC 7692 section 6.1).
    const bool rsv1 = (b0 & 0x40) != 0;
    if ((b0 & 0x30) != 0 || (rsv1 && inflater_ == nullptr))
        return fail(close_status::protocol_error, "reserved bits set");
    if (rsv1 && opcode_ != wire_value(opcode::text) && opcode_ != wire_value(opcode::binary))
        return fail(close_status::protocol_error, "RSV1 set on a control or continuation frame");
    if ((b1 & 0x80) == 0) return fail(close_status::protocol_error, "client frame not masked");

    std::uint64_t length = b1 & 0x7F;
    std::size_t at = 2;
    if (length == 126) {
        length = (std::uint64_t{header_[2]} << 8) | header_[3];
        at = 4;
        if (length < 126) return fail(close_status::protocol_error, "frame length not minimally encoded");
    } else if (length == 127) {
        length = 0;
        for (std::size_t i = 0; i < 8; ++i)
            length = (length << 8) | header_[2 + i];
        at = 10;
        if (length >> 63) return fail(close_status::protocol_error, "frame length has its top bit set");
        if (length <= 0xFFFF) return fail(close_status::protocol_error, "frame length not minimally encoded");
    }
    std::memcpy(mask_.data(), header_.data() + at, 4);

    switch (opcode_) {
    case wire_value(opcode::close):
    case wire_value(opcode::ping):
    case wire_value(opcode::pong):
        if (!fin_) return fail(close_status::protocol_error, "fragmented control frame");
        if (length > max_control_payload)
            return fail(close_status::protocol_error, "control frame over 125 bytes");
        break;
    case wire_value(opcode::continuation):
        if (!in_message_)
            return fail(close_status::protocol_error, "continuation frame with no message to continue");
        break;
    case wire_value(opcode::text):
    case wire_value(opcode::binary):
        if (in_message_) return fail(close_status::protocol_error, "new message inside a fragmented one");
        in_message_ = true;
        message_text_ = opcode_ == wire_value(opcode::text);
        message_compressed_ = rsv1;
        text_.reset();
        break;
    default:
        return fail(close_status::protocol_error, fmt::format("unknown opcode {}", opcode_));
    }
    if (opcode_ < wire_value(opcode::close)) {
        // message_ never holds more than the limit, so the sum cannot overflow.
        if (length > max_message_size_ || message_.size() + length > max_message_size_)
            return fail(close_status::too_big, fmt::format("message over {} bytes", max_message_size_));
        // Room for the frame up front, but at most 64 KiB ahead of the bytes that arrived: a
        // header alone must not pin the whole limit. A long message grows geometrically.
        const std::size_t needed = message_.size() + static_cast<std::size_t>(length);
        if (needed > message_.capacity())
            message_.reserve(std::min(needed, std::max(2 * message_.capacity(), std::size_t{64} * 1024)));
    }
    remaining_ = length;
    unmasked_ = 0;
    in_frame_ = true;
    return std::nullopt;
}

std::optional<frame_event> frame_parser::finish_frame() {
    in_frame_ = false;
    switch (opcode_) {
    case wire_value(opcode::ping): {
        frame_event e{frame_event::kind::ping, false, 0, std::move(control_)};
        control_ = std::string();
        return e;
    }
    case wire_value(opcode::pong):
        control_.clear();
        return frame_event{frame_event::kind::pong, false, 0, {}};
    case wire_value(opcode::close): {
        std::uint16_t code = 0;
        std::string reason;
        if (control_.size() == 1)
            return fail(close_status::protocol_error, "close frame with a 1-byte payload");
        if (control_.size() >= 2) {
            code = static_cast<std::uint16_t>((static_cast<unsigned char>(control_[0]) << 8) |
                                              static_cast<unsigned char>(control_[1]));
            if (!is_valid_close_code(code))
                return fail(close_status::protocol_error, fmt::format("invalid close code {}", code));
            reason = control_.substr(2);
            if (!is_valid_utf8(reason)) return fail(close_status::bad_payload, "close reason is not UTF-8");
        }
        done_ = true;
        in_message_ = false;
        control_ = std::string();
        message_ = std::string();
        return frame_event{frame_event::kind::close, false, code, std::move(reason)};
    }
    default: // data
        if (!fin_) return std::nullopt;
        in_message_ = false;
        if (message_compressed_) {
            std::string inflated;
            switch (inflater_->inflate(message_, max_message_size_, inflated)) {
            case inflater::result::ok:
                break;
            case inflater::result::too_big:
                return fail(close_status::too_big,
                            fmt::format("message over {} bytes once inflated", max_message_size_));
            case inflater::result::invalid:
                return fail(close_status::bad_payload, "compressed message is not valid deflate data");
            }
            if (message_text_ && !is_valid_utf8(inflated))
                return fail(close_status::bad_payload, "text message is not UTF-8");
            if (inflated.size() > message_.size()) inflated_growth_ += inflated.size() - message_.size();
            message_ = std::string();
            return frame_event{frame_event::kind::message, message_text_, 0, std::move(inflated)};
        }
        // Every byte was checked as it came: only a character cut off at the end is left.
        if (message_text_ && !text_.complete())
            return fail(close_status::bad_payload, "text message is not UTF-8");
        frame_event e{frame_event::kind::message, message_text_, 0, std::move(message_)};
        message_ = std::string();
        return e;
    }
}

} // namespace wshub

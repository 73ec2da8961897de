#pragma once

#include "client_wire.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace wsbench {

// The server address; only loopback targets can be made (this tool is a local benchmark).
struct Endpoint {
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    int family = AF_INET;
    std::string host;
    uint16_t port = 0;
};

// Accepts 127.0.0.0/8, ::1 and "localhost"; throws std::runtime_error for anything else.
Endpoint loopback_endpoint(const std::string& host, uint16_t port);

// A random 16-byte nonce, base64-encoded, for Sec-WebSocket-Key.
std::string make_websocket_key();

std::string upgrade_request(const Endpoint& ep, std::string_view target, std::string_view key);

enum class HandshakeStatus { incomplete, accepted, rejected };

// Checks a (possibly partial) HTTP response; on completion header_len is the length of its header.
HandshakeStatus parse_upgrade_response(std::string_view buf, size_t& header_len);

namespace op {
inline constexpr uint8_t cont = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10;
}

using client_wire::client_frame_size;
using client_wire::mask_payload;
using client_wire::put_client_frame;
using client_wire::put_client_header;

// A complete data message. For a message that arrived in one piece `data` points into the read
// buffer and len == size; otherwise only its first FrameParser::prefix_cap bytes were kept.
struct Message {
    uint8_t opcode;
    const uint8_t* data;
    size_t len;
    uint64_t size;
    bool compressed = false; // RSV1: permessage-deflate (`data` is deflated, see inflate_prefix())
};

// Inflates the start of a compressed message (raw deflate, each message on its own as with
// server_no_context_takeover) into `out`, up to out_len bytes; returns how many it got, or -1 for
// data that is not deflate. One inflater per thread.
long inflate_prefix(const uint8_t* data, size_t len, uint8_t* out, size_t out_len);

// Incremental parser of server frames. Frames that lie whole in the read buffer are handed out in
// place; a frame split across reads keeps only its header bytes and the first prefix_cap payload
// bytes, so nothing larger than that is ever copied. Fragmented messages and control frames
// interleaved with them are handled as RFC 6455 says.
class FrameParser {
  public:
    // Enough for the 32-byte header of a compressed message too (its deflate block header first).
    static constexpr size_t prefix_cap = 512;
    static constexpr uint64_t max_message = uint64_t{1} << 30;

    // on_msg(const Message&) per data message; on_ctl(opcode, payload, len) per control frame,
    // returning false to stop (the connection went away). Returns false on a protocol error.
    template <class OnMsg, class OnCtl>
    bool feed(const uint8_t* p, size_t n, OnMsg&& on_msg, OnCtl&& on_ctl) {
        while (n > 0) {
            if (in_frame_) {
                size_t take = static_cast<size_t>(std::min<uint64_t>(left_, n));
                absorb(p, take);
                p += take;
                n -= take;
                left_ -= take;
                if (left_ > 0) continue;
                in_frame_ = false;
                if (!finish(on_msg, on_ctl)) return true;
                continue;
            }
            if (hdr_len_ == 0 && n >= 2) {
                size_t hl = client_wire::header_size(p[1]);
                if (n >= hl) {
                    uint64_t len = client_wire::payload_length(p);
                    uint8_t opc = p[0] & 0x0f;
                    // fast path: whole, final, unmasked frame without reserved bits (but RSV1 on
                    // a data frame: a compressed message)
                    if ((p[0] & 0xb0) == 0x80 && !(p[1] & 0x80) && n - hl >= len) {
                        if ((opc == op::text || opc == op::binary) && !in_msg_) {
                            on_msg(Message{opc, p + hl, static_cast<size_t>(len), len, (p[0] & 0x40) != 0});
                            p += hl + len;
                            n -= hl + len;
                            continue;
                        }
                        if (opc >= op::close && opc <= op::pong && len <= 125 && !(p[0] & 0x40)) {
                            if (!on_ctl(opc, p + hl, static_cast<size_t>(len))) return true;
                            p += hl + len;
                            n -= hl + len;
                            continue;
                        }
                    }
                    if (!begin(p)) return false;
                    p += hl;
                    n -= hl;
                    if (!in_frame_ && !finish(on_msg, on_ctl)) return true;
                    continue;
                }
            }
            // header split across reads: collect it byte by byte (at most 14 bytes, rare)
            hdr_[hdr_len_++] = *p++;
            --n;
            if (hdr_len_ >= 2 && hdr_len_ == client_wire::header_size(hdr_[1])) {
                hdr_len_ = 0;
                if (!begin(hdr_)) return false;
                if (!in_frame_ && !finish(on_msg, on_ctl)) return true;
            }
        }
        return true;
    }

    const char* error() const { return error_; }

  private:
    bool fail(const char* why) {
        error_ = why;
        return false;
    }

    // Sets up the state for a frame whose header is h; its payload follows.
    bool begin(const uint8_t* h) {
        uint8_t opc = h[0] & 0x0f;
        bool fin = h[0] & 0x80;
        if (h[0] & 0x30) return fail("reserved bits set");
        const bool rsv1 = (h[0] & 0x40) != 0;
        if (rsv1 && opc != op::text && opc != op::binary)
            return fail("RSV1 on a control or continuation frame");
        if (h[1] & 0x80) return fail("masked server frame");
        uint64_t len = client_wire::payload_length(h);
        if (len > max_message) return fail("frame too large");
        if (opc >= op::close) {
            if (opc > op::pong || !fin || len > 125) return fail("bad control frame");
            ctl_ = true;
            ctl_len_ = 0;
        } else if (opc == op::cont) {
            if (!in_msg_) return fail("continuation without a message");
            ctl_ = false;
        } else if (opc == op::text || opc == op::binary) {
            if (in_msg_) return fail("new message inside a fragmented one");
            in_msg_ = true;
            msg_op_ = opc;
            msg_compressed_ = rsv1;
            msg_size_ = 0;
            prefix_len_ = 0;
            ctl_ = false;
        } else {
            return fail("unknown opcode");
        }
        frame_op_ = opc;
        frame_fin_ = fin;
        left_ = len;
        in_frame_ = len > 0;
        return true;
    }

    void absorb(const uint8_t* p, size_t n) {
        if (ctl_) {
            std::memcpy(ctl_buf_ + ctl_len_, p, n);
            ctl_len_ += n;
            return;
        }
        msg_size_ += n;
        size_t keep = std::min(prefix_cap - prefix_len_, n);
        std::memcpy(prefix_ + prefix_len_, p, keep);
        prefix_len_ += keep;
    }

    // The current frame's payload is complete. Returns false when the caller must stop feeding
    // (a control frame closed the connection).
    template <class OnMsg, class OnCtl>
    bool finish(OnMsg& on_msg, OnCtl& on_ctl) {
        if (ctl_) {
            return on_ctl(frame_op_, ctl_buf_, ctl_len_);
        }
        if (frame_fin_) {
            in_msg_ = false;
            on_msg(Message{msg_op_, prefix_, prefix_len_, msg_size_, msg_compressed_});
        }
        return true;
    }

    uint64_t left_ = 0; // payload bytes of the current frame still to come
    uint64_t msg_size_ = 0;
    const char* error_ = nullptr;
    bool in_frame_ = false;
    bool in_msg_ = false;
    bool ctl_ = false;
    bool frame_fin_ = false;
    uint8_t frame_op_ = 0;
    uint8_t msg_op_ = 0;
    bool msg_compressed_ = false;
    uint8_t hdr_len_ = 0;
    size_t prefix_len_ = 0;
    size_t ctl_len_ = 0;
    uint8_t hdr_[14];
    uint8_t prefix_[prefix_cap];
    uint8_t ctl_buf_[125];
};

// xorshift64*: mask keys must not be predictable by intermediaries, not cryptographically strong.
class MaskSource {
  public:
    MaskSource();
    uint32_t next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return static_cast<uint32_t>((state_ * 0x2545F4914F6CDD1DULL) >> 32);
    }

  private:
    uint64_t state_;
};

} // namespace wsbench

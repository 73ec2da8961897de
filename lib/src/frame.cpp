#include "wshub/frame.hpp"

#include "wshub/permessage_deflate.hpp"

namespace wshub {

void append_frame(std::string& out, opcode op, std::string_view payload, bool compressed) {
    const std::size_t n = payload.size();
    char header[10];
    header[0] = static_cast<char>(0x80 | (compressed ? 0x40 : 0) | static_cast<std::uint8_t>(op));
    std::size_t h = 2;
    if (n < 126) {
        header[1] = static_cast<char>(n);
    } else if (n <= 0xFFFF) {
        header[1] = 126;
        header[2] = static_cast<char>(n >> 8);
        header[3] = static_cast<char>(n);
        h = 4;
    } else {
        header[1] = 127;
        for (int i = 0; i < 8; ++i)
            header[2 + i] = static_cast<char>(static_cast<std::uint64_t>(n) >> (56 - 8 * i));
        h = 10;
    }
    out.append(header, h);
    out.append(payload);
}

namespace {

// The header size of one of our own (unmasked) frames, from its second byte.
std::size_t header_size_of(std::string_view frame) noexcept {
    const auto len7 = static_cast<unsigned char>(frame[1]) & 0x7F;
    return len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
}

} // namespace

const frame_batch::enveloped& frame_batch::deflated(bool as_envelope, std::size_t min_size) const {
    const auto which = static_cast<std::size_t>(as_envelope);
    std::call_once(deflated_once_[which], [&] {
        // One deflater per thread that compresses (the shards'): made on its first use, reset for
        // every message, and never per client.
        thread_local deflater compressor;
        auto& out = deflated_[which];
        out.ranges.reserve(frames.size());
        std::string compressed;
        for (std::size_t i = 0; i < frames.size(); ++i) {
            std::string_view frame;
            if (as_envelope) {
                const auto& e = envelope();
                frame = std::string_view(e.bytes).substr(e.ranges[i].first, e.ranges[i].second);
            } else {
                frame = std::string_view(bytes).substr(frames[i].begin, frames[i].size);
            }
            const auto payload = frame.substr(header_size_of(frame));
            const auto op = static_cast<opcode>(static_cast<unsigned char>(frame[0]) & 0x0F);
            const std::size_t begin = out.bytes.size();
            compressed.clear();
            if (payload.size() >= min_size) compressor.compress(payload, compressed);
            if (payload.size() >= min_size && compressed.size() < payload.size())
                append_frame(out.bytes, op, compressed, true);
            else
                out.bytes.append(frame);
            out.ranges.emplace_back(begin, out.bytes.size() - begin);
        }
    });
    return deflated_[which];
}

} // namespace wshub

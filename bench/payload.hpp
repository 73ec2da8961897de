#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>

namespace wsbench {

// A benchmark message's payload: 16 lowercase hex digits of the sequence number, 16 of the send
// timestamp (CLOCK_MONOTONIC ns), then ASCII padding. ASCII keeps it valid UTF-8 for text frames.
inline constexpr size_t payload_header_size = 32;

inline void put_hex16(uint8_t* out, uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
        out[i] = static_cast<uint8_t>(digits[v & 15]);
        v >>= 4;
    }
}

// Eight hex digits to their value without branches; this runs for every delivered frame.
inline uint32_t get_hex8(const uint8_t* p) {
    if constexpr (std::endian::native == std::endian::little) {
        uint64_t x;
        std::memcpy(&x, p, 8);
        // '0'..'9' are 0x3X, 'a'..'f' are 0x6X: low nibble, plus 9 where bit 6 is set.
        uint64_t v = (x & 0x0f0f0f0f0f0f0f0fULL) + ((x >> 6) & 0x0101010101010101ULL) * 9;
        // byte i holds digit i (most significant first): pair up nibbles, then bytes, then halves
        v = ((v & 0x000f000f000f000fULL) << 4) | ((v >> 8) & 0x000f000f000f000fULL);
        v = ((v & 0x000000ff000000ffULL) << 8) | ((v >> 16) & 0x000000ff000000ffULL);
        return static_cast<uint32_t>(((v & 0xffff) << 16) | ((v >> 32) & 0xffff));
    } else {
        uint32_t v = 0;
        for (int i = 0; i < 8; ++i)
            v = (v << 4) | ((p[i] & 0x0f) + ((p[i] >> 6) & 1) * 9);
        return v;
    }
}

inline uint64_t get_hex16(const uint8_t* p) {
    return (uint64_t{get_hex8(p)} << 32) | get_hex8(p + 8);
}

// Per-receiver bookkeeping of sequence numbers. A correct server delivers 0, 1, 2, ... so the common
// case is one compare; anything else is kept as a set of missing ranges to tell lost messages
// (never arrived) from out-of-order ones (arrived after a later one) and duplicates.
class SeqTracker {
  public:
    void on_seq(uint64_t s) {
        ++received_;
        if (s == next_) {
            ++next_;
            return;
        }
        irregular(s);
    }

    uint64_t received() const { return received_; }
    uint64_t unique() const { return received_ - duplicated_; }
    uint64_t next() const { return next_; }
    uint64_t duplicated() const { return duplicated_; }
    uint64_t out_of_order() const { return out_of_order_; }
    bool has_gaps() const { return gaps_ && !gaps_->empty(); }
    bool overflowed() const { return overflowed_; }

    // Messages 0..published-1 that never arrived.
    uint64_t lost(uint64_t published) const {
        uint64_t n = published > next_ ? published - next_ : 0;
        if (gaps_)
            for (const auto& [from, to] : *gaps_)
                n += to - from;
        return n;
    }

  private:
    static constexpr size_t max_gaps = 1 << 20;

    void irregular(uint64_t s) {
        if (s > next_) {
            if (!gaps_) gaps_ = std::make_unique<std::map<uint64_t, uint64_t>>();
            if (gaps_->size() < max_gaps)
                gaps_->emplace(next_, s);
            else
                overflowed_ = true;
            next_ = s + 1;
            return;
        }
        if (gaps_) {
            auto it = gaps_->upper_bound(s);
            if (it != gaps_->begin()) {
                --it;
                auto [from, to] = *it;
                if (s >= from && s < to) {
                    ++out_of_order_;
                    gaps_->erase(it);
                    if (from < s) gaps_->emplace(from, s);
                    if (s + 1 < to) gaps_->emplace(s + 1, to);
                    return;
                }
            }
        }
        ++duplicated_;
    }

    uint64_t next_ = 0;
    uint64_t received_ = 0;
    uint64_t duplicated_ = 0;
    uint64_t out_of_order_ = 0;
    bool overflowed_ = false;
    std::unique_ptr<std::map<uint64_t, uint64_t>> gaps_;
};

} // namespace wsbench

#include "wshub/outbox.hpp"

#include <algorithm>
#include <cassert>

namespace wshub {

outbox::push_result outbox::push(chunk c, clock::time_point now) {
    if (closed_) return push_result::closed;
    if (queued_ > 0 && queued_ + c.size > limits_.hard) return push_result::overflow;
    if (too_slow(now)) return push_result::overflow;
    if (c.size == 0) return push_result::accepted;
    set_queued(queued_ + c.size);
    chunks_.push_back(std::move(c));
    if (queued_ > limits_.soft && !over_soft_since_) over_soft_since_ = now;
    return push_result::accepted;
}

outbox::push_result outbox::push_final(chunk c) {
    if (closed_) return push_result::closed;
    set_queued(queued_ + c.size);
    chunks_.push_back(std::move(c));
    closed_ = true;
    return push_result::accepted;
}

std::size_t outbox::prepare(std::span<boost::asio::const_buffer> out) {
    std::size_t n = 0;
    for (std::size_t i = head_; i < chunks_.size() && n < out.size(); ++i, ++n) {
        const std::size_t skip = i == head_ ? head_offset_ : 0;
        out[n] = boost::asio::const_buffer(chunks_[i].data + skip, chunks_[i].size - skip);
    }
    in_flight_ = n;
    return n;
}

void outbox::consume(std::size_t n) {
    assert(n <= queued_);
    set_queued(queued_ - n);
    in_flight_ = 0;
    if (queued_ <= limits_.soft) over_soft_since_.reset();
    while (n > 0) {
        auto& front = chunks_[head_];
        const std::size_t left = front.size - head_offset_;
        if (n < left) {
            head_offset_ += n;
            break;
        }
        n -= left;
        front = chunk{};
        ++head_;
        head_offset_ = 0;
    }
    if (head_ == chunks_.size()) {
        chunks_.clear();
        head_ = 0;
        if (chunks_.capacity() > 64) chunks_.shrink_to_fit(); // an idle client keeps no backlog memory
    } else if (head_ >= 64 && head_ * 2 >= chunks_.size()) {
        chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

void outbox::drop_unsent() {
    const std::size_t keep = std::max<std::size_t>(in_flight_, head_offset_ > 0 ? 1 : 0);
    const std::size_t end = std::min(chunks_.size(), head_ + keep);
    std::size_t dropped = 0;
    for (std::size_t i = end; i < chunks_.size(); ++i)
        dropped += chunks_[i].size;
    set_queued(queued_ - dropped);
    if (queued_ <= limits_.soft) over_soft_since_.reset();
    chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(end), chunks_.end());
}

} // namespace wshub

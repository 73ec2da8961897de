#include "wshub/stream_history.hpp"

namespace wshub {

stream_history::stream_history(std::size_t size, std::size_t bytes, std::chrono::seconds ttl)
    : size_(size)
    , bytes_(bytes)
    , ttl_(ttl) {}

void stream_history::drop_oldest(stream& s) {
    const auto& f = s.messages.front().frame();
    s.dropped_through = f.seq;
    s.bytes -= f.size;
    s.messages.pop_front();
}

stream_history::stream& stream_history::stream_of(std::string_view channel) {
    if (channel.empty()) return all_clients_;
    if (auto it = channels_.find(channel); it != channels_.end()) return it->second;
    return channels_.emplace(std::string(channel), stream{}).first->second;
}

void stream_history::skip_to(stream& s, std::string_view channel, std::uint64_t last, std::uint64_t next,
                             std::vector<hole>* holes) {
    if (holes) holes->push_back(hole{std::string(channel), s.last, next});
    s.messages.clear();
    s.bytes = 0;
    s.dropped_through = last;
    s.last = last;
}

void stream_history::record(const frame_batch_ptr& batch, std::vector<hole>* holes) {
    for (std::size_t i = 0; i < batch->frames.size(); ++i) {
        const auto& f = batch->frames[i];
        auto& s = stream_of(f.target.channel);
        if (f.seq > s.last + 1) skip_to(s, f.target.channel, f.seq - 1, f.seq, holes);
        s.last = f.seq;
        if (size_ == 0 || f.size > bytes_) { // never kept
            s.dropped_through = f.seq;
            continue;
        }
        while (!s.messages.empty() && (s.messages.size() == size_ || s.bytes + f.size > bytes_))
            drop_oldest(s);
        s.messages.push_back(kept{batch, i});
        s.bytes += f.size;
    }
}

std::uint64_t stream_history::last(std::string_view channel) const noexcept {
    if (channel.empty()) return all_clients_.last;
    const auto it = channels_.find(channel);
    return it == channels_.end() ? 0 : it->second.last;
}

void stream_history::drop_expired(stream& s, std::chrono::steady_clock::time_point now) {
    while (!s.messages.empty() && now - s.messages.front().batch->numbered_at > ttl_)
        drop_oldest(s);
}

stream_history::coverage stream_history::after(std::string_view channel, std::uint64_t since,
                                               std::chrono::steady_clock::time_point now,
                                               std::vector<kept>& out) {
    // A channel that has never had a message is not made a stream here: connections name any.
    if (!channel.empty() && !channels_.contains(channel)) return coverage{since == 0, 1};
    auto& s = stream_of(channel);
    drop_expired(s, now);
    coverage c;
    c.oldest = s.messages.empty() ? s.last + 1 : s.messages.front().frame().seq;
    c.covered = s.dropped_through <= since && since <= s.last;
    const std::uint64_t from = c.covered ? since : 0;
    // Seqs in a stream are consecutive, so the first one after `from` is found by arithmetic.
    const std::uint64_t skip = from >= c.oldest ? from - c.oldest + 1 : 0;
    for (auto it = s.messages.begin() +
                   static_cast<std::ptrdiff_t>(std::min<std::uint64_t>(skip, s.messages.size()));
         it != s.messages.end(); ++it)
        out.push_back(*it);
    return c;
}

void stream_history::advance(std::string_view channel, std::uint64_t seq, std::vector<hole>* holes) {
    auto& s = stream_of(channel);
    if (seq > s.last) skip_to(s, channel, seq, seq + 1, holes);
}

void stream_history::clear() {
    all_clients_ = stream{};
    channels_.clear();
}

void stream_history::expire(std::chrono::steady_clock::time_point now) {
    drop_expired(all_clients_, now);
    for (auto& [name, s] : channels_)
        drop_expired(s, now);
}

} // namespace wshub

#include "wshub/bus_codec.hpp"

#include "wshub/channel_name.hpp"

#include <charconv>
#include <fmt/format.h>

namespace wshub {

namespace {

// Reads the space- or newline-separated fields and sized byte runs of the format.
class cursor {
  public:
    explicit cursor(std::string_view in)
        : in_(in) {}

    std::optional<std::string_view> word(char end) {
        const auto stop = in_.find(end);
        if (stop == std::string_view::npos || stop == 0) return std::nullopt;
        auto w = in_.substr(0, stop);
        in_.remove_prefix(stop + 1);
        return w;
    }
    template <class T>
    std::optional<T> number(char end) {
        const auto w = word(end);
        if (!w) return std::nullopt;
        T v{};
        const auto [p, ec] = std::from_chars(w->data(), w->data() + w->size(), v);
        if (ec != std::errc{} || p != w->data() + w->size()) return std::nullopt;
        return v;
    }
    std::optional<std::string_view> bytes(std::size_t n) {
        if (n > in_.size()) return std::nullopt;
        auto b = in_.substr(0, n);
        in_.remove_prefix(n);
        return b;
    }
    bool done() const noexcept { return in_.empty(); }

  private:
    std::string_view in_;
};

std::optional<bus_message> decode_body(std::string_view body, std::uint64_t seq) {
    cursor c(body);
    const auto kind = c.word(' ');
    const auto channel_size = c.number<std::size_t>(' ');
    const auto users = c.number<std::size_t>(' ');
    const auto payload_size = c.number<std::size_t>('\n');
    if (!kind || !channel_size || !users || !payload_size || (*kind != "t" && *kind != "b"))
        return std::nullopt;
    bus_message m;
    m.seq = seq;
    m.kind = *kind == "t" ? payload_kind::text : payload_kind::binary;
    const auto channel = c.bytes(*channel_size);
    if (!channel || (!channel->empty() && !is_valid_channel_name(*channel))) return std::nullopt;
    m.target.channel = *channel;
    if (*users > body.size()) return std::nullopt;
    for (std::size_t i = 0; i < *users; ++i) {
        const auto size = c.number<std::size_t>('\n');
        if (!size) return std::nullopt;
        const auto user = c.bytes(*size);
        if (!user) return std::nullopt;
        m.target.user_ids.emplace_back(*user);
    }
    const auto payload = c.bytes(*payload_size);
    if (!payload || !c.done()) return std::nullopt;
    m.payload = *payload;
    return m;
}

// "<seq> <body size>\n<body>"
std::optional<bus_message> next_entry(cursor& c) {
    const auto seq = c.number<std::uint64_t>(' ');
    const auto size = c.number<std::size_t>('\n');
    if (!seq || !size) return std::nullopt;
    const auto body = c.bytes(*size);
    if (!body) return std::nullopt;
    return decode_body(*body, *seq);
}

} // namespace

std::string encode_bus_body(const message& m) {
    std::string out =
        fmt::format("{} {} {} {}\n{}", m.kind == payload_kind::text ? 't' : 'b', m.target.channel.size(),
                    m.target.user_ids.size(), m.payload.size(), m.target.channel);
    for (const auto& u : m.target.user_ids)
        fmt::format_to(std::back_inserter(out), "{}\n{}", u.size(), u);
    out += m.payload;
    return out;
}

std::optional<bus_batch> decode_bus_batch(std::string_view published) {
    cursor c(published);
    const auto magic = c.word(' ');
    const auto epoch = c.word(' ');
    const auto node = c.word(' ');
    const auto batch_id = c.number<std::uint64_t>(' ');
    const auto count = c.number<std::size_t>('\n');
    if (!magic || *magic != "W1" || !epoch || !node || !batch_id || !count || *count > published.size())
        return std::nullopt;
    bus_batch b;
    b.epoch = *epoch;
    b.node = *node;
    b.batch_id = *batch_id;
    b.messages.reserve(*count);
    for (std::size_t i = 0; i < *count; ++i) {
        auto m = next_entry(c);
        if (!m) return std::nullopt;
        b.messages.push_back(std::move(*m));
    }
    if (!c.done()) return std::nullopt;
    return b;
}

std::optional<bus_message> decode_bus_entry(std::string_view entry) {
    cursor c(entry);
    auto m = next_entry(c);
    if (!m || !c.done()) return std::nullopt;
    return m;
}

} // namespace wshub

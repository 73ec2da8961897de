#include "wshub/envelope.hpp"

#include "wshub/frame.hpp"

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>
#include <fmt/format.h>

namespace wshub {

namespace {

// A JSON string, or null for the all-clients stream's empty channel name.
std::string channel_json(std::string_view channel) {
    return channel.empty() ? std::string("null") : boost::json::serialize(boost::json::string_view(channel));
}

std::string base64(std::string_view bytes) {
    namespace b64 = boost::beast::detail::base64;
    std::string out(b64::encoded_size(bytes.size()), '\0');
    out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
    return out;
}

} // namespace

std::string envelope_json(std::uint64_t seq, std::string_view channel, payload_kind kind,
                          std::string_view payload) {
    if (kind == payload_kind::binary)
        return fmt::format(R"({{"seq":{},"channel":{},"data":"{}","binary":true}})", seq,
                           channel_json(channel), base64(payload));
    return fmt::format(R"({{"seq":{},"channel":{},"data":{}}})", seq, channel_json(channel),
                       boost::json::serialize(boost::json::string_view(payload)));
}

std::string join_json(std::string_view epoch, std::uint64_t all_clients_seq,
                      const std::vector<std::pair<std::string, std::uint64_t>>& channels) {
    std::string positions;
    for (const auto& [name, seq] : channels) {
        if (!positions.empty()) positions += ',';
        positions += fmt::format("{}:{}", channel_json(name), seq);
    }
    return fmt::format(R"({{"type":"join","epoch":{},"seq":{},"channels":{{{}}}}})",
                       boost::json::serialize(boost::json::string_view(epoch)), all_clients_seq, positions);
}

std::string gap_json(std::string_view channel, std::uint64_t since, std::uint64_t oldest) {
    return fmt::format(R"({{"type":"gap","channel":{},"since":{},"oldest":{}}})", channel_json(channel),
                       since, oldest);
}

const frame_batch::enveloped& frame_batch::envelope() const {
    std::call_once(envelope_once_, [this] {
        envelope_.ranges.reserve(frames.size());
        for (const auto& f : frames) {
            const std::size_t begin = envelope_.bytes.size();
            append_frame(envelope_.bytes, opcode::text,
                         envelope_json(f.seq, f.target.channel, f.kind, f.payload(bytes)));
            envelope_.ranges.emplace_back(begin, envelope_.bytes.size() - begin);
        }
    });
    return envelope_;
}

} // namespace wshub

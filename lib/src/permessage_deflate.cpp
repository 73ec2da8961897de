#include "wshub/permessage_deflate.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>
#include <zlib.h>

namespace wshub {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// A window size parameter's value: 8 to 15 in decimal digits, with no leading zero (RFC 7692
// section 7.1.2); 0 when it is not one.
int window_bits(std::string_view value) {
    if (value.empty() || value.size() > 2 || value.front() == '0' ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return 0;
    int bits = 0;
    for (const char c : value)
        bits = bits * 10 + (c - '0');
    return bits >= 8 && bits <= 15 ? bits : 0;
}

struct parameter {
    std::string_view name;
    std::optional<std::string> value; // unquoted; none when the parameter has no "="
};

struct offer_terms {
    bool acceptable = false;        // its parameters are ones wshub can honour
    bool names_server_bits = false; // it has server_max_window_bits, which the answer must repeat
};

// What wshub makes of one permessage-deflate offer's parameters.
offer_terms read_offer(const std::vector<parameter>& params) {
    bool server_no_context = false, client_no_context = false, server_bits = false, client_bits = false;
    // A parameter named twice, or given a value it may not have, declines the offer.
    auto once = [](bool& seen) { return !std::exchange(seen, true); };
    for (const auto& [name, value] : params) {
        if (iequals(name, "server_no_context_takeover")) {
            if (!once(server_no_context) || value) return {};
        } else if (iequals(name, "client_no_context_takeover")) {
            if (!once(client_no_context) || value) return {};
        } else if (iequals(name, "server_max_window_bits")) {
            // We compress with 15 bits: a client that wants a smaller window is declined.
            if (!once(server_bits) || !value || window_bits(*value) != 15) return {};
        } else if (iequals(name, "client_max_window_bits")) {
            // A hint that the client can limit its window; we inflate with 15, which reads any.
            if (!once(client_bits) || (value && window_bits(*value) == 0)) return {};
        } else {
            return {}; // unknown to RFC 7692
        }
    }
    return {true, server_bits};
}

// Reads Sec-WebSocket-Extensions (RFC 6455 section 9.1: a comma-separated list of extensions,
// each a token and its ";"-separated parameters, each a token with an optional token or
// quoted-string value).
class extension_reader {
  public:
    explicit extension_reader(std::string_view s) noexcept
        : s_(s) {}

    // The next extension's name and parameters; false at the end, or at a syntax error (error()).
    bool next(std::string_view& name, std::vector<parameter>& params) {
        params.clear();
        for (;;) { // empty list elements (",,") are allowed
            skip_space();
            if (at_ == s_.size()) return false;
            if (s_[at_] != ',') break;
            ++at_;
        }
        name = token();
        if (name.empty()) return fail();
        for (;;) {
            skip_space();
            if (!take(';')) break;
            skip_space();
            parameter p{token(), std::nullopt};
            if (p.name.empty()) return fail();
            skip_space();
            if (take('=')) {
                skip_space();
                p.value = at_ < s_.size() && s_[at_] == '"' ? quoted() : std::optional<std::string>(token());
                if (!p.value || p.value->empty()) return fail();
            }
            params.push_back(std::move(p));
        }
        skip_space();
        if (at_ < s_.size() && !take(',')) return fail();
        return true;
    }

    bool error() const noexcept { return error_; }

  private:
    static bool is_tchar(char c) noexcept {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    }
    void skip_space() noexcept {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t'))
            ++at_;
    }
    bool take(char c) noexcept {
        if (at_ < s_.size() && s_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }
    std::string_view token() noexcept {
        const std::size_t from = at_;
        while (at_ < s_.size() && is_tchar(s_[at_]))
            ++at_;
        return s_.substr(from, at_ - from);
    }
    std::optional<std::string> quoted() {
        std::string out;
        for (++at_; at_ < s_.size(); ++at_) {
            const char c = s_[at_];
            if (c == '"') {
                ++at_;
                return out;
            }
            if (c == '\\' && ++at_ == s_.size()) break;
            out += s_[at_];
        }
        return std::nullopt; // unterminated
    }
    bool fail() noexcept {
        error_ = true;
        at_ = s_.size();
        return false;
    }

    std::string_view s_;
    std::size_t at_ = 0;
    bool error_ = false;
};

constexpr std::array<unsigned char, 4> sync_tail{0x00, 0x00, 0xff, 0xff};

} // namespace

std::optional<std::string_view> permessage_deflate_answer(std::string_view offered_extensions) {
    static constexpr std::string_view answer =
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    static constexpr std::string_view answer_with_window =
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=15";
    // The first acceptable offer is the one answered; a field that does not parse offers nothing.
    extension_reader reader(offered_extensions);
    std::string_view name;
    std::vector<parameter> params;
    std::optional<offer_terms> accepted;
    while (reader.next(name, params))
        if (!accepted && iequals(name, "permessage-deflate"))
            if (auto terms = read_offer(params); terms.acceptable) accepted = terms;
    if (!accepted || reader.error()) return std::nullopt;
    return accepted->names_server_bits ? answer_with_window : answer;
}

struct deflater::state {
    z_stream z{};
};

deflater::deflater()
    : z_(std::make_unique<state>()) {
    // Raw deflate (negative window bits: no zlib header), a 32 KiB window, the default memory level.
    if (deflateInit2(&z_->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
}

deflater::~deflater() {
    deflateEnd(&z_->z);
}

void deflater::compress(std::string_view message, std::string& out) {
    z_stream& z = z_->z;
    deflateReset(&z); // server_no_context_takeover: nothing of the previous message is referred to
    const std::size_t start = out.size();
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
    z.avail_in = static_cast<uInt>(message.size());
    // deflateBound() covers one deflate() call's output; the sync flush adds a few bytes.
    out.resize(start + deflateBound(&z, static_cast<uLong>(message.size())) + 16);
    std::size_t used = start;
    for (;;) {
        z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        z.avail_out = static_cast<uInt>(out.size() - used);
        const int rc = deflate(&z, Z_SYNC_FLUSH);
        used = out.size() - z.avail_out;
        if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("zlib: deflate failed");
        if (z.avail_in == 0 && z.avail_out > 0) break; // all in, and the flush fit
        out.resize(out.size() * 2);
    }
    out.resize(used);
    // Section 7.2.1: the flush ends with an empty stored block, 00 00 ff ff, which is left off.
    if (out.size() - start >= 4 &&
        std::equal(sync_tail.begin(), sync_tail.end(),
                   reinterpret_cast<const unsigned char*>(out.data()) + out.size() - 4))
        out.resize(out.size() - 4);
}

struct inflater::state {
    z_stream z{};
};

inflater::inflater()
    : z_(std::make_unique<state>()) {
    if (inflateInit2(&z_->z, -15) != Z_OK) throw std::runtime_error("zlib: inflateInit2 failed");
}

inflater::~inflater() {
    inflateEnd(&z_->z);
}

inflater::result inflater::inflate(std::string_view compressed, std::size_t max_size, std::string& out) {
    z_stream& z = z_->z;
    inflateReset(&z); // client_no_context_takeover: each message stands alone
    out.clear();
    // An empty message deflates to one 0x00 byte; a sender that leaves even that off means the same.
    if (compressed.empty()) return result::ok;
    // The message, then the 00 00 ff ff the sender left off (section 7.2.2).
    const std::array<std::string_view, 2> inputs{
        compressed, std::string_view(reinterpret_cast<const char*>(sync_tail.data()), sync_tail.size())};
    std::size_t used = 0;
    for (const auto input : inputs) {
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
        z.avail_in = static_cast<uInt>(input.size());
        for (;;) {
            if (used == out.size()) {
                // Room for one byte more than the limit: output past it is the sign of a bomb.
                if (out.size() > max_size) return result::too_big;
                const std::size_t grow =
                    std::max<std::size_t>(out.size(), std::max<std::size_t>(4 * input.size(), 1024));
                out.resize(std::min(out.size() + grow, max_size + 1));
            }
            z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
            z.avail_out = static_cast<uInt>(out.size() - used);
            const int rc = ::inflate(&z, Z_SYNC_FLUSH);
            used = out.size() - z.avail_out;
            if (used > max_size) return result::too_big;
            if (rc == Z_STREAM_END) { // a final block (BFINAL): nothing after it belongs to the message
                out.resize(used);
                return result::ok;
            }
            if (rc == Z_BUF_ERROR || (rc == Z_OK && z.avail_in == 0 && z.avail_out > 0))
                break; // input used up
            if (rc != Z_OK) return result::invalid;
        }
    }
    // With the tail appended, a whole message ends on a block boundary (zlib then awaits the next
    // block's header: data_type bit 128). Anything else was cut off mid-block: its end is lost.
    if ((z.data_type & 128) == 0) return result::invalid;
    out.resize(used);
    return result::ok;
}

} // namespace wshub

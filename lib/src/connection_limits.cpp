#include "wshub/connection_limits.hpp"

#include <mutex>
#include <unordered_map>

namespace wshub {

namespace ip = boost::asio::ip;

struct connection_limits::state {
    state(std::size_t total_limit, std::size_t per_ip_limit) noexcept
        : max_total(total_limit)
        , max_per_ip(per_ip_limit) {}

    const std::size_t max_total;
    const std::size_t max_per_ip;
    mutable std::mutex mutex;
    std::size_t total = 0;
    // Only addresses with a connection are kept (entries are erased at zero), and only when
    // max_per_ip is set, so this is bounded by the number of open connections.
    std::unordered_map<ip::address, std::size_t> per_ip;
};

connection_limits::slot& connection_limits::slot::operator=(slot&& other) noexcept {
    if (this != &other) {
        release();
        state_ = std::move(other.state_);
        key_ = other.key_;
    }
    return *this;
}

void connection_limits::slot::release() noexcept {
    if (!state_) return;
    {
        std::lock_guard lock(state_->mutex);
        --state_->total;
        if (state_->max_per_ip != 0) {
            auto it = state_->per_ip.find(key_);
            if (it != state_->per_ip.end() && --it->second == 0) state_->per_ip.erase(it);
        }
    }
    state_.reset();
}

connection_limits::connection_limits(std::size_t max_total, std::size_t max_per_ip)
    : state_(std::make_shared<state>(max_total, max_per_ip)) {}

ip::address connection_limits::key_for(const ip::address& peer) noexcept {
    if (!peer.is_v6()) return peer;
    const auto v6 = peer.to_v6();
    if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6);
    auto bytes = v6.to_bytes();
    for (std::size_t i = 8; i < bytes.size(); ++i)
        bytes[i] = 0;
    return ip::address_v6(bytes);
}

std::optional<connection_limits::slot> connection_limits::try_acquire(const ip::address& peer, refusal* why) {
    const auto key = key_for(peer);
    auto& s = *state_;
    std::lock_guard lock(s.mutex);
    if (s.max_total != 0 && s.total >= s.max_total) {
        if (why) *why = refusal::server_full;
        return std::nullopt;
    }
    if (s.max_per_ip != 0) {
        auto [it, inserted] = s.per_ip.try_emplace(key, 0);
        if (it->second >= s.max_per_ip) {
            if (why) *why = refusal::too_many_from_address;
            return std::nullopt;
        }
        ++it->second;
    }
    ++s.total;
    return slot(state_, key);
}

std::size_t connection_limits::total() const {
    std::lock_guard lock(state_->mutex);
    return state_->total;
}

std::size_t connection_limits::count(const ip::address& peer) const {
    const auto key = key_for(peer);
    std::lock_guard lock(state_->mutex);
    auto it = state_->per_ip.find(key);
    return it == state_->per_ip.end() ? 0 : it->second;
}

std::size_t connection_limits::tracked_addresses() const {
    std::lock_guard lock(state_->mutex);
    return state_->per_ip.size();
}

std::size_t connection_limits::max_total() const noexcept {
    return state_->max_total;
}
std::size_t connection_limits::max_per_ip() const noexcept {
    return state_->max_per_ip;
}

std::string_view connection_limits::reason(refusal r) noexcept {
    switch (r) {
    case refusal::server_full:
        return "server is at its connection limit";
    case refusal::too_many_from_address:
        return "too many connections from this address";
    }
    return "connection refused";
}

} // namespace wshub

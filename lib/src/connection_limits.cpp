#include "wshub/connection_limits.hpp"

#include <mutex>
#include <unordered_map>

namespace wshub {

namespace ip = boost::asio::ip;

struct connection_limits::state {
    state(std::size_t total_limit, std::size_t per_ip_limit, std::size_t per_user_limit) noexcept
        : max_total(total_limit)
        , max_per_ip(per_ip_limit)
        , max_per_user(per_user_limit) {}

    const std::size_t max_total;
    const std::size_t max_per_ip;
    const std::size_t max_per_user;
    mutable std::mutex mutex;
    std::size_t total = 0;
    // Only addresses with a connection are kept (entries are erased at zero), and only when
    // max_per_ip is set, so this is bounded by the number of open connections.
    std::unordered_map<ip::address, std::size_t> per_ip;
    // The same for users, when max_per_user is set.
    std::unordered_map<std::string, std::size_t> per_user;
};

connection_limits::slot& connection_limits::slot::operator=(slot&& other) noexcept {
    if (this != &other) {
        release();
        state_ = std::move(other.state_);
        key_ = other.key_;
        addressed_ = other.addressed_;
        user_ = std::move(other.user_);
    }
    return *this;
}

void connection_limits::slot::release() noexcept {
    if (!state_) return;
    {
        std::lock_guard lock(state_->mutex);
        --state_->total;
        if (state_->max_per_ip != 0 && addressed_) {
            auto it = state_->per_ip.find(key_);
            if (it != state_->per_ip.end() && --it->second == 0) state_->per_ip.erase(it);
        }
        if (!user_.empty()) {
            auto it = state_->per_user.find(user_);
            if (it != state_->per_user.end() && --it->second == 0) state_->per_user.erase(it);
        }
    }
    state_.reset();
}

connection_limits::connection_limits(std::size_t max_total, std::size_t max_per_ip, std::size_t max_per_user)
    : state_(std::make_shared<state>(max_total, max_per_ip, max_per_user)) {}

ip::address connection_limits::key_for(const ip::address& peer) noexcept {
    if (!peer.is_v6()) return peer;
    const auto v6 = peer.to_v6();
    if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6);
    auto bytes = v6.to_bytes();
    for (std::size_t i = 8; i < bytes.size(); ++i)
        bytes[i] = 0;
    return ip::address_v6(bytes);
}

std::optional<connection_limits::slot> connection_limits::try_acquire(const ip::address& peer, refusal* why,
                                                                      std::string_view user) {
    const auto key = key_for(peer);
    auto& s = *state_;
    const bool per_user = s.max_per_user != 0 && !user.empty();
    std::string user_key = per_user ? std::string(user) : std::string();
    std::lock_guard lock(s.mutex);
    if (s.max_total != 0 && s.total >= s.max_total) {
        if (why) *why = refusal::server_full;
        return std::nullopt;
    }
    // Checked before anything is counted, so a refusal changes nothing; a new map entry left at
    // zero by a refusal is erased.
    std::unordered_map<ip::address, std::size_t>::iterator ip_it;
    if (s.max_per_ip != 0) {
        ip_it = s.per_ip.try_emplace(key, 0).first;
        if (ip_it->second >= s.max_per_ip) {
            if (why) *why = refusal::too_many_from_address;
            return std::nullopt;
        }
    }
    if (per_user) {
        auto it = s.per_user.find(user_key);
        if (it != s.per_user.end() && it->second >= s.max_per_user) {
            if (why) *why = refusal::too_many_for_user;
            if (s.max_per_ip != 0 && ip_it->second == 0) s.per_ip.erase(ip_it);
            return std::nullopt;
        }
        ++s.per_user[user_key];
    }
    if (s.max_per_ip != 0) ++ip_it->second;
    ++s.total;
    return slot(state_, key, true, std::move(user_key));
}

std::optional<connection_limits::slot> connection_limits::try_acquire_unaddressed(refusal* why) {
    auto& s = *state_;
    std::lock_guard lock(s.mutex);
    if (s.max_total != 0 && s.total >= s.max_total) {
        if (why) *why = refusal::server_full;
        return std::nullopt;
    }
    ++s.total;
    return slot(state_, {}, false, {});
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

std::size_t connection_limits::count_user(std::string_view user) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->per_user.find(std::string(user));
    return it == state_->per_user.end() ? 0 : it->second;
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
    case refusal::too_many_for_user:
        return "too many connections for this user";
    }
    return "connection refused";
}

} // namespace wshub

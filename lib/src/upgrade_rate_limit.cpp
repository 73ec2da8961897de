#include "wshub/upgrade_rate_limit.hpp"

#include "wshub/connection_limits.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <stdexcept>

namespace wshub {

upgrade_rate_limit::upgrade_rate_limit(double per_second, std::size_t max_addresses)
    : per_second_(per_second)
    , burst_(std::max(1.0, 2 * per_second))
    , max_addresses_(std::max<std::size_t>(1, max_addresses)) {
    if (!std::isfinite(per_second) || per_second < 0)
        throw std::invalid_argument("upgrade rate must be a finite number >= 0");
}

bool upgrade_rate_limit::try_admit(const boost::asio::ip::address& peer, time_point now) {
    if (unlimited()) return true;
    const auto key = connection_limits::key_for(peer);
    std::lock_guard lock(mutex_);
    // A sweep at most once a second (every 100 ms while the table is full) keeps the cost per
    // upgrade constant on average, while the table holds only the addresses of the last moments.
    using namespace std::chrono_literals;
    if (now - last_prune_ >= (buckets_.size() >= max_addresses_ ? 100ms : 1s)) prune(now);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_addresses_) return false;
        it = buckets_.emplace(key, token_bucket(per_second_, burst_)).first;
    }
    return it->second.try_take(1, now);
}

void upgrade_rate_limit::prune(time_point now) {
    last_prune_ = now;
    // A full bucket is what a new address gets: forgetting it changes nothing.
    for (auto it = buckets_.begin(); it != buckets_.end();)
        it = it->second.available(now) >= burst_ ? buckets_.erase(it) : std::next(it);
}

std::size_t upgrade_rate_limit::tracked_addresses() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

} // namespace wshub

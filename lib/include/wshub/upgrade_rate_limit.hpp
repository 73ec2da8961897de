// Upgrades per second from one address (a token bucket per address), so that one client cannot
// keep an I/O thread busy checking token signatures: an RSA-4096 or ES512 check costs a
// millisecond or more, and every session of that thread waits behind it (BENCHMARKS.md).
//
// Addresses are counted as connection_limits counts them (IPv6 per /64). Memory stays bounded:
// an address whose bucket has filled up again is forgotten (the same as a new one), and at most
// `max_addresses` are tracked; past that, an address not tracked yet is refused until some
// expire, which takes at most burst / rate seconds. Thread-safe (one mutex; consulted once per
// upgrade). The time is passed in, so the policy is testable without a clock.
#pragma once

#include "wshub/token_bucket.hpp"

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace wshub {

class upgrade_rate_limit {
  public:
    using time_point = token_bucket::time_point;

    static constexpr std::size_t default_max_addresses = 65536;

    // `per_second` upgrades a second from one address, in bursts of up to twice that (at least
    // one); 0 = unlimited. Throws std::invalid_argument on a negative or non-finite rate.
    explicit upgrade_rate_limit(double per_second, std::size_t max_addresses = default_max_addresses);

    // Counts one upgrade from `peer`; false if that address is over its rate (or, for an address
    // not tracked yet, if the table is full).
    bool try_admit(const boost::asio::ip::address& peer, time_point now);

    bool unlimited() const noexcept { return per_second_ == 0; }
    double burst() const noexcept { return burst_; }
    // Addresses tracked now; for tests and diagnostics.
    std::size_t tracked_addresses() const;

  private:
    // Forgets every address whose bucket is full again at `now`. Under mutex_.
    void prune(time_point now);

    const double per_second_;
    const double burst_;
    const std::size_t max_addresses_;
    mutable std::mutex mutex_;
    std::unordered_map<boost::asio::ip::address, token_bucket> buckets_; // under mutex_
    time_point last_prune_{};                                            // under mutex_
};

} // namespace wshub

// A token bucket for one connection's inbound rate limits (messages/s, bytes/s). The time is passed
// in, so the policy is testable without a clock. Not thread-safe: a connection's reader owns it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace wshub {

class token_bucket {
  public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    // Refills at `rate_per_s` tokens a second up to `burst` tokens, and starts full. A rate of 0
    // means unlimited (every take succeeds). Throws std::invalid_argument on a negative or
    // non-finite rate, or a burst below 1 when the rate is limited.
    token_bucket(double rate_per_s, double burst)
        : rate_(rate_per_s)
        , burst_(burst)
        , tokens_(burst) {
        if (!std::isfinite(rate_per_s) || rate_per_s < 0)
            throw std::invalid_argument("token bucket rate must be a finite number >= 0");
        if (rate_per_s > 0 && (!std::isfinite(burst) || burst < 1))
            throw std::invalid_argument("token bucket burst must be a finite number >= 1");
    }

    // Takes `n` tokens if they are there. A take larger than the whole burst is allowed when the
    // bucket is full and leaves it in debt, so one message bigger than the byte burst is never
    // refused forever, while the average rate still holds: later takes wait for the debt to be
    // repaid. A clock that goes backwards refills nothing.
    bool try_take(double n, time_point now) noexcept {
        if (unlimited() || n <= 0) return true;
        refill(now);
        if (!(tokens_ >= std::min(n, burst_))) return false;
        tokens_ -= n;
        return true;
    }

    // Tokens available at `now` (negative while in debt); for diagnostics and tests.
    double available(time_point now) noexcept {
        if (unlimited()) return burst_;
        refill(now);
        return tokens_;
    }

    bool unlimited() const noexcept { return rate_ == 0; }
    double rate() const noexcept { return rate_; }
    double burst() const noexcept { return burst_; }

  private:
    void refill(time_point now) noexcept {
        if (!started_) {
            // The first take fixes the time origin; the bucket starts full.
            started_ = true;
            last_ = now;
            return;
        }
        if (now <= last_) return;
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
        last_ = now;
    }

    double rate_;
    double burst_;
    double tokens_;
    time_point last_{};
    bool started_ = false;
};

} // namespace wshub

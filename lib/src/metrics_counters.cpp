#include "wshub/metrics_counters.hpp"

#include <algorithm>

namespace wshub {

void latency_histogram::observe(std::chrono::nanoseconds d) noexcept {
    d = std::max(d, std::chrono::nanoseconds::zero());
    const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), d) - bounds.begin();
    counts_[static_cast<std::size_t>(bucket)].add(1);
    sum_ns_.add(static_cast<std::uint64_t>(d.count()));
}

histogram_snapshot latency_histogram::snapshot() const {
    histogram_snapshot h;
    h.bounds.reserve(bounds.size());
    for (auto b : bounds)
        h.bounds.push_back(std::chrono::duration<double>(b).count());
    h.counts.reserve(counts_.size());
    for (const auto& c : counts_)
        h.counts.push_back(c.value());
    h.sum = static_cast<double>(sum_ns_.value()) / 1e9;
    return h;
}

api_endpoint api_endpoint_of(std::string_view path) noexcept {
    if (path == "/api/publish") return api_endpoint::publish;
    if (path == "/api/disconnect") return api_endpoint::disconnect;
    if (path == "/api/presence") return api_endpoint::presence;
    return api_endpoint::unknown;
}

void api_request_counts::count(api_endpoint endpoint, unsigned status) noexcept {
    const auto known = std::find(statuses.begin(), statuses.end(), status) - statuses.begin();
    counts_[static_cast<std::size_t>(endpoint)][static_cast<std::size_t>(known)].fetch_add(
        1, std::memory_order_relaxed);
}

std::vector<api_request_sample> api_request_counts::snapshot() const {
    constexpr std::array<std::string_view, endpoints> names{"publish", "disconnect", "presence", "unknown"};
    std::vector<api_request_sample> out;
    for (std::size_t e = 0; e < endpoints; ++e) {
        for (std::size_t s = 0; s <= statuses.size(); ++s) {
            const auto n = counts_[e][s].load(std::memory_order_relaxed);
            if (n == 0) continue;
            out.push_back({names[e], s < statuses.size() ? std::to_string(statuses[s]) : "other", n});
        }
    }
    return out;
}

} // namespace wshub

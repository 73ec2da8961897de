// The write side of /metrics: counters cheap enough for the paths that feed them. A scrape reads
// them with relaxed loads, so it never waits for a writer and costs the same at any number of
// connections; what it reads is each counter's value at some recent moment.
#pragma once

#include "wshub/metrics.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wshub {

// A counter that only one thread writes and any thread reads: a relaxed load and store, with no
// locked instruction, so that adding to it on a hot path costs about as much as a plain add.
// Subtracting is allowed (a gauge); the writer's value never goes below zero.
class owned_counter {
  public:
    void add(std::uint64_t n) noexcept {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void sub(std::uint64_t n) noexcept {
        value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

// Durations in fixed buckets (Prometheus' le bounds), written by one thread, read by any.
class latency_histogram {
  public:
    // Upper bounds, from 25 microseconds to 10 seconds.
    static constexpr std::array<std::chrono::nanoseconds, 18> bounds{
        std::chrono::microseconds(25),   std::chrono::microseconds(50),  std::chrono::microseconds(100),
        std::chrono::microseconds(250),  std::chrono::microseconds(500), std::chrono::milliseconds(1),
        std::chrono::microseconds(2500), std::chrono::milliseconds(5),   std::chrono::milliseconds(10),
        std::chrono::milliseconds(25),   std::chrono::milliseconds(50),  std::chrono::milliseconds(100),
        std::chrono::milliseconds(250),  std::chrono::milliseconds(500), std::chrono::seconds(1),
        std::chrono::milliseconds(2500), std::chrono::seconds(5),        std::chrono::seconds(10)};

    // Counts one duration (a negative one as zero). The writing thread only.
    void observe(std::chrono::nanoseconds d) noexcept;
    // Any thread.
    histogram_snapshot snapshot() const;

  private:
    std::array<owned_counter, bounds.size() + 1> counts_; // the last: over every bound
    owned_counter sum_ns_;
};

// The publish API's endpoints, as the endpoint label of wshub_api_requests_total names them.
enum class api_endpoint : std::uint8_t { publish, disconnect, presence, unknown };

// The endpoint a request path under /api/ names (the path without its query).
api_endpoint api_endpoint_of(std::string_view path) noexcept;

// API requests by endpoint and answered status. Any thread (an API call costs far more than the
// relaxed increment).
class api_request_counts {
  public:
    void count(api_endpoint endpoint, unsigned status) noexcept;
    // The pairs counted so far; a pair appears once it has counted a request.
    std::vector<api_request_sample> snapshot() const;

  private:
    // The statuses the API answers; any other is counted as "other".
    static constexpr std::array<unsigned, 11> statuses{200, 400, 401, 403, 404, 405, 413, 415, 431, 500, 503};
    static constexpr std::size_t endpoints = 4;
    std::array<std::array<std::atomic<std::uint64_t>, statuses.size() + 1>, endpoints> counts_{};
};

} // namespace wshub

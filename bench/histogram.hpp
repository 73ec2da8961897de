#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace wsbench {

// Log-linear histogram of nanosecond values in the style of HdrHistogram: 128 linear sub-buckets per
// power of two, so a reported value is within 1/128 (< 0.8 %) above the true one. Recording is O(1)
// and the storage fixed (43 KiB), whatever the number of samples.
class Histogram {
  public:
    static constexpr int sub_bits = 7;
    static constexpr uint64_t sub_count = uint64_t{1} << sub_bits;
    static constexpr int top_bit = 47; // values above ~39 hours are clamped
    static constexpr uint64_t max_trackable = (uint64_t{1} << (top_bit + 1)) - 1;
    static constexpr size_t bucket_count = (top_bit - sub_bits + 2) * sub_count;

    void record(uint64_t v) {
        v = std::min(v, max_trackable);
        ++counts_[index_of(v)];
        ++total_;
        sum_ += v;
        max_ = std::max(max_, v);
        min_ = std::min(min_, v);
    }

    void reset() { *this = Histogram{}; }

    void merge(const Histogram& o) {
        for (size_t i = 0; i < bucket_count; ++i)
            counts_[i] += o.counts_[i];
        total_ += o.total_;
        sum_ += o.sum_;
        max_ = std::max(max_, o.max_);
        min_ = std::min(min_, o.min_);
    }

    uint64_t count() const { return total_; }
    uint64_t max() const { return max_; }
    uint64_t min() const { return total_ ? min_ : 0; }
    double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }

    // Smallest bucket bound below which at least q (0..1) of the samples lie; never above the maximum.
    uint64_t percentile(double q) const {
        if (total_ == 0) return 0;
        auto target = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
        target = std::clamp<uint64_t>(target, 1, total_);
        uint64_t seen = 0;
        for (size_t i = 0; i < bucket_count; ++i) {
            seen += counts_[i];
            if (seen >= target) return std::min(highest_of(i), max_);
        }
        return max_;
    }

    static size_t index_of(uint64_t v) {
        if (v < 2 * sub_count) return static_cast<size_t>(v);
        int shift = (63 - std::countl_zero(v)) - sub_bits;
        return static_cast<size_t>((shift + 1) * sub_count + ((v >> shift) - sub_count));
    }

    static uint64_t highest_of(size_t i) {
        if (i < 2 * sub_count) return i;
        size_t shift = i / sub_count - 1;
        uint64_t mantissa = i % sub_count + sub_count;
        return ((mantissa + 1) << shift) - 1;
    }

  private:
    std::array<uint64_t, bucket_count> counts_{};
    uint64_t total_ = 0;
    uint64_t sum_ = 0;
    uint64_t max_ = 0;
    uint64_t min_ = std::numeric_limits<uint64_t>::max();
};

} // namespace wsbench

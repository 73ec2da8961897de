// What every mode's run shares: unit conversions, number formatting for the tables, the JSON pieces
// of a result, file-descriptor limits, and the CPU and RSS readings of the server and the machine.
#pragma once

#include "conn_pool.hpp"
#include "histogram.hpp"
#include "proc_stats.hpp"
#include "scenarios.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wsbench {

inline constexpr uint64_t ns_per_s = 1'000'000'000ULL;
inline constexpr int fd_reserve = 64; // descriptors kept for epoll, timerfd, /proc reads, stdio
inline constexpr double generator_bound_pct = 90.0;

uint64_t to_ns(double s);
double to_s(uint64_t ns);

// 12345678 -> "12.35M"
std::string si(double v);
std::string human_ns(double ns);
std::string pct(std::optional<double> v);
double round_to(double v, double unit);

boost::json::value num_or_null(std::optional<double> v);
boost::json::value num_or_null(std::optional<uint64_t> v);
boost::json::object latency_json(const Histogram& h);
boost::json::object target_json(const CommonConfig& c);
boost::json::object errors_json(const ConnPool& pool);

ConnPool::Options pool_options(const CommonConfig& c);

// Caps a connection count at what RLIMIT_NOFILE allows, saying so.
uint32_t fit_fd_limit(uint32_t wanted, uint32_t extra, std::vector<std::string>& warnings);
void print_warnings(const std::vector<std::string>& warnings);
boost::json::array warnings_json(const std::vector<std::string>& warnings);

// Reads and remembers server RSS samples; min/max over the run.
struct RssTrack {
    int pid = 0;
    std::optional<uint64_t> first, last, peak;

    std::optional<uint64_t> sample() {
        auto v = process_rss_kib(pid);
        if (!v) return v;
        if (!first) first = v;
        last = v;
        if (!peak || *v > *peak) peak = v;
        return v;
    }
};

// CPU over the measurement window. A process is charged for the softirq (loopback TCP) work done in
// its own context, so its utime+stime is what it cost; the per-core figures show what else ran on
// the machine (a busy machine makes every number noisy).
struct CpuSummary {
    std::optional<double> server_pct, generator_pct, other_pct;
    std::vector<CoreUsage> cores;
    bool generator_bound = false;

    boost::json::object to_json() const;
};

CpuSummary summarize_cpu(std::optional<double> srv, std::optional<double> gen, const CoreTimes& a,
                         const CoreTimes& b);

} // namespace wsbench

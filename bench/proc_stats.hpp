#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace wsbench {

// CLOCK_MONOTONIC in nanoseconds: the clock of every timestamp in this tool.
uint64_t now_ns();

// User + system CPU seconds of a process (all its threads), from /proc/PID/stat.
std::optional<double> process_cpu_seconds(int pid);
// Resident set size of a process in KiB (VmRSS in /proc/PID/status).
std::optional<uint64_t> process_rss_kib(int pid);
bool process_alive(int pid);
// The command name of a process (/proc/PID/comm), "?" if unknown.
std::string process_name(int pid);
// CPU seconds this process has used (getrusage).
double self_cpu_seconds();

struct FdLimit {
    rlim_t soft = 0;
    rlim_t hard = 0;
};
// Raises RLIMIT_NOFILE's soft limit to the hard one; returns the limits now in force.
FdLimit raise_fd_limit();

// Per-core time from /proc/stat: shows how busy the whole machine was, other processes included.
struct CoreTimes {
    struct Core {
        int cpu = -1;
        uint64_t busy = 0; // user + nice + system + irq + softirq + steal
        uint64_t softirq = 0;
        uint64_t irq = 0;
        uint64_t total = 0;
    };
    std::vector<Core> cores;
    static CoreTimes read();
};

struct CoreUsage {
    int cpu = -1;
    double busy_pct = 0;
    double softirq_pct = 0;
    double irq_pct = 0;
};
std::vector<CoreUsage> core_usage(const CoreTimes& a, const CoreTimes& b);

// CPU use between two samples, as % of one core.
struct CpuMeter {
    int pid = 0; // 0: this process
    uint64_t t0 = 0;
    std::optional<double> c0;

    void start();
    std::optional<double> percent() const; // since start()
};

} // namespace wsbench

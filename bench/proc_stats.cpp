#include "proc_stats.hpp"

#include <cerrno>
#include <fmt/format.h>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <string>
#include <time.h>
#include <unistd.h>

namespace wsbench {

uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

std::optional<double> process_cpu_seconds(int pid) {
    if (pid <= 0) return std::nullopt;
    std::ifstream f(fmt::format("/proc/{}/stat", pid));
    std::string s;
    if (!std::getline(f, s)) return std::nullopt;
    // the command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'
    auto close = s.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream in(s.substr(close + 1));
    std::string field;
    for (int i = 3; i < 14 && in >> field; ++i) {
    }
    unsigned long long utime = 0, stime = 0;
    if (!(in >> utime >> stime)) return std::nullopt;
    static const long ticks = ::sysconf(_SC_CLK_TCK);
    return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

std::optional<uint64_t> process_rss_kib(int pid) {
    if (pid <= 0) return std::nullopt;
    std::ifstream f(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            std::istringstream in(line.substr(6));
            uint64_t kib = 0;
            if (in >> kib) return kib;
        }
    }
    return std::nullopt;
}

bool process_alive(int pid) {
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

std::string process_name(int pid) {
    std::ifstream f(fmt::format("/proc/{}/comm", pid));
    std::string name;
    if (!std::getline(f, name) || name.empty()) return "?";
    return name;
}

double self_cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto secs = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
}

FdLimit raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
    if (rl.rlim_cur < rl.rlim_max) {
        rlimit want = rl;
        want.rlim_cur = rl.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
    }
    return {rl.rlim_cur, rl.rlim_max};
}

CoreTimes CoreTimes::read() {
    CoreTimes t;
    std::ifstream f("/proc/stat");
    std::string line;
    while (std::getline(f, line)) {
        // "cpuN user nice system idle iowait irq softirq steal ..." (the aggregate "cpu " line is skipped)
        if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] == ' ') continue;
        std::istringstream in(line.substr(3));
        Core c;
        uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
        if (!(in >> c.cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq)) continue;
        in >> steal;
        c.busy = user + nice + system + irq + softirq + steal;
        c.softirq = softirq;
        c.irq = irq;
        c.total = c.busy + idle + iowait;
        t.cores.push_back(c);
    }
    return t;
}

std::vector<CoreUsage> core_usage(const CoreTimes& a, const CoreTimes& b) {
    std::vector<CoreUsage> out;
    for (const auto& cb : b.cores) {
        for (const auto& ca : a.cores) {
            if (ca.cpu != cb.cpu || cb.total <= ca.total) continue;
            double total = static_cast<double>(cb.total - ca.total);
            out.push_back({cb.cpu, static_cast<double>(cb.busy - ca.busy) / total * 100.0,
                           static_cast<double>(cb.softirq - ca.softirq) / total * 100.0,
                           static_cast<double>(cb.irq - ca.irq) / total * 100.0});
        }
    }
    return out;
}

void CpuMeter::start() {
    t0 = now_ns();
    c0 = pid ? process_cpu_seconds(pid) : std::optional<double>(self_cpu_seconds());
}

std::optional<double> CpuMeter::percent() const {
    if (!c0) return std::nullopt;
    auto c1 = pid ? process_cpu_seconds(pid) : std::optional<double>(self_cpu_seconds());
    double wall = static_cast<double>(now_ns() - t0) / 1e9;
    if (!c1 || wall <= 0) return std::nullopt;
    return (*c1 - *c0) / wall * 100.0;
}

} // namespace wsbench

#include "run_support.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace wsbench {

namespace json = boost::json;

uint64_t to_ns(double s) {
    return static_cast<uint64_t>(std::max(0.0, s) * 1e9);
}
double to_s(uint64_t ns) {
    return static_cast<double>(ns) / 1e9;
}

std::string si(double v) {
    double a = std::fabs(v);
    if (a >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
    if (a >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
    if (a >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
    return fmt::format("{:.0f}", v);
}

std::string human_ns(double ns) {
    if (ns >= 1e9) return fmt::format("{:.2f} s", ns / 1e9);
    if (ns >= 1e6) return fmt::format("{:.2f} ms", ns / 1e6);
    if (ns >= 1e3) return fmt::format("{:.1f} us", ns / 1e3);
    return fmt::format("{:.0f} ns", ns);
}

std::string pct(std::optional<double> v) {
    return v ? fmt::format("{:.0f}%", *v) : std::string("-");
}

json::value num_or_null(std::optional<double> v) {
    if (!v || !std::isfinite(*v)) return nullptr;
    return *v;
}

json::value num_or_null(std::optional<uint64_t> v) {
    if (!v) return nullptr;
    return *v;
}

double round_to(double v, double unit) {
    return std::round(v / unit) * unit;
}

json::object latency_json(const Histogram& h) {
    auto us = [](double ns) { return round_to(ns / 1e3, 0.01); };
    return {{"samples", h.count()},
            {"p50", us(static_cast<double>(h.percentile(0.50)))},
            {"p90", us(static_cast<double>(h.percentile(0.90)))},
            {"p99", us(static_cast<double>(h.percentile(0.99)))},
            {"p999", us(static_cast<double>(h.percentile(0.999)))},
            {"max", us(static_cast<double>(h.max()))},
            {"mean", us(h.mean())}};
}

json::object target_json(const CommonConfig& c) {
    json::object o{{"host", c.host}, {"port", c.port}, {"path", c.path}, {"pid", c.pid}};
    if (c.publish_port != 0) o["publish_port"] = c.publish_port;
    return o;
}

json::object errors_json(const ConnPool& pool) {
    json::object o;
    for (const auto& [what, n] : pool.errors())
        o[what] = n;
    return o;
}

ConnPool::Options pool_options(const CommonConfig& c) {
    ConnPool::Options o;
    o.endpoint = loopback_endpoint(c.host, c.port);
    if (c.publish_port != 0 && c.publish_port != c.port)
        o.publish_endpoint = loopback_endpoint(c.host, c.publish_port);
    o.path = c.path;
    o.deflate = c.deflate;
    o.sources = c.sources;
    o.concurrency = c.concurrency;
    return o;
}

uint32_t fit_fd_limit(uint32_t wanted, uint32_t extra, std::vector<std::string>& warnings) {
    FdLimit lim = raise_fd_limit();
    if (lim.soft == 0 || lim.soft == RLIM_INFINITY) return wanted;
    uint64_t room = lim.soft > fd_reserve + extra ? lim.soft - fd_reserve - extra : 0;
    if (wanted <= room) return wanted;
    warnings.push_back(fmt::format("{} connections are more than RLIMIT_NOFILE (soft {}, hard {}) allows: "
                                   "opening {} (raise the hard limit, e.g. ulimit -Hn, to open more)",
                                   wanted, lim.soft, lim.hard, room));
    return static_cast<uint32_t>(room);
}

void print_warnings(const std::vector<std::string>& warnings) {
    for (const auto& w : warnings)
        fmt::print(stderr, "wshub-bench: warning: {}\n", w);
}

json::array warnings_json(const std::vector<std::string>& warnings) {
    json::array a;
    for (const auto& w : warnings)
        a.emplace_back(w);
    return a;
}

json::object CpuSummary::to_json() const {
    json::array cs;
    for (const auto& c : cores)
        cs.push_back({{"cpu", c.cpu},
                      {"busy_pct", round_to(c.busy_pct, 0.1)},
                      {"softirq_pct", round_to(c.softirq_pct + c.irq_pct, 0.1)}});
    return {{"server_pct", num_or_null(server_pct)},
            {"generator_pct", num_or_null(generator_pct)},
            {"other_processes_pct", num_or_null(other_pct)},
            {"cores", std::move(cs)}};
}

CpuSummary summarize_cpu(std::optional<double> srv, std::optional<double> gen, const CoreTimes& a,
                         const CoreTimes& b) {
    CpuSummary s;
    s.server_pct = srv;
    s.generator_pct = gen;
    s.cores = core_usage(a, b);
    if (srv && gen && !s.cores.empty()) {
        double busy = 0;
        for (const auto& c : s.cores)
            busy += c.busy_pct;
        s.other_pct = std::max(0.0, busy - *srv - *gen);
    }
    s.generator_bound = gen.value_or(0) > generator_bound_pct;
    return s;
}

} // namespace wsbench

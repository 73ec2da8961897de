// wshub-bench: load generator for WebSocket broadcast hubs (fanout, idle, slow) and wshub's publish
// API (publish).
#include "scenarios.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <signal.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace po = boost::program_options;
using namespace wsbench;

namespace {

constexpr int exit_usage = 2;
constexpr int exit_deadline = 3;

const char* const usage_text =
    R"(usage: wshub-bench <mode> [options]      (wshub-bench <mode> --help for its options)

modes:
  fanout   S subscribers + 1 publisher; max rate with a window of messages in flight, or --rate msgs/s;
           reports deliveries/s, latency percentiles, lost/duplicated/out-of-order, server and generator CPU
  idle     N idle connections: server RSS per connection, then the time one broadcast takes to reach all
  slow     fixed-rate fan-out with one subscriber that never reads (tiny receive buffer): healthy
           subscribers' rate and latency, server RSS over time, whether the stuck one gets closed
  publish  wshub's POST /api/publish over keep-alive HTTP (requests pipelined), R receivers counting
           what arrives: requests/s, messages/s, latency; one phase per route (all, channel, user),
           batch size and number of idle connections, side by side in one table

Only loopback targets are accepted. Pin with taskset if wanted; the tool pins nothing.
Exit status: 0 ran (see the results for losses), 1 could not open the connections, 2 bad usage,
3 hard deadline hit.
)";

extern "C" void on_deadline(int) {
    static const char msg[] = "wshub-bench: hard deadline reached, exiting\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(exit_deadline);
}

void arm_deadline(double seconds) {
    struct sigaction sa {};
    sa.sa_handler = on_deadline;
    ::sigaction(SIGALRM, &sa, nullptr);
    ::alarm(static_cast<unsigned>(std::ceil(seconds)));
}

po::options_description common_options(CommonConfig& c, double default_duration, int default_sources) {
    c.duration = default_duration;
    c.sources = default_sources;
    po::options_description d("common options");
    auto add = d.add_options();
    add("help,h", "show this help");
    add("host", po::value(&c.host)->default_value(c.host), "server address (loopback only)");
    add("port", po::value(&c.port)->default_value(c.port), "server port");
    add("path", po::value(&c.path)->default_value(c.path), "WebSocket path (user_id is appended)");
    add("duration", po::value(&c.duration)->default_value(c.duration), "seconds to measure");
    add("pid", po::value(&c.pid)->default_value(0), "server PID: CPU (/proc/PID/stat) and RSS readings");
    add("json", po::value(&c.json_file), "also write the results as JSON to this file");
    add("warmup", po::value(&c.warmup)->default_value(c.warmup), "seconds of load before measuring");
    add("drain", po::value(&c.drain)->default_value(c.drain),
        "seconds to wait for in-flight messages after publishing stops");
    add("connect-timeout", po::value(&c.connect_timeout)->default_value(c.connect_timeout),
        "seconds allowed for opening all connections");
    add("concurrency", po::value(&c.concurrency)->default_value(c.concurrency),
        "connection attempts in flight at once");
    add("sources", po::value(&c.sources)->default_value(c.sources),
        "spread connections over source addresses 127.0.0.2 .. 127.0.0.(1+N); 1 = kernel's choice");
    add("quiet,q", po::bool_switch()->notifier([&c](bool q) { c.progress = !q; }),
        "no progress line on stderr");
    add("deflate", po::bool_switch(&c.deflate),
        "offer permessage-deflate; compressed messages are inflated as far as their 32-byte header");
    add("busy-poll", po::bool_switch(&c.busy_poll),
        "fanout/slow: poll without sleeping. On loopback a server pays for waking a sleeping client; "
        "spinning spares it that (the generator then shows ~100% CPU; generator-bound is judged by "
        "the share of polls that found work)");
    return d;
}

// Parses argv (without the mode word); returns false and prints help when --help was given.
bool parse(const std::string& mode, const po::options_description& opts, int argc, char** argv) {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(opts).run(), vm);
    if (vm.count("help")) {
        std::cout << "usage: wshub-bench " << mode << " [options]\n\n" << opts << "\n";
        return false;
    }
    po::notify(vm);
    return true;
}

void check(bool ok, const std::string& what) {
    if (!ok) throw po::error(what);
}

// "1,10,100" -> {1, 10, 100}
std::vector<uint32_t> number_list(const std::string& s, const char* option) {
    std::vector<uint32_t> out;
    size_t at = 0;
    while (at <= s.size()) {
        size_t end = std::min(s.find(',', at), s.size());
        std::string item = s.substr(at, end - at);
        char* stop = nullptr;
        unsigned long v = std::strtoul(item.c_str(), &stop, 10);
        if (item.empty() || *stop != '\0' || item[0] == '-' || v > 10'000'000)
            throw po::error(fmt::format("{}: '{}' is not a number in [0, 10000000]", option, item));
        out.push_back(static_cast<uint32_t>(v));
        at = end + 1;
    }
    return out;
}

std::vector<std::string> word_list(const std::string& s) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at <= s.size()) {
        size_t end = std::min(s.find(',', at), s.size());
        out.push_back(s.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

void check_common(const CommonConfig& c) {
    check(c.duration > 0 && c.duration <= 86400, "--duration must be in (0, 86400]");
    check(c.warmup >= 0 && c.warmup <= 3600, "--warmup must be in [0, 3600]");
    check(c.drain >= 0 && c.drain <= 600, "--drain must be in [0, 600]");
    check(c.connect_timeout > 0 && c.connect_timeout <= 3600, "--connect-timeout must be in (0, 3600]");
    check(c.concurrency >= 1 && c.concurrency <= 65536, "--concurrency must be in [1, 65536]");
    check(c.sources >= 1 && c.sources <= 253, "--sources must be in [1, 253]");
    check(c.port > 0, "--port must be given");
}

int emit(const Result& r, const CommonConfig& c) {
    std::cout << r.table << std::flush;
    if (!c.json_file.empty()) {
        std::ofstream f(c.json_file);
        f << boost::json::serialize(r.json) << "\n";
        if (!f) {
            fmt::print(stderr, "wshub-bench: cannot write {}\n", c.json_file);
            return r.exit_code ? r.exit_code : 1;
        }
    }
    return r.exit_code;
}

int run_mode(const std::string& mode, int argc, char** argv) {
    if (mode == "fanout" || mode == "slow") {
        bool slow = mode == "slow";
        FanoutConfig cfg;
        cfg.stuck = slow;
        if (slow) cfg.rate = 1000;
        auto opts = common_options(cfg.common, 10, 1);
        po::options_description own(mode + " options");
        auto add = own.add_options();
        add("subscribers,s", po::value(&cfg.subscribers)->default_value(100), "subscriber connections");
        add("size", po::value(&cfg.size)->default_value(64), "payload bytes per message (>= 32)");
        add("json-payload", po::bool_switch(&cfg.json),
            "pad the payload with JSON records (compressible as real data is)");
        add("publish-port", po::value(&cfg.common.publish_port)->default_value(0),
            "the publisher connects to this port (another node of the same hub, e.g. over Redis), the "
            "subscribers to --port; 0 = --port");
        add("watch-pid", po::value(&cfg.common.watch_pids)->multitoken(),
            "other processes (redis-server, other nodes) whose CPU over the measurement is reported, "
            "also per million published messages");
        if (slow) {
            add("rate", po::value(&cfg.rate)->default_value(1000), "messages per second");
            add("stuck-rcvbuf", po::value(&cfg.stuck_rcvbuf)->default_value(4096),
                "SO_RCVBUF of the subscriber that never reads");
        } else {
            add("window,w", po::value(&cfg.window)->default_value(64),
                "max rate: messages in flight (published, not yet back on the publisher)");
            add("rate,r", po::value(&cfg.rate)->default_value(0), "fixed rate in messages/s (0 = max rate)");
        }
        opts.add(own);
        if (!parse(mode, opts, argc, argv)) return 0;
        check_common(cfg.common);
        check(cfg.subscribers >= 1 && cfg.subscribers <= 1'000'000, "--subscribers must be in [1, 1000000]");
        check(cfg.size >= 32 && cfg.size <= (16u << 20),
              "--size must be in [32, 16 MiB] (32 bytes of header)");
        check(cfg.window >= 1 && cfg.window <= 1'000'000, "--window must be in [1, 1000000]");
        check(cfg.rate >= 0 && cfg.rate <= 1e8, "--rate must be in [0, 1e8]");
        check(!slow || cfg.rate > 0, "slow needs --rate > 0");
        arm_deadline(hard_deadline_seconds(cfg));
        return emit(run_fanout(cfg), cfg.common);
    }
    if (mode == "idle") {
        IdleConfig cfg;
        auto opts = common_options(cfg.common, 2, 16);
        po::options_description own("idle options");
        auto add = own.add_options();
        add("connections,n", po::value(&cfg.connections)->default_value(1000), "idle connections");
        add("rounds", po::value(&cfg.rounds)->default_value(3), "broadcasts whose reach time is measured");
        add("reach-timeout", po::value(&cfg.reach_timeout)->default_value(10),
            "seconds to wait for one broadcast");
        opts.add(own);
        if (!parse(mode, opts, argc, argv)) return 0;
        check_common(cfg.common);
        check(cfg.connections >= 1 && cfg.connections <= 10'000'000,
              "--connections must be in [1, 10000000]");
        check(cfg.rounds >= 1 && cfg.rounds <= 100, "--rounds must be in [1, 100]");
        check(cfg.reach_timeout > 0 && cfg.reach_timeout <= 600, "--reach-timeout must be in (0, 600]");
        arm_deadline(hard_deadline_seconds(cfg));
        return emit(run_idle(cfg), cfg.common);
    }
    if (mode == "publish") {
        PublishConfig cfg;
        // the drain ends as soon as every answered message has arrived; a slow route needs longer
        cfg.common.drain = 10;
        auto opts = common_options(cfg.common, 5, 16);
        std::string batches = "1", routes = "all", idle = "0";
        po::options_description own("publish options");
        auto add = own.add_options();
        add("receivers,s", po::value(&cfg.receivers)->default_value(cfg.receivers),
            "WebSocket receivers, each its own user, all subscribed to --channel");
        add("size", po::value(&cfg.size)->default_value(cfg.size), "payload bytes per message (>= 32)");
        add("http-connections,c", po::value(&cfg.http_connections)->default_value(cfg.http_connections),
            "keep-alive HTTP connections publishing");
        add("depth,d", po::value(&cfg.depth)->default_value(cfg.depth),
            "requests in flight (pipelined) per HTTP connection");
        add("batch,b", po::value(&batches)->default_value(batches),
            "messages per request, a list (1: one JSON object; more: an array)");
        add("route", po::value(&routes)->default_value(routes),
            "a list of: all (no user_ids, no channel), channel (\"channel\": --channel), user (\"user_ids\": "
            "the receivers)");
        add("idle", po::value(&idle)->default_value(idle),
            "idle connections beside the receivers (no channel, users of their own), an ascending list: each "
            "level runs every route and batch");
        add("channel", po::value(&cfg.channel)->default_value(cfg.channel), "the receivers' channel");
        add("rounds", po::value(&cfg.rounds)->default_value(cfg.rounds),
            "runs of each (route, batch) phase, interleaved; a row sums its rounds");
        add("api-token", po::value(&cfg.api_token), "sent as Authorization: Bearer (wshub's --api-token)");
        opts.add(own);
        if (!parse(mode, opts, argc, argv)) return 0;
        check_common(cfg.common);
        cfg.batches = number_list(batches, "--batch");
        cfg.routes = word_list(routes);
        cfg.idle = number_list(idle, "--idle");
        check(cfg.receivers >= 1 && cfg.receivers <= 1'000'000, "--receivers must be in [1, 1000000]");
        check(cfg.size >= 32 && cfg.size <= (16u << 20),
              "--size must be in [32, 16 MiB] (32 bytes of header)");
        check(cfg.http_connections >= 1 && cfg.http_connections <= 1000,
              "--http-connections must be in [1, 1000]");
        check(cfg.depth >= 1 && cfg.depth <= 10000, "--depth must be in [1, 10000]");
        for (uint32_t b : cfg.batches)
            check(b >= 1 && b <= 100'000, "--batch sizes must be in [1, 100000]");
        for (const auto& r : cfg.routes)
            check(r == "all" || r == "channel" || r == "user", "--route takes all, channel and user");
        check(std::is_sorted(cfg.idle.begin(), cfg.idle.end()), "--idle must be ascending");
        check(!cfg.channel.empty() && cfg.channel.find_first_of("\"\\&,= ") == std::string::npos,
              "--channel must be a plain channel name");
        check(cfg.rounds >= 1 && cfg.rounds <= 100, "--rounds must be in [1, 100]");
        arm_deadline(hard_deadline_seconds(cfg));
        return emit(run_publish(cfg), cfg.common);
    }
    throw po::error("unknown mode '" + mode + "'");
}

} // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        std::cerr << usage_text;
        return exit_usage;
    }
    std::string mode = argv[1];
    if (mode == "-h" || mode == "--help" || mode == "help") {
        std::cout << usage_text;
        return 0;
    }
    try {
        return run_mode(mode, argc - 1, argv + 1);
    } catch (const po::error& e) {
        fmt::print(stderr, "wshub-bench: {}\n\n{}", e.what(), usage_text);
        return exit_usage;
    } catch (const std::exception& e) {
        fmt::print(stderr, "wshub-bench: {}\n", e.what());
        return exit_usage;
    }
}

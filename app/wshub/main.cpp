// wshub: WebSocket message-push hub. Parses the configuration, then serves until SIGINT/SIGTERM.
#include "wshub/server.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

extern char** environ;

int main(int argc, char* argv[]) {
    wshub::parse_result parsed;
    try {
        parsed = wshub::parse_command_line(argc, argv, environ);
    } catch (const std::exception& e) {
        std::cerr << "wshub: " << e.what() << "\nTry 'wshub --help'.\n";
        return 2;
    }
    if (!parsed.cfg) {
        std::cout << parsed.help;
        return 0;
    }
    const auto& cfg = *parsed.cfg;

    auto logger = spdlog::stderr_color_mt("wshub");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    logger->set_level(spdlog::level::from_str(cfg.log_level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);

    std::signal(SIGPIPE, SIG_IGN); // a peer that vanished is an error code, not a signal
    // Frame batches of up to 256 KiB and message payloads are allocated and freed at a high rate.
    // With glibc's defaults the top of the heap goes back to the kernel and is faulted in and
    // cleared again batch after batch: page faults took ~6 % of the CPU in the 4 KiB fan-out and
    // its throughput swung 2x between runs. Keep up to 64 MiB of freed heap for reuse instead.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    // Every client is a descriptor: take all the kernel allows this process.
    if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    try {
        wshub::server srv(cfg);
        srv.run();
    } catch (const std::exception& e) {
        spdlog::critical("wshub: {}", e.what());
        return 1;
    }
    return 0;
}

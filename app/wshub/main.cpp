// wshub: WebSocket message-push hub. Parses the configuration, then serves until SIGINT/SIGTERM.
#include "wshub/logging.hpp"
#include "wshub/server.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <malloc.h>
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

    wshub::process_log log(cfg);

    std::signal(SIGPIPE, SIG_IGN); // a peer that vanished is an error code, not a signal
    // Keep up to 64 MiB of freed heap for reuse rather than giving it back to the kernel batch
    // after batch; the measurement is in BENCHMARKS.md ("Tuning constants").
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    // Every client is a descriptor: take all the kernel allows this process.
    if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int status = 0;
    try {
        wshub::server srv(cfg);
        srv.run();
    } catch (const std::exception& e) {
        spdlog::critical("wshub: {}", e.what());
        status = 1;
    }
    // A stderr nobody reads must not keep the process from exiting.
    if (!log.drain(std::chrono::seconds(2))) std::_Exit(status);
    return status;
}

// The wshub binary under test, run as a child process on 127.0.0.1 with a port it picks itself.
// Its log (stderr) is echoed with a "[wshub] " prefix and kept, so tests can wait for log lines.
#pragma once

#include "child_process.hpp"
#include "test_io.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wshub_test {

// The path of the wshub binary under test.
const char* wshub_binary();

// The flags every test server gets (loopback, port 0, info log), then `threads` and `extra`.
std::vector<std::string> wshub_args(unsigned threads, std::vector<std::string> extra = {});

class wshub_process {
  public:
    // Starts `wshub <args>` and waits (up to 10 s) for its "listening on" line; fails otherwise.
    // A nonzero `max_open_files` limits its descriptors (RLIMIT_NOFILE, as `ulimit -n` does).
    explicit wshub_process(std::vector<std::string> args, unsigned max_open_files = 0);

    // CPU time the process has used (user + system), in clock ticks, from /proc/PID/stat.
    unsigned long cpu_ticks() const;

    std::uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return child_.pid(); }
    bool exited() const noexcept { return child_.exited(); }

    // SIGTERM (or SIGINT): the graceful shutdown.
    void terminate();
    void interrupt();

    // The exit status (the code, or 128 + signal). On timeout the process is killed with
    // SIGKILL and the test fails.
    exit_status wait_exit(std::chrono::milliseconds timeout = wait_timeout);

    // Resident set size from /proc/PID/status, in KiB.
    std::size_t rss_kib() const;

    std::optional<std::string> wait_for_log(std::string_view needle,
                                            std::chrono::milliseconds timeout = wait_timeout) {
        return child_.wait_for_line(needle, timeout);
    }
    bool wait_for_log_count(std::string_view needle, std::size_t count,
                            std::chrono::milliseconds timeout = wait_timeout) {
        return child_.wait_for_count(needle, count, timeout);
    }
    std::size_t count_log(std::string_view needle) const { return child_.count_lines(needle); }
    std::vector<std::string> log_lines() const { return child_.lines(); }

  private:
    child_process child_;
    std::uint16_t port_ = 0;
};

} // namespace wshub_test

// A child process (fork/exec) whose stdout and stderr go through one pipe. A thread reads it line
// by line: each line is echoed to our stderr with a prefix (so a failing test shows what the child
// said) and kept, so a test can wait for a line with a deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace wshub_test {

// How a child ended: its exit code, or 128 + the signal that killed it (as a shell reports it).
using exit_status = int;

class child_process {
  public:
    // Throws std::system_error if the program cannot be started. With `own_process_group` the
    // child leads a new process group, so send_signal(..., true) also reaches what it forks
    // (nginx's workers). The child gets `parent_death_signal` if the test runner dies first.
    // A nonzero `max_open_files` is the child's RLIMIT_NOFILE (as `ulimit -n` would set it).
    child_process(std::vector<std::string> argv, std::string echo_prefix, bool own_process_group = false,
                  int parent_death_signal = SIGKILL, unsigned max_open_files = 0);
    // Kills the child (and its group) if it still runs, then reaps it.
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    bool exited() const noexcept { return status_.has_value(); }

    // Sends `signo` to the child (to its whole group with `group`); nothing once it was reaped.
    void send_signal(int signo, bool group = false);

    // Waits for the child to exit; std::nullopt if `timeout` passed first (the child still runs).
    std::optional<exit_status> wait_exit(std::chrono::milliseconds timeout);

    // Waits until some line of the output, from the first on, contains `needle`; returns it.
    // std::nullopt if `timeout` passed or the output ended first.
    std::optional<std::string> wait_for_line(std::string_view needle, std::chrono::milliseconds timeout);

    // Waits until at least `count` lines contain `needle`; false on timeout or end of output.
    bool wait_for_count(std::string_view needle, std::size_t count, std::chrono::milliseconds timeout);

    std::size_t count_lines(std::string_view needle) const;
    std::vector<std::string> lines() const;

    // Waits for the end of the output (every writer closed the pipe); false on timeout.
    bool wait_output_end(std::chrono::milliseconds timeout);

  private:
    void read_output();
    std::size_t count_locked(std::string_view needle) const;

    pid_t pid_ = -1;
    bool own_group_ = false;
    std::optional<exit_status> status_;
    int out_fd_ = -1;  // read end of the child's stdout/stderr pipe
    int stop_fd_ = -1; // eventfd that tells the reader to give up
    std::string prefix_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> lines_;
    bool output_ended_ = false;
    std::thread reader_;
};

// Runs a command to completion and returns its exit status and its output (stdout and stderr).
// Throws std::runtime_error if it does not finish within `timeout` (it is killed then).
struct command_result {
    exit_status status = -1;
    std::string output;
};
command_result run_command(std::vector<std::string> argv, std::chrono::milliseconds timeout);

} // namespace wshub_test

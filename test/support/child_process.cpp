#include "child_process.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

extern char** environ;

namespace wshub_test {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

exit_status decode_status(int raw) {
    if (WIFEXITED(raw)) return WEXITSTATUS(raw);
    if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
    return -1;
}

// Writes the whole line at once so lines from several children do not interleave.
void echo_line(const std::string& prefix, const std::string& line) {
    std::string out = prefix + line + "\n";
    const char* p = out.data();
    std::size_t left = out.size();
    while (left > 0) {
        const ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

int poll_ms(std::chrono::steady_clock::time_point deadline) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, left.count()));
}

// Runs in the forked child, so only async-signal-safe calls until exec.
[[noreturn]] void exec_child(char* const* argv, int out_fd, int report_fd, bool own_group, int death_signal,
                             pid_t parent, unsigned max_open_files) {
    // If the test runner dies (a crash, the ctest timeout), the child must not outlive it.
    if (::prctl(PR_SET_PDEATHSIG, death_signal) != 0 || ::getppid() != parent) ::_exit(127);
    if (own_group) ::setpgid(0, 0);
    if (max_open_files != 0) {
        const rlimit limit{max_open_files, max_open_files};
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(127);
    }
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
        ::dup2(out_fd, STDERR_FILENO) < 0)
        ::_exit(127);
    // Sockets of the test's clients must not live on in the child (asio does not mark them
    // close-on-exec); the report pipe closes on exec too, which tells the parent it worked.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    // The test runner installs its own signal handlers and mask; the child starts clean.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s :
         {SIGPIPE, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD, SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL})
        ::sigaction(s, &dfl, nullptr);
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    ::execve(argv[0], argv, environ);
    const int err = errno; // tell the parent why exec failed
    [[maybe_unused]] auto n = ::write(report_fd, &err, sizeof err);
    ::_exit(127);
}

} // namespace

child_process::child_process(std::vector<std::string> argv, std::string echo_prefix, bool own_process_group,
                             int parent_death_signal, unsigned max_open_files)
    : own_group_(own_process_group)
    , prefix_(std::move(echo_prefix)) {
    if (argv.empty()) throw std::invalid_argument("child_process: empty command");
    int out[2], report[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
    if (::pipe2(report, O_CLOEXEC) != 0) {
        const int err = errno;
        ::close(out[0]);
        ::close(out[1]);
        throw_errno(err, "pipe2");
    }
    out_fd_ = out[0];
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);

    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = stop_fd_ < 0 ? -1 : ::fork();
    if (pid_ == 0)
        exec_child(args.data(), out[1], report[1], own_group_, parent_death_signal, parent, max_open_files);
    const int fork_err = errno;
    ::close(out[1]); // the child has its copy; EOF comes when it (and what it forked) is gone
    ::close(report[1]);

    int exec_err = 0;
    ssize_t n = 0;
    if (pid_ > 0) {
        // The report pipe closes on a successful exec, or carries errno when exec failed.
        while ((n = ::read(report[0], &exec_err, sizeof exec_err)) < 0 && errno == EINTR) {
        }
    }
    ::close(report[0]);
    if (pid_ < 0 || n > 0) {
        if (pid_ > 0) {
            while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
        ::close(out_fd_);
        if (stop_fd_ >= 0) ::close(stop_fd_);
        throw_errno(pid_ < 0 ? fork_err : exec_err, "cannot start " + argv[0]);
    }
    reader_ = std::thread([this] { read_output(); });
}

child_process::~child_process() {
    if (!status_) {
        send_signal(SIGKILL, own_group_);
        int raw = 0;
        while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
        }
        status_ = decode_status(raw);
    } else if (own_group_) {
        send_signal(SIGKILL, true); // members of the group that outlived their leader
    }
    // Let the reader echo what is left, but do not hang on a pipe someone else still holds.
    wait_output_end(std::chrono::seconds(2));
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
    reader_.join();
    ::close(out_fd_);
    ::close(stop_fd_);
}

void child_process::send_signal(int signo, bool group) {
    if (group) {
        ::kill(-pid_, signo); // the group outlives a reaped leader only if members remain
        return;
    }
    if (!status_) ::kill(pid_, signo);
}

std::optional<exit_status> child_process::wait_exit(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int raw = 0;
#ifdef SYS_pidfd_open
    // A pidfd turns "the child exited" into an event that poll() can wait for.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
        pollfd p{pidfd, POLLIN, 0};
        int r;
        while ((r = ::poll(&p, 1, poll_ms(deadline))) < 0 && errno == EINTR) {
        }
        ::close(pidfd);
        if (r == 0) return std::nullopt;
        while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
        }
        status_ = decode_status(raw);
        return status_;
    }
#endif
    // No pidfd (old kernel): ask again every few milliseconds until the deadline.
    for (;;) {
        const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
        if (r == pid_) {
            status_ = decode_status(raw);
            return status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void child_process::read_output() {
    std::string partial;
    char buf[4096];
    auto flush_line = [this](std::string line) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        echo_line(prefix_, line);
        std::lock_guard lock(mutex_);
        lines_.push_back(std::move(line));
        changed_.notify_all();
    };
    for (;;) {
        pollfd fds[2] = {{out_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents) break;
        const ssize_t n = ::read(out_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        partial.append(buf, static_cast<std::size_t>(n));
        for (std::size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
            flush_line(partial.substr(0, nl));
            partial.erase(0, nl + 1);
        }
    }
    if (!partial.empty()) flush_line(std::move(partial));
    std::lock_guard lock(mutex_);
    output_ended_ = true;
    changed_.notify_all();
}

std::size_t child_process::count_locked(std::string_view needle) const {
    std::size_t n = 0;
    for (const auto& l : lines_)
        if (l.find(needle) != std::string::npos) ++n;
    return n;
}

std::optional<std::string> child_process::wait_for_line(std::string_view needle,
                                                        std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    std::size_t checked = 0;
    for (;;) {
        for (; checked < lines_.size(); ++checked)
            if (lines_[checked].find(needle) != std::string::npos) return lines_[checked];
        if (output_ended_) return std::nullopt;
        if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && checked == lines_.size())
            return std::nullopt;
    }
}

bool child_process::wait_for_count(std::string_view needle, std::size_t count,
                                   std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return output_ended_ || count_locked(needle) >= count; }) &&
           count_locked(needle) >= count;
}

std::size_t child_process::count_lines(std::string_view needle) const {
    std::lock_guard lock(mutex_);
    return count_locked(needle);
}

std::vector<std::string> child_process::lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
}

bool child_process::wait_output_end(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return output_ended_; });
}

command_result run_command(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
    const std::string name = argv.empty() ? std::string() : argv.front();
    child_process child(std::move(argv), "[" + name + "] ");
    auto status = child.wait_exit(timeout);
    if (!status)
        throw std::runtime_error(name + " did not finish within " + std::to_string(timeout.count()) + " ms");
    child.wait_output_end(std::chrono::seconds(5));
    command_result result{*status, {}};
    for (const auto& l : child.lines())
        result.output += l + "\n";
    return result;
}

} // namespace wshub_test

#include "wshub_process.hpp"

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <fstream>
#include <iterator>
#include <sstream>

namespace wshub_test {

namespace {

constexpr std::string_view listening_marker = "wshub listening on ";

std::vector<std::string> with_binary(std::vector<std::string> args) {
    args.insert(args.begin(), WSHUB_BINARY);
    return args;
}

// "... wshub listening on 127.0.0.1:40123 with 2 threads" -> 40123
std::uint16_t parse_port(const std::string& line) {
    const auto start = line.find(listening_marker);
    const auto end = line.find(" with ", start);
    const auto colon = line.rfind(':', end);
    if (start == std::string::npos || end == std::string::npos || colon == std::string::npos || colon < start)
        return 0;
    const unsigned long port = std::stoul(line.substr(colon + 1, end - colon - 1));
    return port > 0 && port <= 65535 ? static_cast<std::uint16_t>(port) : 0;
}

} // namespace

const char* wshub_binary() {
    return WSHUB_BINARY;
}

std::vector<std::string> wshub_args(unsigned threads, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "--address", "127.0.0.1", "--port", "0", "--threads", std::to_string(threads), "--log-level", "info"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

wshub_process::wshub_process(std::vector<std::string> args, unsigned max_open_files)
    : child_(with_binary(std::move(args)), "[wshub] ", false, SIGKILL, max_open_files) {
    const auto line = child_.wait_for_line(listening_marker, std::chrono::seconds(10));
    if (!line) {
        const auto status = child_.wait_exit(std::chrono::milliseconds(0));
        BOOST_FAIL("wshub did not report its port within 10 s" +
                   (status ? " (it exited with status " + std::to_string(*status) + ")" : std::string()));
    }
    port_ = parse_port(*line);
    BOOST_REQUIRE_MESSAGE(port_ != 0, "cannot parse the port from: " << *line);
}

void wshub_process::terminate() {
    child_.send_signal(SIGTERM);
}

void wshub_process::interrupt() {
    child_.send_signal(SIGINT);
}

exit_status wshub_process::wait_exit(std::chrono::milliseconds timeout) {
    if (auto status = child_.wait_exit(timeout)) return *status;
    child_.send_signal(SIGKILL);
    child_.wait_exit(std::chrono::seconds(5));
    BOOST_FAIL("wshub did not exit within " << timeout.count() << " ms; killed it");
    return -1;
}

std::size_t wshub_process::rss_kib() const {
    std::ifstream status("/proc/" + std::to_string(child_.pid()) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
    return 0;
}

unsigned long wshub_process::cpu_ticks() const {
    std::ifstream stat("/proc/" + std::to_string(child_.pid()) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const auto close = text.rfind(')');
    BOOST_REQUIRE_MESSAGE(close != std::string::npos, "cannot read /proc/" << child_.pid() << "/stat");
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    // Fields 3 to 13, then utime (14) and stime (15).
    for (int i = 3; i <= 13; ++i)
        fields >> field;
    fields >> utime >> stime;
    return utime + stime;
}

} // namespace wshub_test

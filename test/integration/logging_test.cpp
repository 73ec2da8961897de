// What wshub writes to its log: values a client controls are escaped, so that a client cannot
// forge a log line; --log-format json writes one JSON object per line; and a stderr nobody reads
// (a full pipe) does not stop the server from serving.
#include "free_port.hpp"
#include "http_client.hpp"
#include "raw_connection.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace wshub_test;

namespace {

// A user_id and a close reason that each carry a complete fake log line after a line break.
constexpr const char* forged_stamp = "2026-01-01T00:00:00.000";
const std::string forged_user_id_query =
    "mallory%0A2026-01-01T00:00:00.000%20info%20connect%20user_id=admin%20remote=10.0.0.1:1";
const std::string forged_close_reason =
    "bye\n2026-01-01T00:00:00.000 info disconnect user_id=admin reason=ok";

void connect_and_close_with_forgeries(server_fixture& f) {
    raw_connection c(f.io);
    const auto r = c.upgrade(f.port(), "/im?user_id=" + forged_user_id_query);
    BOOST_REQUIRE_MESSAGE(r.status == 101u, "status " << r.status << " '" << r.body << "'");
    c.send(client_frame(op_close, close_payload(1000, forged_close_reason)));
    BOOST_TEST(f.server.wait_for_log("disconnect user_id=").has_value());
}

struct json_log_server : server_fixture {
    json_log_server()
        : server_fixture(wshub_args(1, {"--log-format", "json"})) {}
};

// wshub with stdout and stderr on a pipe of the smallest size that is read up to the "listening
// on" line and never again: its log soon fills the pipe, and writes to it block.
class unread_log_wshub {
  public:
    explicit unread_log_wshub(std::vector<std::string> args) {
        int fds[2];
        BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        ::fcntl(fds[1], F_SETPIPE_SZ, 4096);
        args.insert(args.begin(), wshub_binary());
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = ::fork();
        BOOST_REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::dup2(fds[1], 1);
            ::dup2(fds[1], 2);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        out_ = fds[0];
        std::string seen;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        constexpr std::string_view marker = "listening on 127.0.0.1:";
        for (;;) {
            const auto at = seen.find(marker);
            if (at != std::string::npos && seen.find(' ', at + marker.size()) != std::string::npos) {
                port_ = static_cast<std::uint16_t>(std::stoul(seen.substr(at + marker.size())));
                break;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{out_, POLLIN, 0};
            BOOST_REQUIRE_MESSAGE(left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) == 1,
                                  "wshub did not report its port within 10 s: '" << seen << "'");
            char buf[512];
            const auto n = ::read(out_, buf, sizeof buf);
            BOOST_REQUIRE_MESSAGE(n > 0, "wshub's output ended: '" << seen << "'");
            seen.append(buf, static_cast<std::size_t>(n));
        }
    }
    ~unread_log_wshub() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(out_);
    }

    std::uint16_t port() const noexcept { return port_; }

    // SIGTERM, then the exit status if the process ends within `limit`.
    std::optional<int> terminate_within(std::chrono::milliseconds limit) {
        ::kill(pid_, SIGTERM);
        const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
        BOOST_REQUIRE(pidfd >= 0);
        pollfd p{pidfd, POLLIN, 0};
        const bool ended = ::poll(&p, 1, static_cast<int>(limit.count())) == 1;
        ::close(pidfd);
        if (!ended) return std::nullopt;
        int status = 0;
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

  private:
    pid_t pid_ = -1;
    int out_ = -1;
    std::uint16_t port_ = 0;
    bool reaped_ = false;
};

} // namespace

BOOST_AUTO_TEST_SUITE(logging)

BOOST_FIXTURE_TEST_CASE(client_values_cannot_forge_log_lines, server_fixture) {
    connect_and_close_with_forgeries(*this);
    std::size_t mentions = 0;
    for (const auto& line : server.log_lines()) {
        BOOST_TEST(line.rfind(forged_stamp, 0) != 0, "forged line: " << line);
        if (line.find("mallory") != std::string::npos) ++mentions;
    }
    BOOST_TEST(mentions == 2u); // connect and disconnect, each on one line
    const auto connect = server.wait_for_log("connect user_id=\"mallory\\n2026-01-01T00:00:00.000 info");
    BOOST_TEST(connect.has_value(), "the user_id is quoted, its line break escaped");
    BOOST_TEST(server.wait_for_log("reason=\"closed by peer (1000: bye\\n2026").has_value());
}

BOOST_FIXTURE_TEST_CASE(json_log_lines_are_objects_with_time_level_and_msg, json_log_server) {
    connect_and_close_with_forgeries(*this);
    bool saw_connect = false;
    for (const auto& line : server.log_lines()) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(line, ec);
        BOOST_TEST_REQUIRE(!ec, "not JSON: " << line);
        BOOST_TEST_REQUIRE(v.is_object(), line);
        const auto& o = v.as_object();
        BOOST_TEST((o.contains("time") && o.at("time").is_string()), line);
        BOOST_TEST((o.contains("level") && o.at("level").is_string()), line);
        BOOST_TEST_REQUIRE((o.contains("msg") && o.at("msg").is_string()), line);
        const std::string msg(o.at("msg").get_string());
        if (msg.rfind("connect user_id=", 0) == 0) {
            saw_connect = true;
            BOOST_TEST(msg.find("mallory\\n2026") != std::string::npos, msg);
        }
    }
    BOOST_TEST(saw_connect);
}

// A port already taken ends wshub with status 1 and one line an operator can act on. The line
// carried Asio's source location ("[system:98 at /usr/include/boost/asio/detail/...]").
BOOST_AUTO_TEST_CASE(a_port_in_use_is_one_clear_line) {
    test_io io;
    boost::asio::ip::tcp::acceptor taken(io.context(), {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = std::to_string(taken.local_endpoint().port());
    child_process wshub({wshub_binary(), "--address", "127.0.0.1", "--port", port}, "[wshub] ");
    const auto status = wshub.wait_exit(wait_timeout);
    BOOST_REQUIRE(status.has_value());
    BOOST_TEST(*status == 1);
    BOOST_TEST(wshub.wait_output_end(wait_timeout));
    BOOST_TEST(wshub.count_lines("critical wshub: cannot listen on 127.0.0.1:" + port +
                                 ": Address already in use") == 1u);
    BOOST_TEST(wshub.count_lines("[system:") == 0u);
}

BOOST_AUTO_TEST_CASE(a_stderr_nobody_reads_does_not_stop_the_server) {
    unread_log_wshub server(wshub_args(1));
    // Each refused upgrade is a log line of ~100 bytes: 400 of them are ten times the pipe. A
    // server that wrote its log on the I/O thread would stop answering after a few dozen.
    for (int i = 0; i < 400; ++i)
        BOOST_REQUIRE(http_get(server.port(), "/im", {}, "127.0.0.1", std::chrono::seconds(5)).result_int() ==
                      426u);
    const auto pong = http_get(server.port(), "/ping", {}, "127.0.0.1", std::chrono::seconds(5));
    BOOST_TEST(pong.body() == "pong");

    test_io io;
    ws_client a(io, std::chrono::seconds(5)), b(io, std::chrono::seconds(5));
    a.connect(server.port(), "/im?user_id=a");
    b.connect(server.port(), "/im?user_id=b");
    a.send_text("still serving");
    BOOST_TEST(a.read().payload == "still serving");
    BOOST_TEST(b.read().payload == "still serving");
    a.drop();
    b.drop();

    // Nor does it keep the process from exiting: the log's drain is bounded.
    const auto status = server.terminate_within(std::chrono::seconds(15));
    BOOST_TEST(status.has_value(), "wshub did not exit within 15 s of SIGTERM");
}

BOOST_AUTO_TEST_SUITE_END()

#include "redis_process.hpp"

#include "free_port.hpp"

#include <arpa/inet.h>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace wshub_test {

namespace {

constexpr std::chrono::seconds start_timeout{10};

// A blocking loopback connection whose every read and write must finish by one deadline.
class resp_connection {
  public:
    resp_connection(std::uint16_t port, std::chrono::steady_clock::time_point deadline)
        : deadline_(deadline) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd_ < 0) fail("socket");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            if (errno != EINPROGRESS) fail("connect to redis on port " + std::to_string(port));
            wait_for(POLLOUT, "connect");
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                errno = err;
                fail("connect to redis on port " + std::to_string(port));
            }
        }
    }
    ~resp_connection() { ::close(fd_); }
    resp_connection(const resp_connection&) = delete;
    resp_connection& operator=(const resp_connection&) = delete;

    void write_all(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {
                wait_for(POLLOUT, "write");
                continue;
            }
            if (n < 0) fail("write to redis");
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // A line without its CRLF.
    std::string read_line() {
        for (;;) {
            if (const auto crlf = buffer_.find("\r\n"); crlf != std::string::npos) {
                std::string line = buffer_.substr(0, crlf);
                buffer_.erase(0, crlf + 2);
                return line;
            }
            fill();
        }
    }

    std::string read_exact(std::size_t n) {
        while (buffer_.size() < n)
            fill();
        std::string bytes = buffer_.substr(0, n);
        buffer_.erase(0, n);
        return bytes;
    }

  private:
    [[noreturn]] static void fail(const std::string& what) {
        throw std::runtime_error(what + ": " + std::strerror(errno));
    }

    void wait_for(short events, const char* what) {
        for (;;) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
            if (left.count() <= 0) throw std::runtime_error(std::string("redis: ") + what + " timed out");
            pollfd p{fd_, events, 0};
            const int r = ::poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) fail("poll");
            if (r > 0) return;
        }
    }

    void fill() {
        char chunk[4096];
        for (;;) {
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n > 0) {
                buffer_.append(chunk, static_cast<std::size_t>(n));
                return;
            }
            if (n == 0) throw std::runtime_error("redis closed the connection before its reply was complete");
            if (errno == EINTR) continue;
            if (errno != EAGAIN) fail("read from redis");
            wait_for(POLLIN, "read");
        }
    }

    int fd_ = -1;
    std::chrono::steady_clock::time_point deadline_;
    std::string buffer_;
};

redis_reply read_reply(resp_connection& c) {
    const std::string line = c.read_line();
    if (line.empty()) throw std::runtime_error("redis sent an empty line");
    const std::string rest = line.substr(1);
    redis_reply reply;
    switch (line[0]) {
    case '+':
        reply.type = redis_reply::kind::status;
        reply.text = rest;
        break;
    case '-':
        reply.type = redis_reply::kind::error;
        reply.text = rest;
        break;
    case ':':
        reply.type = redis_reply::kind::integer;
        reply.integer = std::stoll(rest);
        break;
    case '$': {
        const long long size = std::stoll(rest);
        if (size < 0) break; // the nil bulk string
        reply.type = redis_reply::kind::bulk;
        reply.text = c.read_exact(static_cast<std::size_t>(size));
        if (c.read_exact(2) != "\r\n") throw std::runtime_error("redis: a bulk string without its CRLF");
        break;
    }
    case '*': {
        const long long count = std::stoll(rest);
        if (count < 0) break; // the nil array
        reply.type = redis_reply::kind::array;
        for (long long i = 0; i < count; ++i)
            reply.elements.push_back(read_reply(c));
        break;
    }
    default:
        throw std::runtime_error("redis sent an unknown reply: " + line);
    }
    return reply;
}

std::string encode_command(const std::vector<std::string>& args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args)
        out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    return out;
}

// The server answered: PONG, or a refusal that still proves it is up (a password is required).
bool answers_ping(std::uint16_t port) {
    const auto reply = redis_command(port, {"PING"});
    return (reply.type == redis_reply::kind::status && reply.text == "PONG") ||
           (reply.is_error() && reply.text.starts_with("NOAUTH"));
}

} // namespace

boost::test_tools::assertion_result redis_available(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result ok(::access(redis_server_binary, X_OK) == 0);
    if (!ok) ok.message() << redis_server_binary << " is not installed (apt-get install redis-server)";
    return ok;
}

redis_process::redis_process(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
    std::string tmpl = (fs::temp_directory_path() / "wshub-redis-XXXXXX").string();
    BOOST_REQUIRE_MESSAGE(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
    dir_ = tmpl;
    // The free port can be taken by someone else before redis binds it: then try another.
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_loopback_port();
        if (start()) return;
    }
    BOOST_FAIL("redis-server found no free port in 3 attempts");
}

redis_process::~redis_process() {
    child_.reset(); // SIGKILLs it if it still runs, and reaps it
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string redis_process::url() const {
    return "redis://127.0.0.1:" + std::to_string(port_);
}

bool redis_process::start() {
    std::vector<std::string> argv = {redis_server_binary,
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--dir",
                                     dir_,
                                     "--logfile",
                                     ""};
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
    child_ = std::make_unique<child_process>(std::move(argv), "[redis] ");
    // redis logs this once it listens; the line (or the end of its output) is the event to wait for.
    if (!child_->wait_for_line("Ready to accept connections", start_timeout)) {
        const bool port_taken = child_->count_lines("Address already in use") > 0;
        child_.reset();
        BOOST_REQUIRE_MESSAGE(port_taken, "redis-server did not start (its output is above)");
        return false;
    }
    bool answered = false;
    std::string why;
    try {
        answered = answers_ping(port_);
    } catch (const std::exception& e) {
        why = e.what();
    }
    BOOST_REQUIRE_MESSAGE(answered, "redis-server on port " << port_ << " does not answer PING " << why);
    return true;
}

void redis_process::kill() {
    if (!child_) return;
    child_->send_signal(SIGKILL);
    BOOST_REQUIRE_MESSAGE(child_->wait_exit(std::chrono::seconds(10)),
                          "redis-server outlived SIGKILL by 10 s");
}

void redis_process::restart() {
    kill();
    child_.reset();
    // The same port: the nodes under test reconnect to the address they were given.
    BOOST_REQUIRE_MESSAGE(start(), "port " << port_ << " was taken while redis-server was down");
}

std::string redis_reply::describe() const {
    switch (type) {
    case kind::status:
        return "+" + text;
    case kind::error:
        return "-" + text;
    case kind::integer:
        return ":" + std::to_string(integer);
    case kind::bulk:
        return "$" + text;
    case kind::nil:
        return "nil";
    case kind::array: {
        std::string out = "[";
        for (const auto& e : elements)
            out += (out.size() > 1 ? ", " : "") + e.describe();
        return out + "]";
    }
    }
    return "?";
}

redis_reply redis_command(std::uint16_t port, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout) {
    resp_connection c(port, std::chrono::steady_clock::now() + timeout);
    c.write_all(encode_command(args));
    return read_reply(c);
}

} // namespace wshub_test

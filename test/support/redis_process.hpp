// Debian's redis-server run by a test on a free 127.0.0.1 port: no persistence, no daemon, its
// working directory a temporary one, its log echoed with a "[redis] " prefix. A test can kill it
// (SIGKILL, as a crash) and start it again on the same port, to see what the nodes do meanwhile.
// redis_command() is a blocking client for the tests themselves, to look at what is stored.
#pragma once

#include "child_process.hpp"

#include <boost/test/tree/decorator.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wshub_test {

inline constexpr const char* redis_server_binary = "/usr/bin/redis-server";

// A precondition for test cases that need Redis: skips them with a reason when it is missing.
boost::test_tools::assertion_result redis_available(boost::unit_test::test_unit_id);

class redis_process {
  public:
    // Starts redis-server on a free loopback port and waits (bounded) until it answers PING.
    // `extra_args` go to redis-server after the fixture's own (e.g. {"--requirepass", "secret"}).
    explicit redis_process(std::vector<std::string> extra_args = {});
    // Kills the server if it runs and removes its directory.
    ~redis_process();
    redis_process(const redis_process&) = delete;
    redis_process& operator=(const redis_process&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    // "redis://127.0.0.1:PORT", as wshub's --redis takes it.
    std::string url() const;
    bool running() const noexcept { return child_ && !child_->exited(); }

    // SIGKILL, then waits until the process is gone (fails the test if it does not go).
    void kill();
    // Starts the server again on the same port (killing it first if it runs) and waits until it
    // answers PING. Nothing survives: the fixture keeps no data on disk.
    void restart();

  private:
    // Starts on port_; false if the port was taken, fails the test on any other problem.
    bool start();

    std::uint16_t port_ = 0;
    std::string dir_;
    std::vector<std::string> extra_args_;
    std::unique_ptr<child_process> child_;
};

// One reply of the Redis protocol (RESP2), parsed.
struct redis_reply {
    enum class kind { status, error, integer, bulk, nil, array };
    kind type = kind::nil;
    std::string text;      // status, error and bulk replies
    long long integer = 0; // integer replies
    std::vector<redis_reply> elements;

    bool is_nil() const noexcept { return type == kind::nil; }
    bool is_error() const noexcept { return type == kind::error; }
    // A one-line description for test messages: "+OK", "-ERR ...", ":3", "$hello", "nil", "[...]".
    std::string describe() const;
};

// Connects to 127.0.0.1:`port`, sends one command (each argument a bulk string) and returns its
// reply. Throws std::runtime_error if the server cannot be reached, closes the connection or does
// not answer within `timeout`.
redis_reply redis_command(std::uint16_t port, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace wshub_test

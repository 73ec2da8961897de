// Boost.Test fixtures that start a wshub server for one test case (port 0, loopback). After the
// test body, teardown() stops it with SIGTERM and checks that it exits with status 0: a crash, a
// hang or a sanitizer report in the server fails the test that caused it.
#pragma once

#include "test_io.hpp"
#include "wshub_process.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace wshub_test {

struct server_fixture {
    explicit server_fixture(std::vector<std::string> args = wshub_args(1))
        : server(std::move(args)) {}

    void teardown() {
        if (server.exited()) return; // the test stopped it and checked the status itself
        server.terminate();
        BOOST_CHECK_MESSAGE(server.wait_exit() == 0, "wshub did not exit cleanly after the test");
    }

    std::uint16_t port() const { return server.port(); }

    // Declared first so that it outlives the clients a test body creates on it.
    test_io io;
    wshub_process server;
};

// The same server with two I/O threads: connections alternate between the two shards.
struct two_thread_server : server_fixture {
    two_thread_server()
        : server_fixture(wshub_args(2)) {}
};

} // namespace wshub_test

// Runtime configuration: every limit and timeout in one place, with its default and the reason for it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace wshub {

struct config {
    // Where to listen. The seed listened on every interface, port 23333.
    std::string address = "0.0.0.0";
    std::uint16_t port = 23333; // 0 picks a free port (the log says which): used by the tests

    // I/O threads, each with its own io_context; connections are spread over them round-robin.
    unsigned threads = 0; // 0 = the number of cores

    // Bytes waiting to be written to one client before that client is judged too slow and closed
    // (close 1008). One message is always accepted into an empty queue, so a single large message
    // never trips it; a client that stops reading is cut off after roughly this much backlog.
    std::size_t max_queued_bytes = 1024 * 1024;

    // Largest message a client may send (fragments included); a bigger one gets close 1009.
    std::size_t max_message_size = 1024 * 1024;

    // Messages the readers may have queued for the sender before a reader waits (the seed's 1024).
    std::size_t inbox_capacity = 1024;

    // On SIGINT/SIGTERM: how long clients get to receive what is queued for them and the close frame
    // before their sockets are closed anyway.
    std::chrono::milliseconds drain_timeout{std::chrono::seconds(5)};

    // A connection that has not finished its HTTP request (or WebSocket close handshake) in this time
    // is dropped: slow or half-open peers must not hold a connection slot forever.
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};

    // The server pings an idle client this often and drops it when two intervals pass in silence;
    // below nginx's default 60 s proxy_read_timeout so that proxied idle clients stay connected.
    std::chrono::milliseconds ping_interval{std::chrono::seconds(25)};

    std::string log_level = "info";

    // Throws std::invalid_argument naming the first value that makes no sense.
    void validate() const;
};

// Parses flags and WSHUB_* environment variables (a flag wins over the environment).
// Returns std::nullopt when --help was asked for (the help text has been written to `out`).
// Throws std::invalid_argument on unknown flags or bad values.
struct parse_result {
    std::optional<config> cfg;
    std::string help;
};
parse_result parse_command_line(int argc, const char* const argv[], const char* const* envp);

} // namespace wshub

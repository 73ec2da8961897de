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

    // Bytes waiting to be written to one client that it may exceed only for a while: a client
    // whose backlog stays over this for slow_client_timeout is judged too slow and closed (1008).
    // A burst that a client reading at the average rate catches up with never closes it.
    std::size_t max_queued_bytes = std::size_t{1024} * 1024;
    std::chrono::milliseconds slow_client_timeout{std::chrono::seconds(5)};
    // The backlog a client may never pass (closed at once with 1008): what a stopped reader
    // costs at most. 0 = 8 x max(max_queued_bytes, max_message_size), room for a burst of several
    // of the largest messages. One message is always accepted into an empty queue.
    std::size_t max_queued_bytes_hard = 0;
    std::size_t queue_hard_limit() const noexcept {
        return max_queued_bytes_hard != 0
                   ? max_queued_bytes_hard
                   : 8 * (max_queued_bytes > max_message_size ? max_queued_bytes : max_message_size);
    }
    // SO_SNDBUF of each client's socket (0 = the kernel's autotuning, up to tcp_wmem's maximum,
    // 4 MiB by default). The kernel's buffer holds a stuck client's bytes too: capping it keeps
    // its memory near the queue limits, and 256 KiB still covers a fast client's round trip.
    std::size_t socket_send_buffer = std::size_t{256} * 1024;

    // Largest message a client may send (fragments included); a bigger one gets close 1009.
    std::size_t max_message_size = std::size_t{1024} * 1024;

    // Messages the readers may have queued for the sender before a reader waits (the seed's 1024).
    std::size_t inbox_capacity = 1024;
    // ... and their payload bytes: 1024 messages of --max-message-size could hold 1 GiB. A message
    // larger than this still enters an empty inbox.
    std::size_t inbox_bytes = std::size_t{64} * 1024 * 1024;

    // Recovery (since=): each stream keeps its last history_size messages (0: none), at most
    // history_bytes of frames, none older than history_ttl. Each shard keeps references into the
    // batches, so the bytes are held once, however many threads there are.
    std::size_t history_size = 1000;
    std::size_t history_bytes = std::size_t{4} * 1024 * 1024;
    std::chrono::seconds history_ttl{300};

    // On SIGINT/SIGTERM: how long clients get to receive what is queued for them and the close frame
    // before their sockets are closed anyway.
    std::chrono::milliseconds drain_timeout{std::chrono::seconds(5)};

    // A connection that has not finished its HTTP request (or WebSocket close handshake) in this time
    // is dropped: slow or half-open peers must not hold a connection slot forever.
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};

    // The server pings a client that has been silent this long, and again every interval while
    // it stays silent (--idle-timeout decides when it is dropped); below nginx's default 60 s
    // proxy_read_timeout so that proxied idle clients stay connected.
    std::chrono::milliseconds ping_interval{std::chrono::seconds(25)};

    // Silence from a client (no whole frame: message, ping or pong) for this long drops it; a
    // live client answers the pings, so this finds peers that vanished without a FIN.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};

    // Admission: WebSocket sessions in all (0 = unlimited), and from one address (0 = unlimited;
    // off by default because behind a proxy every client shares the proxy's address).
    std::size_t max_connections = 100000;
    std::size_t max_connections_per_ip = 0;

    // Connections that have not upgraded (plain HTTP, or a handshake still being read), in all and
    // from one address (0 = unlimited): each holds a descriptor, so without a bound a client could
    // use up the process's. Over a limit a connection is answered 503 and closed. The per-address
    // limit is on by default (unlike the sessions'): it is high, and connections from a
    // --trusted-proxies peer count in the total only, since their clients are known per request.
    std::size_t max_http_connections = 10000;
    std::size_t max_http_connections_per_ip = 1000;

    // After each response, a keep-alive HTTP connection has this long (at most --handshake-timeout)
    // to send its next request in full, and it is closed after this many requests (0 = unlimited):
    // an idle or endlessly reused connection must not hold its slot forever.
    std::chrono::milliseconds http_idle_timeout{std::chrono::seconds(5)};
    std::size_t max_requests_per_connection = 100;

    // Sessions of one user id (0 = unlimited), so one account cannot open thousands of sessions;
    // over it the upgrade gets 429. Off by default: without authentication user ids are taken on
    // trust, and a shared id (a kiosk, a bot) may legitimately hold many.
    std::size_t max_connections_per_user = 0;

    // With authentication, upgrades per second from one address, in bursts of twice that
    // (0 = unlimited): checking an RSA or ECDSA signature costs an I/O thread up to 2 ms, so an
    // upgrade flood would delay every broadcast of that thread. Over it the upgrade gets 429
    // before its token is checked. Loopback counts like any address; behind a proxy set
    // --trusted-proxies, or the proxy's address is the one counted.
    double max_upgrades_per_ip = 20;

    // Comma-separated addresses and CIDR networks (IPv4, IPv6) of reverse proxies: from these
    // peers the client's address is taken from X-Forwarded-For (or X-Real-IP), for the per-address
    // limits and the logs. Empty: no peer is believed, since any client can send those headers.
    std::string trusted_proxies;

    // Inbound limits per connection (token buckets holding one second's worth; 0 = unlimited).
    // Far above what an interactive client sends, low enough that one client cannot flood everyone.
    double rate_limit = 1000;                     // frames per second (pings and fragments count)
    double rate_limit_bytes = 16.0 * 1024 * 1024; // bytes per second

    // What happens to messages clients send: `broadcast` (the seed's behaviour) or `drop`
    // (a push-only deployment where only backends publish).
    enum class client_messages_mode { broadcast, drop };
    client_messages_mode client_messages = client_messages_mode::broadcast;

    // Comma-separated Origin allowlist for the WebSocket handshake; empty = any origin.
    std::string allowed_origins;

    // Authentication (optional): a JWT whose `sub` becomes the user id. Either a shared HS256
    // secret or a PEM public key file (RS256/384/512 or ES256/384/512, from the key).
    std::string jwt_secret;
    std::string jwt_public_key_path;
    // The HS256 secret read from a file instead (trailing line break trimmed), so that it does
    // not show in `ps` or the process's environment.
    std::string jwt_secret_file;
    // When set, a token's iss must be exactly this, and its aud (a string or an array) must name
    // this: an identity provider signs tokens for many applications with one key, and a token
    // issued for another of them must not open a session here.
    std::string jwt_issuer;
    std::string jwt_audience;
    // Clock skew tolerated between the token issuer and wshub for exp and nbf (0 to 300 s); a
    // session is closed (4001) at exp plus this.
    std::chrono::seconds jwt_leeway{30};

    // The publish API (/api/*) wants "Authorization: Bearer <token>" when a token is set (or read
    // from a file, trailing line break trimmed, so that it does not show in `ps`). Without one
    // it answers only loopback peers whose requests did not come through a proxy.
    std::string api_token;
    std::string api_token_file;

    // redis://[[user]:password@]host[:port][/db]: the bus between wshub nodes. Empty: this node
    // runs alone.
    std::string redis;
    // A publish request's body may be at most this big (413), and an array body may hold at most
    // this many messages (413); each message's data is bounded by max_message_size (413).
    std::size_t max_publish_body = std::size_t{16} * 1024 * 1024;
    std::size_t max_publish_batch = 1000;

    // permessage-deflate (RFC 7692): offered by the client, accepted when `compression` is on.
    // Each message of at least `compression_min_size` bytes is compressed once for all the
    // clients that negotiated it; smaller ones go out as they are (deflate saves little on them).
    bool compression = false;
    std::size_t compression_min_size = 128;

    std::string log_level = "info";
    // Log lines as text for people, or as JSON objects (one a line: time, level, msg) for log
    // collectors, which then need no pattern to split a line.
    enum class log_format_kind { text, json };
    log_format_kind log_format = log_format_kind::text;

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

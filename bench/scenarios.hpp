#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace wsbench {

struct CommonConfig {
    std::string host = "127.0.0.1";
    uint16_t port = 23333;
    std::string path = "/im";
    double duration = 10;
    int pid = 0; // server process for CPU and RSS readings; 0 = none
    std::string json_file;
    double warmup = 1;
    double drain = 2;
    double connect_timeout = 60;
    int concurrency = 256; // connections in flight while connecting
    int sources = 1;       // source addresses 127.0.0.2 .. 127.0.0.(1+sources); 1 = let the kernel pick
    bool progress = true;
    bool busy_poll = false;      // spin on epoll instead of sleeping (fanout/slow)
    uint16_t publish_port = 0;   // fanout/slow: the publisher connects here (another node); 0 = port
    std::vector<int> watch_pids; // fanout/slow: other processes whose CPU is reported (Redis, other nodes)
    bool deflate = false;        // offer permessage-deflate; compressed messages are inflated (their header)
};

// fanout: S subscribers + 1 publisher. rate == 0 keeps `window` messages outstanding (max rate);
// rate > 0 publishes at that fixed rate. stuck adds one subscriber that never reads (slow mode).
struct FanoutConfig {
    CommonConfig common;
    uint32_t subscribers = 100;
    uint32_t size = 64;
    uint32_t window = 64;
    double rate = 0;
    bool json = false; // the padding after the 32-byte header is JSON text instead of a-z repeated
    bool stuck = false;
    int stuck_rcvbuf = 4096;
};

struct IdleConfig {
    CommonConfig common;
    uint32_t connections = 1000;
    int rounds = 3;
    double reach_timeout = 10;
};

// publish: messages go in through wshub's publish API (POST /api/publish, keep-alive HTTP with
// requests pipelined) and come out on WebSocket receivers. Every combination of the idle, route
// and batch lists is one phase over the same receivers, so that the rows of one run compare.
struct PublishConfig {
    CommonConfig common;
    uint32_t receivers = 10; // WebSocket connections, each its own user, all subscribed to `channel`
    uint32_t size = 64;      // payload bytes per message
    uint32_t http_connections = 4;
    uint32_t depth = 8;                     // requests in flight per HTTP connection
    std::vector<uint32_t> batches{1};       // messages per request (1: one object; more: an array)
    std::vector<std::string> routes{"all"}; // all (no target), channel, user (user_ids: the receivers)
    std::vector<uint32_t> idle{0};          // idle connections beside the receivers, ascending
    std::string channel = "bench";
    std::string api_token;
    int rounds = 1; // each (route, batch) phase this many times, interleaved
};

struct Result {
    boost::json::object json;
    std::string table;
    int exit_code = 0; // 1: the connections could not all be opened
};

Result run_fanout(const FanoutConfig& cfg);
Result run_idle(const IdleConfig& cfg);
Result run_publish(const PublishConfig& cfg);

// Upper bound on a run's wall time, after which the tool exits whatever it is doing.
double hard_deadline_seconds(const FanoutConfig& cfg);
double hard_deadline_seconds(const IdleConfig& cfg);
double hard_deadline_seconds(const PublishConfig& cfg);

} // namespace wsbench

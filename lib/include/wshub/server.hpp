// The wshub server: shards (one io_context and thread each), the hub with its sender, the
// listener, and the shutdown sequence, all stopped through one stop signal.
#pragma once

#include "wshub/config.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace wshub {

class server {
  public:
    // Binds and listens right away; throws std::system_error if the address cannot be used.
    explicit server(config cfg);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // The port actually bound (useful with port 0).
    std::uint16_t port() const;

    // Serves until stopped: the calling thread runs the first shard, and threads - 1 more are
    // started. With `handle_signals`, SIGINT and SIGTERM request the stop. Returns after the
    // shutdown sequence: stop accepting, deliver what the inbox holds, close every client with
    // 1001 after its queue, wait up to drain_timeout, then close what is left.
    void run(bool handle_signals = true);

    // Requests the stop. Thread safety: any thread, any number of times.
    void request_stop();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace wshub

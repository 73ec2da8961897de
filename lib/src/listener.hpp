// The accept loop: each new connection goes to the next shard in turn and is served there.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <vector>

namespace wshub {

class shard;

// Runs on the acceptor's executor until cancelled (the server's task group stops it; any
// cancellation type ends it) or the acceptor is closed.
boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor,
                                         const std::vector<std::unique_ptr<shard>>& shards);

} // namespace wshub

// The accept loop: each new connection goes to the next shard in turn and is served there.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <vector>

namespace wshub {

class shard;

// Hands each accepted connection to serve_http() on the next shard.
// Acceptor's thread; cancellation: any type ends it, as does closing the acceptor.
boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor,
                                         const std::vector<std::unique_ptr<shard>>& shards);

} // namespace wshub

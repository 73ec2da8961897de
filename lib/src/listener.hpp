// The accept loop: each new connection goes to the next shard in turn and is served there.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <stop_token>
#include <vector>

namespace wshub {

class shard;

// Runs on the acceptor's executor until `stop` is requested (which closes the acceptor).
boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor,
                                         const std::vector<std::unique_ptr<shard>>& shards,
                                         std::stop_token stop);

} // namespace wshub

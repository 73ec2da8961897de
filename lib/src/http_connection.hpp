// A freshly accepted connection: HTTP requests (/ping, errors) until one is a WebSocket upgrade
// to /im, which becomes a session on the same shard.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace wshub {

class shard;

// Runs on the shard's thread until the connection ends.
boost::asio::awaitable<void> serve_http(shard& owner, boost::asio::ip::tcp::socket socket);

} // namespace wshub

// A freshly accepted connection: HTTP requests (/ping, errors) until one is a WebSocket upgrade
// to /im, which becomes a session on the same shard.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace wshub {

class shard;

// Answers requests until the connection ends or becomes a session.
// Shard thread; cancellation: none (timeouts end it; stopping the shard's io_context drops it).
boost::asio::awaitable<void> serve_http(shard& owner, boost::asio::ip::tcp::socket socket);

} // namespace wshub

// The publish API's work once a call is admitted: publish through the hub's inbox (the same
// ordered stream as the clients' messages), close a user's connections, or count who is here.
#pragma once

#include "server_state.hpp"
#include "wshub/http_routes.hpp"

#include <boost/asio/awaitable.hpp>
#include <string>

namespace wshub {

// Answers one call whose caller has been checked, with its body if it has one; the reply is JSON.
// Thread: the connection's shard; the hub's work runs on the sender's and shards' threads.
// Per-operation cancellation: none (a publish, once in the inbox, is delivered).
boost::asio::awaitable<http_reply> answer_api_call(server_state& state, const api_call& call,
                                                   std::string body);

} // namespace wshub

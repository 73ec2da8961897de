// A WebSocket client receives broadcasts once its session is registered with its shard, which the
// server logs as "connect user_id=ID remote=...". The 101 response can reach the client a moment
// before that, so a test that needs a new client to get the very next broadcast waits for the line.
#pragma once

#include "wshub_process.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>

namespace wshub_test {

inline void wait_until_registered(wshub_process& server, std::string_view user_id) {
    // The leading space keeps "disconnect" lines out.
    const std::string needle = " connect user_id=" + std::string(user_id) + " remote=";
    BOOST_REQUIRE_MESSAGE(server.wait_for_log(needle).has_value(),
                          "the server did not log the session of user_id=" << user_id);
}

} // namespace wshub_test

// What flows through the hub's inbox to the sender: today the messages clients send.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wshub {

enum class payload_kind : std::uint8_t { text, binary };

// Who a message is for: every client, the clients of some users, or one channel's subscribers.
// Clients' own messages go to everyone, the only target the shards deliver to so far.
enum class target_kind : std::uint8_t { all, users, channel };

struct message_target {
    target_kind kind = target_kind::all;
    std::vector<std::string> names; // user ids or one channel name; empty for `all`
};

// Where the sender reports the numbers it gives one client's messages, so that the client's
// session can tell when its own messages have come back to it through the hub.
struct publish_receipt {
    std::atomic<std::uint64_t> numbered{0}; // how many of the client's messages the sender numbered
    std::atomic<std::uint64_t> last_seq{0}; // the seq of the last of them
};

struct message {
    payload_kind kind = payload_kind::text;
    std::string payload;
    message_target target;
    std::uint64_t seq = 0;                    // assigned by the sender, in the order the hub took messages in
    std::shared_ptr<publish_receipt> receipt; // if set, the sender reports `seq` there
};

} // namespace wshub

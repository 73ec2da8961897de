// What flows from the readers and the publish API through the inbox to the sender.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wshub {

enum class payload_kind : std::uint8_t { text, binary };

// Who a message is for: every client when it names no users and no channel (clients' own
// messages, as in the seed); every connection of the named users; every connection subscribed
// to the channel; or, naming both, those users' connections subscribed to the channel.
// A message with a channel is numbered in that channel's stream, any other in the all-clients
// stream.
struct message_target {
    std::vector<std::string> user_ids;
    std::string channel;
    bool everyone() const noexcept { return user_ids.empty() && channel.empty(); }
};

// Where the sender reports the numbers it gives one client's messages, so that the client's
// session can tell when its own messages have come back to it through the hub.
struct publish_receipt {
    std::atomic<std::uint64_t> numbered{0};   // how many of the client's messages the sender numbered
    std::atomic<std::uint64_t> last_order{0}; // the order of the last of them
};

struct publish_outcome; // publish_outcome.hpp

struct message {
    payload_kind kind = payload_kind::text;
    std::string payload;
    message_target target;
    // Both assigned by the sender: `order` numbers every message in the order the hub took them
    // in; `seq` numbers it in its stream (its channel's, or the all-clients stream's), as the
    // publish API and the envelope show it.
    std::uint64_t order = 0;
    std::uint64_t seq = 0;
    // When the hub took it in (the start of its fan-out latency).
    std::chrono::steady_clock::time_point accepted{};
    std::shared_ptr<publish_receipt> receipt{}; // if set, the sender reports `seq` there
    // If set (a publish API call), the sender reports the seq and the connections reached there,
    // as result `outcome_index`.
    std::shared_ptr<publish_outcome> outcome{};
    std::size_t outcome_index = 0;
};

} // namespace wshub

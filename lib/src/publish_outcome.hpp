// What a publish API call waits for: each of its messages' seq and how many connections it was
// queued to, reported by the sender once every shard has taken the message.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <cstdint>
#include <vector>

namespace wshub {

struct publish_outcome {
    struct result {
        std::uint64_t seq = 0;
        std::size_t delivered = 0;
    };

    publish_outcome(const boost::asio::any_io_executor& caller, std::size_t messages)
        : results(messages)
        , remaining(messages)
        , done(caller, 1) {}

    // Sender thread: message `i` was handed out. The last report wakes the caller, which reads
    // `results` only after that (the channel orders the writes before its wake-up).
    void report(std::size_t i, result r) {
        results[i] = r;
        if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1)
            done.try_send(boost::system::error_code{});
    }

    std::vector<result> results;
    std::atomic<std::size_t> remaining;
    boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

} // namespace wshub

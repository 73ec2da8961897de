// Many clients sending at once through a two-thread server: each message reaches everyone exactly
// once, each sender's messages stay in order, and every client sees the same global order.
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;

namespace {

constexpr int client_count = 50;
constexpr int messages_each = 20;
constexpr int total_messages = client_count * messages_each;

asio::awaitable<void> send_all(ws_client& c, int sender) {
    for (int i = 0; i < messages_each; ++i)
        co_await c.async_send(std::to_string(sender) + ":" + std::to_string(i), true);
}

asio::awaitable<void> receive_all(ws_client& c, std::vector<std::string>& into) {
    while (into.size() < static_cast<std::size_t>(total_messages)) {
        auto m = co_await c.async_read();
        if (!m.is_text) throw std::runtime_error("a text message arrived as binary");
        into.push_back(std::move(m.payload));
    }
}

// Empty if `seen` holds every sender's messages exactly once and in order; else what is wrong.
std::string check_per_sender_order(const std::vector<std::string>& seen) {
    std::vector<int> next(client_count, 0);
    for (const auto& p : seen) {
        const auto colon = p.find(':');
        if (colon == std::string::npos) return "malformed payload '" + p + "'";
        const int sender = std::stoi(p.substr(0, colon));
        const int index = std::stoi(p.substr(colon + 1));
        if (sender < 0 || sender >= client_count) return "unknown sender in '" + p + "'";
        if (index != next[sender])
            return "got '" + p + "' where " + std::to_string(sender) + ":" + std::to_string(next[sender]) +
                   " was due (duplicate, loss or reordering)";
        ++next[sender];
    }
    for (int s = 0; s < client_count; ++s)
        if (next[s] != messages_each)
            return "only " + std::to_string(next[s]) + " messages from sender " + std::to_string(s);
    return {};
}

// For each client that got fewer than all messages: which ones it lacks, and where they are in the
// order a complete client saw (a client that missed the first ones joined the hub too late).
std::string describe_shortfall(const std::vector<std::vector<std::string>>& received) {
    const auto complete = std::find_if(received.begin(), received.end(), [](const auto& r) {
        return r.size() == static_cast<std::size_t>(total_messages);
    });
    std::string out;
    for (std::size_t i = 0; i < received.size(); ++i) {
        if (received[i].size() == static_cast<std::size_t>(total_messages)) continue;
        out += "\n  u" + std::to_string(i) + " got " + std::to_string(received[i].size());
        if (complete == received.end()) continue;
        const std::set<std::string> got(received[i].begin(), received[i].end());
        int shown = 0;
        for (std::size_t pos = 0; pos < complete->size() && shown < 5; ++pos)
            if (!got.count((*complete)[pos])) {
                out +=
                    ", lacks '" + (*complete)[pos] + "' (#" + std::to_string(pos) + " of the global order)";
                ++shown;
            }
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(concurrent_broadcast)

BOOST_FIXTURE_TEST_CASE(fifty_senders_everyone_gets_everything_once_in_one_order, two_thread_server) {
    std::vector<std::unique_ptr<ws_client>> clients;
    for (int i = 0; i < client_count; ++i) {
        clients.push_back(std::make_unique<ws_client>(io));
        clients.back()->connect(port(), "/im?user_id=u" + std::to_string(i));
    }

    std::vector<std::vector<std::string>> received(client_count);
    std::vector<asio::awaitable<void>> ops;
    for (int i = 0; i < client_count; ++i) {
        ops.push_back(receive_all(*clients[i], received[i]));
        ops.push_back(send_all(*clients[i], i));
    }
    auto progress = [&] {
        std::size_t n = 0;
        for (const auto& r : received)
            n += r.size();
        return n;
    };
    io.run_all(
        std::move(ops), "50 clients exchanging 1000 messages", std::chrono::seconds(60),
        [&] {
            BOOST_ERROR("clients short of " << total_messages
                                            << " messages:" << describe_shortfall(received));
            for (auto& c : clients)
                c->drop();
        },
        progress);

    for (int i = 0; i < client_count; ++i) {
        BOOST_TEST_CONTEXT("client " << i) {
            BOOST_TEST(received[i].size() == static_cast<std::size_t>(total_messages));
            const auto problem = check_per_sender_order(received[i]);
            BOOST_TEST(problem.empty(), problem);
            // The same global order for everyone (compared as a whole to keep the log short).
            BOOST_TEST((received[i] == received[0]), "client " << i << " saw another order than client 0");
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

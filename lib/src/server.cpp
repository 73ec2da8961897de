#include "wshub/server.hpp"

#include "bus.hpp"
#include "hub.hpp"
#include "listener.hpp"
#include "log_exception.hpp"
#include "server_state.hpp"
#include "shard.hpp"
#include "task_group.hpp"
#include "wshub/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <fmt/format.h>
#include <random>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace asio = boost::asio;
using boost::system::error_code;

namespace wshub {

struct server::impl {
    explicit impl(config cfg)
        : state(std::move(cfg))
        , shards(make_shards(state))
        , message_hub(main_context(), state.cfg.inbox_capacity, state.cfg.inbox_bytes, shards, make_bus()) {
        state.message_hub = &message_hub;
        asio::ip::tcp::endpoint ep(asio::ip::make_address(state.cfg.address), state.cfg.port);
        error_code ec;
        acceptor.open(ep.protocol(), ec);
        if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor.bind(ep, ec);
        if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
        // What an operator can act on ("Address already in use"), without Asio's source location.
        if (ec)
            throw std::runtime_error(fmt::format("cannot listen on {}: {}", endpoint_text(ep), ec.message()));
    }

    static std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
        return ep.address().is_v6() ? fmt::format("[{}]:{}", ep.address().to_string(), ep.port())
                                    : fmt::format("{}:{}", ep.address().to_string(), ep.port());
    }

    static std::vector<std::unique_ptr<shard>> make_shards(server_state& state) {
        std::vector<std::unique_ptr<shard>> v;
        for (unsigned i = 0; i < state.cfg.threads; ++i)
            v.push_back(std::make_unique<shard>(i, state));
        return v;
    }

    asio::io_context& main_context() { return shards.front()->context(); }

    // With --redis, the bus between the nodes, on the sender's thread.
    std::unique_ptr<bus> make_bus() {
        if (state.cfg.redis.empty()) return nullptr;
        auto endpoint = std::get<redis_endpoint>(parse_redis_url(state.cfg.redis));
        std::random_device random;
        const auto node = fmt::format("{:08x}", random());
        spdlog::info("bus: node {} uses Redis at {}", node, endpoint.describe());
        return std::make_unique<bus>(main_context().get_executor(), std::move(endpoint), node,
                                     state.cfg.history_size, state.cfg.history_bytes, state.cfg.history_ttl);
    }

    // Waits for the stop request, then stops the two task groups with one deadline:
    // first what brings messages in (accepting stops, readers stop publishing, the inbox is
    // delivered), then the clients (1001 after each queue). A group still running at the
    // deadline is stopped by force, and after a last short grace the I/O threads stop whatever
    // remains. Main thread; cancellation: none.
    asio::awaitable<void> shutdown_sequence() {
        co_await stop_requested.wait();
        const auto deadline = std::chrono::steady_clock::now() + state.cfg.drain_timeout;
        spdlog::info("shutting down: {} clients, drain timeout {} ms", state.counters.sessions.load(),
                     state.cfg.drain_timeout.count());
        state.draining.store(true); // upgrades from now on get 503

        for (auto* group : {&producers, &clients}) {
            group->emit(asio::cancellation_type::total);
            bool ended = co_await group->wait_until(deadline);
            if (!ended) {
                spdlog::warn("drain timeout: closing {} remaining clients", state.counters.sessions.load());
                group->emit(asio::cancellation_type::terminal);
                ended = co_await group->wait_until(std::chrono::steady_clock::now() + forced_grace);
            }
            if (!ended) spdlog::warn("still running {} ms after the forced stop", forced_grace.count());
            error_code ignored;
            acceptor.close(ignored); // connections still in the backlog are refused, not left waiting
        }
        // Connections still in their HTTP phase are dropped with the io_contexts.
        for (auto& s : shards)
            s->context().stop();
    }

    // The first SIGINT/SIGTERM starts the shutdown; a second one ends the process at once.
    // SIGHUP reads the secret files again.
    // Main thread; cancellation: ends when the signal set is cancelled or destroyed.
    asio::awaitable<void> watch_signals() {
        for (bool stopping = false;;) {
            auto [ec, signo] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            if (signo == SIGHUP) {
                reload_credentials();
            } else if (!stopping) {
                spdlog::info("received signal {}", signo);
                stop_requested.set();
                stopping = true;
            } else {
                spdlog::warn("second signal {}: exiting now", signo);
                drain_log(std::chrono::milliseconds(500)); // the writer thread has the line
                std::_Exit(128 + signo);
            }
        }
    }

    // New connections are checked against what the files say now; a file that cannot be read
    // or holds an unfit key leaves the credentials as they were.
    void reload_credentials() {
        const auto& c = state.cfg;
        if (c.api_token_file.empty() && c.jwt_secret_file.empty() && c.jwt_public_key_path.empty()) {
            spdlog::info(
                "received SIGHUP: no --api-token-file, --jwt-secret-file or --jwt-public-key to read");
            return;
        }
        try {
            state.reload_credentials();
            spdlog::info("received SIGHUP: read the secret files again");
        } catch (const std::exception& e) {
            spdlog::error("received SIGHUP: {}; the secrets in force stay", e.what());
        }
    }

    // Forced closes only close sockets: what they leave to do takes moments.
    static constexpr std::chrono::milliseconds forced_grace{1000};

    server_state state;
    std::vector<std::unique_ptr<shard>> shards;
    hub message_hub; // the inbox and the sender
    asio::ip::tcp::acceptor acceptor{main_context()};
    asio::signal_set signals{main_context()};
    event stop_requested{main_context().get_executor()};
    task_group producers{main_context()}; // the listener and the sender
    task_group clients{main_context()};   // one task per shard
};

namespace {

// Runs `ctx` until it is stopped. An exception that escapes a handler ends that handler's work
// (a coroutine's own handlers already log and close their connection), not the thread.
void run_io_thread(asio::io_context& ctx) {
    for (;;) {
        try {
            ctx.run();
            return;
        } catch (const std::exception& e) {
            spdlog::error("handler failed on an I/O thread: {}", e.what());
        } catch (...) {
            spdlog::error("handler failed on an I/O thread with an unknown exception");
        }
    }
}

} // namespace

server::server(config cfg)
    : impl_(std::make_unique<impl>(std::move(cfg))) {}

server::~server() = default;

std::uint16_t server::port() const {
    return impl_->acceptor.local_endpoint().port();
}

void server::request_stop() {
    impl_->stop_requested.set();
}

void server::run(bool handle_signals) {
    auto& m = *impl_;
    auto& main = m.main_context();

    m.producers.spawn(main, accept_loop(m.acceptor, m.shards), "listener");
    m.producers.spawn(main, m.message_hub.run_sender(), "sender");
    for (auto& s : m.shards)
        m.clients.spawn(s->context(), s->run(), "shard");
    asio::co_spawn(main, m.shutdown_sequence(), log_exception("shutdown"));
    if (handle_signals) {
        m.signals.add(SIGINT);
        m.signals.add(SIGTERM);
        m.signals.add(SIGHUP);
        asio::co_spawn(main, m.watch_signals(), log_exception("signals"));
    }

    // The other shards idle between connections; keep their loops alive until the sequence ends.
    std::vector<std::thread> threads;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    for (std::size_t i = 1; i < m.shards.size(); ++i) {
        auto& ctx = m.shards[i]->context();
        guards.push_back(asio::make_work_guard(ctx));
        threads.emplace_back([&ctx] { run_io_thread(ctx); });
    }
    spdlog::info("wshub listening on {} with {} threads", impl::endpoint_text(m.acceptor.local_endpoint()),
                 m.shards.size());
    run_io_thread(main);
    for (auto& s : m.shards)
        s->context().stop();
    for (auto& t : threads)
        t.join();
    spdlog::info("wshub stopped");
}

} // namespace wshub

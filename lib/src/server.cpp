#include "wshub/server.hpp"

#include "hub.hpp"
#include "listener.hpp"
#include "log_exception.hpp"
#include "server_state.hpp"
#include "shard.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <stop_token>
#include <thread>

namespace asio = boost::asio;
using boost::system::error_code;

namespace wshub {

struct server::impl {
    explicit impl(config cfg)
        : state(std::move(cfg))
        , shards(make_shards(state))
        , the_hub(main_context(), state.cfg.inbox_capacity, shards) {
        state.the_hub = &the_hub;
        state.on_all_sessions_closed = [this] {
            asio::post(main_context(), [this] { all_closed.cancel(); });
        };

        asio::ip::tcp::endpoint ep(asio::ip::make_address(state.cfg.address), state.cfg.port);
        acceptor.open(ep.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen(asio::socket_base::max_listen_connections);
    }

    static std::vector<std::unique_ptr<shard>> make_shards(server_state& state) {
        std::vector<std::unique_ptr<shard>> v;
        for (unsigned i = 0; i < state.cfg.threads; ++i)
            v.push_back(std::make_unique<shard>(i, state));
        return v;
    }

    asio::io_context& main_context() { return shards.front()->context(); }

    // Waits for the stop request, then closes everything in order.
    asio::awaitable<void> shutdown_sequence() {
        co_await stop_requested.async_wait(asio::as_tuple(asio::use_awaitable));
        spdlog::info("shutting down: {} clients, drain timeout {} ms", state.counters.sessions.load(),
                     state.cfg.drain_timeout.count());
        signals.cancel();
        stop.request_stop(); // the listener stops accepting; the sender empties the inbox and ends
        if (!sender_finished) co_await sender_done.async_wait(asio::as_tuple(asio::use_awaitable));

        for (auto& s : shards)
            asio::post(s->context(),
                       [&s] { s->close_all(close_status::going_away, "server shutting down"); });
        if (!co_await wait_for_sessions(state.cfg.drain_timeout)) {
            spdlog::warn("drain timeout: closing {} remaining clients", state.counters.sessions.load());
            for (auto& s : shards)
                asio::post(s->context(), [&s] { s->force_close_all(); });
            co_await wait_for_sessions(std::chrono::seconds(1));
        }
        // Connections still in their HTTP phase are dropped with the io_contexts.
        for (auto& s : shards)
            s->context().stop();
    }

    // True once no session is open, false if `limit` passed first.
    asio::awaitable<bool> wait_for_sessions(std::chrono::milliseconds limit) {
        // The count and the wake-up are both handled on this thread, so no wake-up is lost
        // between the check and the wait.
        if (state.counters.sessions.load() == 0) co_return true;
        all_closed.expires_after(limit);
        co_await all_closed.async_wait(asio::as_tuple(asio::use_awaitable)); // expiry or wake-up: look again
        co_return state.counters.sessions.load() == 0;
    }

    server_state state;
    std::vector<std::unique_ptr<shard>> shards;
    hub the_hub;
    asio::ip::tcp::acceptor acceptor{main_context()};
    asio::signal_set signals{main_context()};
    asio::steady_timer stop_requested{main_context(), asio::steady_timer::time_point::max()};
    asio::steady_timer sender_done{main_context(), asio::steady_timer::time_point::max()};
    asio::steady_timer all_closed{main_context()};
    bool sender_finished = false;
    std::stop_source stop; // the one stop signal: listener and sender watch it
};

server::server(config cfg)
    : impl_(std::make_unique<impl>(std::move(cfg))) {}

server::~server() = default;

std::uint16_t server::port() const {
    return impl_->acceptor.local_endpoint().port();
}

void server::request_stop() {
    asio::post(impl_->main_context(), [this] { impl_->stop_requested.cancel(); });
}

server_stats server::stats() const {
    const auto& c = impl_->state.counters;
    return {c.sessions.load(), c.sessions_total.load(), c.messages_in.load(), c.overflow_closes.load()};
}

void server::run(bool handle_signals) {
    auto& m = *impl_;
    auto& main = m.main_context();

    asio::co_spawn(main, m.the_hub.run_sender(m.stop.get_token()), [&m](std::exception_ptr e) {
        log_exception{"sender"}(e);
        m.sender_finished = true;
        m.sender_done.cancel();
    });
    asio::co_spawn(main, accept_loop(m.acceptor, m.shards, m.stop.get_token()), log_exception("listener"));
    asio::co_spawn(main, m.shutdown_sequence(), log_exception("shutdown"));
    for (auto& s : m.shards)
        asio::co_spawn(s->context(), s->keepalive_loop(m.stop.get_token()), log_exception("keepalive"));
    if (handle_signals) {
        m.signals.add(SIGINT);
        m.signals.add(SIGTERM);
        m.signals.async_wait([this](error_code ec, int signo) {
            if (ec) return;
            spdlog::info("received signal {}", signo);
            request_stop();
        });
    }

    // The other shards idle between connections; keep their loops alive until the sequence ends.
    std::vector<std::thread> threads;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    for (std::size_t i = 1; i < m.shards.size(); ++i) {
        auto& ctx = m.shards[i]->context();
        guards.push_back(asio::make_work_guard(ctx));
        threads.emplace_back([&ctx] { ctx.run(); });
    }
    spdlog::info("wshub listening on {}:{} with {} threads", m.state.cfg.address, port(), m.shards.size());
    main.run();
    for (auto& s : m.shards)
        s->context().stop();
    for (auto& t : threads)
        t.join();
    spdlog::info("wshub stopped");
}

} // namespace wshub

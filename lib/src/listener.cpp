#include "listener.hpp"

#include "http_connection.hpp"
#include "log_exception.hpp"
#include "shard.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;

namespace wshub {

namespace {

// Out of descriptors or memory: accepting again at once would spin, so back off a little.
bool is_resource_exhaustion(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
           ec == asio::error::no_memory || ec.value() == ENFILE;
}

} // namespace

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor,
                                  const std::vector<std::unique_ptr<shard>>& shards) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer backoff(ex);
    // Out of descriptors (or memory), accepting again at once would fail again at once: wait,
    // first_backoff doubling up to max_backoff, until an accept succeeds. Zero while accepting.
    constexpr std::chrono::milliseconds first_backoff{10}, max_backoff{1000};
    std::chrono::milliseconds delay{0};
    for (std::size_t next = 0;
         (co_await asio::this_coro::cancellation_state).cancelled() == asio::cancellation_type::none;) {
        shard& target = *shards[next % shards.size()];
        auto [ec, socket] =
            co_await acceptor.async_accept(target.context(), asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (!acceptor.is_open() || ec == asio::error::operation_aborted) break;
            if (!is_resource_exhaustion(ec)) {
                spdlog::warn("accept failed: {}", ec.message());
                continue;
            }
            if (delay.count() == 0) {
                // Logged once per episode, not once per attempt.
                spdlog::warn("accept failed: {}; retrying every {} to {} ms until a connection is accepted",
                             ec.message(), first_backoff.count(), max_backoff.count());
                delay = first_backoff;
            } else {
                delay = std::min(delay * 2, max_backoff);
            }
            backoff.expires_after(delay);
            co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        if (delay.count() != 0) {
            spdlog::info("accepting connections again");
            delay = std::chrono::milliseconds(0);
        }
        ++next;
        asio::co_spawn(target.context(), serve_http(target, std::move(socket)), log_exception("connection"));
    }
}

} // namespace wshub

#include "wshub/inbox.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

namespace asio = boost::asio;

namespace wshub {

// One publisher waiting for bytes: the sender (or whoever frees the bytes) reserves them for it,
// marks it granted and signals; a failed or cancelled wait is signalled with an error instead.
struct inbox::waiter {
    using signal_type = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

    waiter(const asio::any_io_executor& ex, std::size_t n)
        : signal(ex, 1) // room for the one signal, so it is kept until the waiter listens
        , bytes(n) {}

    signal_type signal;
    const std::size_t bytes;
    bool granted = false; // under the inbox's mutex
};

namespace {

using waiter_list = std::vector<std::shared_ptr<inbox::waiter>>;

void signal_all(const waiter_list& ws, boost::system::error_code ec) {
    for (const auto& w : ws)
        w->signal.try_send(ec);
}

} // namespace

inbox::inbox(asio::io_context& receiver_context, std::size_t max_messages, std::size_t max_bytes)
    : channel_(receiver_context, max_messages)
    , max_bytes_(max_bytes) {}

asio::awaitable<bool> inbox::send(message m) {
    const std::size_t n = m.payload.size();
    bool reserved = false;
    {
        // Most of the time the bytes fit and nobody is waiting: no suspension.
        std::lock_guard lock(mutex_);
        if (closed_) co_return false;
        if (waiters_.empty() && fits(n)) {
            bytes_ += n;
            reserved = true;
        }
    }
    if (!reserved && !co_await reserve(n)) co_return false;

    // try_send moves from m only when it succeeds, so m is still whole on the slow path below.
    if (channel_.try_send(boost::system::error_code{}, std::move(m))) co_return true;
    if (channel_.is_open()) {
        // NOLINTNEXTLINE(bugprone-use-after-move): see above
        auto [ec] = co_await channel_.async_send(boost::system::error_code{}, std::move(m),
                                                 asio::as_tuple(asio::use_awaitable));
        if (!ec) co_return true;
    }
    release(n);
    co_return false;
}

asio::awaitable<bool> inbox::reserve(std::size_t n) {
    auto w = std::make_shared<waiter>(co_await asio::this_coro::executor, n);
    {
        std::lock_guard lock(mutex_);
        if (closed_) co_return false;
        // Checked again under the lock: the bytes may have been given back since send() looked.
        if (waiters_.empty() && fits(n)) {
            bytes_ += n;
            co_return true;
        }
        waiters_.push_back(w);
    }
    auto [ec] = co_await w->signal.async_receive(asio::as_tuple(asio::use_awaitable));
    if (!ec) co_return true; // the bytes were reserved for this waiter before the signal

    // Failed by cancel()/close(), or cancelled by the caller, perhaps just as the bytes came.
    bool granted = false;
    waiter_list now_fit;
    {
        std::lock_guard lock(mutex_);
        granted = w->granted;
        if (!granted) {
            std::erase(waiters_, w);
            // A large waiter leaving the front may let smaller ones behind it in.
            now_fit = grant_locked();
        }
    }
    if (granted) release(n);
    signal_all(now_fit, {});
    co_return false;
}

std::vector<std::shared_ptr<inbox::waiter>> inbox::grant_locked() {
    waiter_list ready;
    while (!waiters_.empty() && fits(waiters_.front()->bytes)) {
        auto w = std::move(waiters_.front());
        waiters_.pop_front();
        bytes_ += w->bytes;
        w->granted = true;
        ready.push_back(std::move(w));
    }
    return ready;
}

void inbox::release(std::size_t n) {
    waiter_list ready;
    {
        std::lock_guard lock(mutex_);
        bytes_ -= n;
        ready = grant_locked();
    }
    signal_all(ready, {});
}

asio::awaitable<std::tuple<boost::system::error_code, message>> inbox::receive() {
    auto [ec, m] = co_await channel_.async_receive(asio::as_tuple(asio::use_awaitable));
    if (!ec) release(m.payload.size());
    co_return std::tuple{ec, std::move(m)};
}

void inbox::fail_waiters(bool close) {
    waiter_list failed;
    {
        std::lock_guard lock(mutex_);
        if (close) closed_ = true;
        failed.assign(std::make_move_iterator(waiters_.begin()), std::make_move_iterator(waiters_.end()));
        waiters_.clear();
    }
    signal_all(failed, asio::error::operation_aborted);
}

void inbox::cancel() {
    fail_waiters(false);
    channel_.cancel();
}

void inbox::close() {
    fail_waiters(true);
    channel_.close();
}

std::size_t inbox::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

} // namespace wshub

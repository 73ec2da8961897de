#include "redis_connection.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace asio = boost::asio;

namespace wshub {

redis_connection::redis_connection(const asio::any_io_executor& ex)
    : stream_(ex) {}

asio::awaitable<void> redis_connection::connect(const redis_endpoint& ep, std::chrono::milliseconds timeout) {
    asio::ip::tcp::resolver resolver(stream_.get_executor());
    const auto port = std::to_string(ep.port);
    const auto endpoints = co_await resolver.async_resolve(ep.host, port, asio::use_awaitable);
    stream_.expires_after(timeout);
    co_await stream_.async_connect(endpoints, asio::use_awaitable);
    stream_.socket().set_option(asio::ip::tcp::no_delay(true));
    std::string commands;
    std::size_t count = 0;
    if (!ep.password.empty()) {
        if (ep.user.empty())
            redis_protocol::append_command(commands, {"AUTH", ep.password});
        else
            redis_protocol::append_command(commands, {"AUTH", ep.user, ep.password});
        ++count;
    }
    const auto db = std::to_string(ep.db);
    if (ep.db != 0) {
        redis_protocol::append_command(commands, {"SELECT", db});
        ++count;
    }
    if (count == 0) co_return;
    const auto replies = co_await execute(commands, count, timeout);
    for (const auto& r : replies)
        if (r.is_error()) throw redis_error(fmt::format("Redis refused the connection's setup: {}", r.text));
}

asio::awaitable<std::vector<redis_reply>>
redis_connection::execute(std::string_view commands, std::size_t count, std::chrono::milliseconds timeout) {
    stream_.expires_after(timeout);
    co_await asio::async_write(stream_, asio::buffer(commands), asio::use_awaitable);
    std::vector<redis_reply> replies;
    replies.reserve(count);
    while (replies.size() < count)
        replies.push_back(co_await read_reply());
    stream_.expires_never();
    co_return replies;
}

asio::awaitable<redis_reply> redis_connection::next_reply() {
    stream_.expires_never();
    co_return co_await read_reply();
}

asio::awaitable<redis_reply> redis_connection::read_reply() {
    for (;;) {
        if (auto reply = protocol_.next()) co_return std::move(*reply);
        auto space = buffer_.prepare(std::size_t{64} * 1024);
        const std::size_t n = co_await stream_.async_read_some(space, asio::use_awaitable);
        buffer_.commit(n);
        const auto data = buffer_.cdata();
        protocol_.feed(std::string_view(static_cast<const char*>(data.data()), data.size()));
        buffer_.consume(buffer_.size());
    }
}

void redis_connection::close() noexcept {
    boost::system::error_code ignored;
    stream_.socket().close(ignored);
}

} // namespace wshub

#include "raw_connection.hpp"

#include "client_wire.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace asio = boost::asio;
using boost::system::error_code;

namespace wshub_test {

namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

[[noreturn]] void throw_error(const error_code& ec, const std::string& what) {
    throw boost::system::system_error(ec, what);
}

bool is_cancelled(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& ex) {
        return ex.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

} // namespace

std::string raw_http_response::field(std::string_view name) const {
    std::string_view rest(header);
    rest.remove_prefix(std::min(rest.size(), rest.find("\r\n") + 2)); // the status line
    while (!rest.empty()) {
        const auto eol = rest.find("\r\n");
        const auto line = rest.substr(0, eol);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && iequals(trim(line.substr(0, colon)), name))
            return std::string(trim(line.substr(colon + 1)));
        if (eol == std::string_view::npos) break;
        rest.remove_prefix(eol + 2);
    }
    return {};
}

std::string upgrade_request(std::uint16_t port, std::string_view target, std::string_view origin,
                            const header_list& extra) {
    std::string fields;
    for (const auto& [name, value] : extra)
        fields += name + ": " + value + "\r\n";
    // The key from RFC 6455's example; a test that needs the accept value knows it from there.
    return client_wire::upgrade_request("127.0.0.1:" + std::to_string(port), target,
                                        "dGhlIHNhbXBsZSBub25jZQ==", origin, fields);
}

std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin, bool masked,
                         std::uint8_t rsv) {
    // A fixed key is as good as a random one here: the server must unmask whatever it is.
    static constexpr std::array<std::uint8_t, 4> key = {0x37, 0xFA, 0x21, 0x3D};
    std::uint32_t mask;
    std::memcpy(&mask, key.data(), key.size());
    const auto first_byte =
        static_cast<std::uint8_t>((fin ? client_wire::fin_bit : 0) | ((rsv & 0x07) << 4) | (opcode & 0x0F));
    std::string f(client_wire::max_header_size, '\0');
    auto* header = reinterpret_cast<std::uint8_t*>(f.data());
    f.resize(client_wire::put_header(header, first_byte, payload.size(), masked, mask));
    const std::size_t header_size = f.size();
    f.append(payload);
    if (masked)
        client_wire::mask_payload(reinterpret_cast<std::uint8_t*>(f.data() + header_size), payload.size(),
                                  mask);
    return f;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xFF));
    return p.append(reason);
}

raw_connection::raw_connection(test_io& io, std::chrono::milliseconds timeout)
    : io_(io)
    , timeout_(timeout)
    , socket_(io.context()) {}

raw_connection::~raw_connection() {
    close();
}

void raw_connection::close() {
    error_code ignored;
    socket_.close(ignored);
}

void raw_connection::reset() {
    if (!socket_.is_open()) return;
    error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
}

asio::awaitable<void> raw_connection::async_connect(std::uint16_t port, std::string source,
                                                    std::optional<int> receive_buffer) {
    close();
    buffer_.clear();
    consumed_ = 0;
    const asio::ip::tcp::endpoint ep(asio::ip::address_v4::loopback(), port);
    socket_.open(ep.protocol());
    if (receive_buffer) socket_.set_option(asio::socket_base::receive_buffer_size(*receive_buffer));
    socket_.bind(asio::ip::tcp::endpoint(asio::ip::make_address(source), 0));
    auto [ec] = co_await socket_.async_connect(ep, asio::as_tuple(asio::use_awaitable));
    if (ec) throw_error(ec, "connect from " + source);
    socket_.set_option(asio::ip::tcp::no_delay(true));
}

asio::awaitable<void> raw_connection::async_send(std::string bytes) {
    auto [ec, n] =
        co_await asio::async_write(socket_, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    if (ec) throw_error(ec, "send " + std::to_string(bytes.size()) + " bytes");
}

asio::awaitable<void> raw_connection::fill() {
    if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
    }
    std::array<char, 16 * 1024> chunk;
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    buffer_.append(chunk.data(), n);
    if (ec) throw_error(ec, "read");
}

asio::awaitable<raw_http_response> raw_connection::async_read_response() {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n", consumed_)) == std::string::npos) {
        try {
            co_await fill();
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error(std::string("no complete response header (") + e.what() + "); got '" +
                                     buffer_.substr(consumed_, 200) + "'");
        }
    }
    raw_http_response r;
    r.header = buffer_.substr(consumed_, end + 2 - consumed_);
    consumed_ = end + 4;
    if (!r.header.starts_with("HTTP/1.1 ") || r.header.size() < 12)
        throw std::runtime_error("not an HTTP/1.1 response: '" + r.header.substr(0, 80) + "'");
    r.status = static_cast<unsigned>(std::stoul(r.header.substr(9, 3)));
    const auto length_field = r.field("Content-Length");
    const std::size_t length = length_field.empty() ? 0 : std::stoul(length_field);
    while (buffer_.size() - consumed_ < length)
        co_await fill();
    r.body = buffer_.substr(consumed_, length);
    consumed_ += length;
    co_return r;
}

asio::awaitable<raw_http_response> raw_connection::async_upgrade(std::uint16_t port, std::string target,
                                                                 std::string source) {
    co_await async_connect(port, source);
    co_await async_send(upgrade_request(port, target));
    co_return co_await async_read_response();
}

std::optional<server_frame> raw_connection::take_frame() {
    const std::string_view bytes = std::string_view(buffer_).substr(consumed_);
    if (bytes.size() < 2) return std::nullopt;
    const auto* header = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const std::size_t header_size = client_wire::header_size(header[1]);
    if (bytes.size() < header_size) return std::nullopt;
    const std::size_t total = header_size + static_cast<std::size_t>(client_wire::payload_length(header));
    if (bytes.size() < total) return std::nullopt;
    // One whole frame: let the shared parser decode it.
    auto parsed = parse_server_frames(bytes.substr(0, total));
    consumed_ += total;
    return std::move(parsed.frames.front());
}

asio::awaitable<server_frame> raw_connection::async_read_frame() {
    for (;;) {
        if (auto f = take_frame()) co_return std::move(*f);
        co_await fill();
    }
}

asio::awaitable<raw_read_result> raw_connection::async_read_until_end() {
    raw_read_result result;
    for (;;) {
        try {
            co_await fill();
        } catch (const boost::system::system_error& e) {
            result.end = e.code();
            break;
        }
    }
    result.bytes = buffer_.substr(consumed_);
    consumed_ = buffer_.size();
    co_return result;
}

void raw_connection::connect(std::uint16_t port, std::string_view source, std::optional<int> receive_buffer) {
    io_.run(async_connect(port, std::string(source), receive_buffer), "connect from " + std::string(source),
            timeout_, [this] { close(); });
}

void raw_connection::send(std::string_view bytes) {
    io_.run(async_send(std::string(bytes)), "send", timeout_, [this] { close(); });
}

raw_http_response raw_connection::read_response() {
    return io_.run(async_read_response(), "read an HTTP response", timeout_, [this] { close(); });
}

void raw_connection::wait_for_bytes() {
    if (buffer_.size() > consumed_) return;
    io_.run(fill(), "wait for the server's first bytes", timeout_, [this] { close(); });
}

raw_http_response raw_connection::upgrade(std::uint16_t port, std::string_view target,
                                          std::string_view origin, const header_list& extra,
                                          std::string_view source) {
    connect(port, source);
    send(upgrade_request(port, target, origin, extra));
    return read_response();
}

void raw_connection::upgrade_ok(std::uint16_t port, std::string_view target, std::string_view source) {
    const auto r = upgrade(port, target, "http://127.0.0.1", {}, source);
    BOOST_REQUIRE_MESSAGE(r.status == 101u, "upgrade of " << target << " from " << source << " got "
                                                          << r.status << " " << r.body);
}

server_frame raw_connection::read_frame() {
    return io_.run(async_read_frame(), "read a frame", timeout_, [this] { close(); });
}

std::optional<server_frame> raw_connection::read_frame_within(std::chrono::milliseconds wait) {
    if (auto f = take_frame()) return f;
    struct outcome {
        bool done = false;
        std::exception_ptr error;
        std::optional<server_frame> frame;
    };
    auto out = std::make_shared<outcome>();
    asio::co_spawn(io_.context(), async_read_frame(), [out](std::exception_ptr e, server_frame f) {
        out->error = e;
        if (!e) out->frame = std::move(f);
        out->done = true;
    });
    auto done = [out] { return out->done; };
    if (!io_.run_until(done, wait)) {
        // Nothing came: end the pending read without closing, so the connection stays usable.
        error_code ignored;
        socket_.cancel(ignored);
        BOOST_REQUIRE_MESSAGE(io_.run_until(done, std::chrono::seconds(5)), "a cancelled read did not end");
        if (out->error && is_cancelled(out->error)) return std::nullopt;
    }
    if (out->error) BOOST_FAIL("reading a frame failed: " + describe(out->error));
    return out->frame;
}

raw_read_result raw_connection::read_until_end(std::optional<std::chrono::milliseconds> timeout) {
    return io_.run(async_read_until_end(), "waiting for the server to end the connection",
                   timeout.value_or(timeout_), [this] { close(); });
}

} // namespace wshub_test

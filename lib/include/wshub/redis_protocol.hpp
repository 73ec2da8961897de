// The Redis protocol (RESP) without I/O, on hiredis's reader and command formatter: commands are
// encoded into a byte string, and bytes read from the socket are fed in and come out as replies.
// The bus drives it from Asio coroutines over a plain TCP socket, as the frame parser sits under
// the sessions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wshub {

// One reply, copied out of hiredis's reply tree.
struct redis_reply {
    enum class kind : std::uint8_t { string, array, integer, nil, status, error };
    kind type = kind::nil;
    std::string text;    // string, status and error replies
    long long value = 0; // integer replies
    std::vector<redis_reply> elements;

    bool is_error() const noexcept { return type == kind::error; }
};

// Thrown when the bytes from the server are not RESP.
struct redis_protocol_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class redis_protocol {
  public:
    redis_protocol();
    ~redis_protocol();
    redis_protocol(const redis_protocol&) = delete;
    redis_protocol& operator=(const redis_protocol&) = delete;

    // Appends one command (binary-safe arguments) to `out`.
    static void append_command(std::string& out, std::span<const std::string_view> args);
    static void append_command(std::string& out, std::initializer_list<std::string_view> args) {
        append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
    }

    // Bytes as read from the server.
    void feed(std::string_view bytes);
    // The next whole reply, if the bytes fed so far complete one. Throws redis_protocol_error.
    std::optional<redis_reply> next();

  private:
    struct reader_deleter {
        void operator()(void* r) const noexcept;
    };
    std::unique_ptr<void, reader_deleter> reader_;
};

} // namespace wshub

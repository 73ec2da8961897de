#include "wshub/redis_protocol.hpp"

#include <cstdlib>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

namespace wshub {

namespace {

redisReader* as_reader(void* r) {
    return static_cast<redisReader*>(r);
}

redis_reply copy_reply(const redisReply& r) {
    redis_reply out;
    switch (r.type) {
    case REDIS_REPLY_STRING:
        out.type = redis_reply::kind::string;
        out.text.assign(r.str, r.len);
        break;
    case REDIS_REPLY_STATUS:
        out.type = redis_reply::kind::status;
        out.text.assign(r.str, r.len);
        break;
    case REDIS_REPLY_ERROR:
        out.type = redis_reply::kind::error;
        out.text.assign(r.str, r.len);
        break;
    case REDIS_REPLY_INTEGER:
        out.type = redis_reply::kind::integer;
        out.value = r.integer;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = redis_reply::kind::array;
        out.elements.reserve(r.elements);
        for (std::size_t i = 0; i < r.elements; ++i)
            out.elements.push_back(copy_reply(*r.element[i]));
        break;
    default:
        out.type = redis_reply::kind::nil;
        break;
    }
    return out;
}

} // namespace

void redis_protocol::reader_deleter::operator()(void* r) const noexcept {
    redisReaderFree(as_reader(r));
}

redis_protocol::redis_protocol()
    : reader_(redisReaderCreate()) {
    if (!reader_) throw std::bad_alloc();
}

redis_protocol::~redis_protocol() = default;

void redis_protocol::append_command(std::string& out, std::span<const std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    char* command = nullptr;
    const int n =
        redisFormatCommandArgv(&command, static_cast<int>(args.size()), argv.data(), lengths.data());
    if (n < 0) throw std::bad_alloc();
    out.append(command, static_cast<std::size_t>(n));
    std::free(command); // NOLINT(cppcoreguidelines-no-malloc): hiredis allocates it with malloc
}

void redis_protocol::feed(std::string_view bytes) {
    if (redisReaderFeed(as_reader(reader_.get()), bytes.data(), bytes.size()) != REDIS_OK)
        throw redis_protocol_error(as_reader(reader_.get())->errstr);
}

std::optional<redis_reply> redis_protocol::next() {
    void* reply = nullptr;
    if (redisReaderGetReply(as_reader(reader_.get()), &reply) != REDIS_OK)
        throw redis_protocol_error(as_reader(reader_.get())->errstr);
    if (!reply) return std::nullopt;
    std::unique_ptr<redisReply, decltype(&freeReplyObject)> owned(static_cast<redisReply*>(reply),
                                                                  freeReplyObject);
    return copy_reply(*owned);
}

} // namespace wshub

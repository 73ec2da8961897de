#include "bus.hpp"

#include "task_group.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <charconv>
#include <fmt/format.h>
#include <random>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;

namespace wshub {

namespace {

constexpr std::string_view bus_channel = "wshub:bus";
constexpr std::string_view ask_channel = "wshub:ask";
constexpr std::string_view epoch_key = "wshub:epoch";
constexpr std::string_view seq_key = "wshub:seq";
constexpr std::chrono::milliseconds exchange_timeout{5000};

// Numbers and publishes one batch atomically, and keeps the last messages of each stream in a
// list (wshub:history:<stream>, at most --history-size of them and --history-bytes of entries,
// counted in wshub:history-bytes:<stream>, both expiring after --history-ttl without a new one),
// from which a node that starts takes its history. A message larger than the byte limit is not
// kept, and neither is what came before it: a list never has a hole. A batch id already seen
// (a retry after a lost reply) is not published again. A missing epoch means Redis lost its data
// (or is new): the proposed one is set, and the counters and lists start again, so old positions
// are recognised as stale.
// KEYS: epoch, seq counters, the batch's dedup key. ARGV: proposed epoch, node, batch id, bus
// channel, history size, history ttl (seconds), history bytes, then a stream name and a body per
// message.
constexpr std::string_view publish_script = R"lua(
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', 600) then return 0 end
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  for _, stream in ipairs(redis.call('HKEYS', KEYS[2])) do
    redis.call('DEL', 'wshub:history:' .. stream, 'wshub:history-bytes:' .. stream)
  end
  redis.call('DEL', KEYS[2])
end
local keep = tonumber(ARGV[5])
local keep_bytes = tonumber(ARGV[7])
local n = (#ARGV - 7) / 2
-- Kept entries carry an order across every stream, so that a node that takes them replays in
-- the order they were published, and Redis's time, so that it takes none older than the ttl.
local order = 0
local now = 0
if keep > 0 then
  order = redis.call('INCRBY', 'wshub:order', n) - n
  now = redis.call('TIME')[1]
end
local out = {'W1 ' .. epoch .. ' ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. n .. '\n'}
local kept = {}
for i = 1, n do
  local stream = ARGV[6 + 2 * i]
  local body = ARGV[7 + 2 * i]
  local seq = redis.call('HINCRBY', KEYS[2], stream, 1)
  local entry = string.format('%d %d\n', seq, #body) .. body
  out[#out + 1] = entry
  if keep > 0 then
    local list, bytes = 'wshub:history:' .. stream, 'wshub:history-bytes:' .. stream
    local item = string.format('%d %s ', order + i, now) .. entry
    if #item > keep_bytes then
      redis.call('DEL', list, bytes)
    else
      redis.call('RPUSH', list, item)
      local total = redis.call('INCRBY', bytes, #item)
      local length = redis.call('LLEN', list)
      while length > keep or total > keep_bytes do
        total = redis.call('DECRBY', bytes, #redis.call('LPOP', list))
        length = length - 1
      end
      kept[stream] = true
    end
  end
end
for stream in pairs(kept) do
  redis.call('EXPIRE', 'wshub:history:' .. stream, ARGV[6])
  redis.call('EXPIRE', 'wshub:history-bytes:' .. stream, ARGV[6])
end
redis.call('PUBLISH', ARGV[4], table.concat(out))
return 1
)lua";

// The epoch (the proposed one, if Redis has none), every stream's counter, and what each stream's
// list keeps that is not older than the ttl, in one atomic step. KEYS: epoch, seq counters.
// ARGV: proposed epoch, history ttl (seconds).
// Returns {epoch, {stream, seq, ...}, {"<order> <time> <entry>", ...} per stream in the same order}.
constexpr std::string_view positions_script = R"lua(
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  for _, stream in ipairs(redis.call('HKEYS', KEYS[2])) do
    redis.call('DEL', 'wshub:history:' .. stream, 'wshub:history-bytes:' .. stream)
  end
  redis.call('DEL', KEYS[2])
end
local counters = redis.call('HGETALL', KEYS[2])
local out = {redis.call('GET', KEYS[1]), counters}
local oldest = tonumber(redis.call('TIME')[1]) - tonumber(ARGV[2])
for i = 1, #counters, 2 do
  local fresh = {}
  for _, entry in ipairs(redis.call('LRANGE', 'wshub:history:' .. counters[i], 0, -1)) do
    local time = tonumber(string.match(entry, '^%d+ (%d+) '))
    if time and time >= oldest then fresh[#fresh + 1] = entry end
  end
  out[#out + 1] = fresh
end
return out
)lua";

// A new epoch for Redis to take if it has none: fresh every time, so that counters that start
// again (Redis lost its data) never reuse an epoch clients already hold positions in.
std::string fresh_epoch() {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    return fmt::format("{:016x}", random());
}

} // namespace

bus::bus(const asio::any_io_executor& ex, redis_endpoint ep, std::string node_id, std::size_t history_size,
         std::size_t history_bytes, std::chrono::seconds history_ttl)
    : ex_(ex)
    , endpoint_(std::move(ep))
    , node_(std::move(node_id))
    , history_size_(std::to_string(history_size))
    , history_ttl_(std::to_string(std::max<long long>(1, history_ttl.count())))
    , history_bytes_(std::to_string(history_bytes))
    , publisher_lock_(ex, 1)
    , answer_channel_(fmt::format("wshub:answer:{}", node_))
    , publish_backoff_(ex)
    , subscribe_backoff_(ex) {}

asio::awaitable<void> bus::connect(redis_connection& c) {
    co_await c.connect(endpoint_, exchange_timeout);
}

asio::awaitable<std::vector<redis_reply>> bus::on_publisher(const std::string& commands, std::size_t count) {
    // The lock is a channel with room for one message: a send waits while another holds it.
    co_await publisher_lock_.async_send(boost::system::error_code{}, asio::use_awaitable);
    struct release {
        decltype(publisher_lock_)& lock;
        ~release() {
            lock.try_receive([](boost::system::error_code) {});
        }
    } held{publisher_lock_};
    try {
        if (!publisher_) {
            publisher_.emplace(ex_);
            co_await connect(*publisher_);
            spdlog::info("bus: publishing to Redis at {}", endpoint_.describe());
        }
        co_return co_await publisher_->execute(commands, count, exchange_timeout);
    } catch (...) {
        publisher_.reset();
        throw;
    }
}

asio::awaitable<bool> bus::back_off(asio::steady_timer& timer, std::chrono::milliseconds& delay) {
    static thread_local std::minstd_rand random{std::random_device{}()};
    // Full jitter: nodes that lost Redis together do not come back in step.
    const auto wait = std::chrono::milliseconds(
        std::uniform_int_distribution<long>(delay.count() / 2, delay.count())(random));
    delay = std::min(delay * 2, std::chrono::milliseconds(5000));
    timer.expires_after(wait);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return !stopped_;
}

namespace {

// Refusals that pass (RESP error prefixes): the batch waits and is tried again, as in an outage.
// The publish script's first write is its dedup key, so a batch refused by these wrote nothing.
bool passing_refusal(std::string_view error) {
    for (std::string_view prefix : {"OOM", "MISCONF", "READONLY", "LOADING", "BUSY", "NOREPLICAS",
                                    "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"})
        if (error.starts_with(prefix)) return true;
    return false;
}

} // namespace

asio::awaitable<bus::outcome> bus::publish(std::uint64_t batch_id, const std::vector<message>& batch) {
    const auto id = std::to_string(batch_id);
    const auto dedup_key = fmt::format("wshub:batch:{}:{}", node_, batch_id);
    std::vector<std::string> bodies;
    bodies.reserve(batch.size());
    for (const auto& m : batch)
        bodies.push_back(encode_bus_body(m));
    const auto proposed_epoch = fresh_epoch();
    std::vector<std::string_view> args{"EVAL",        publish_script, "3",           epoch_key, seq_key,
                                       dedup_key,     proposed_epoch, node_,         id,        bus_channel,
                                       history_size_, history_ttl_,   history_bytes_};
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& channel = batch[i].target.channel;
        args.push_back(channel.empty() ? all_clients_stream_key : std::string_view(channel));
        args.push_back(bodies[i]);
    }
    std::string command;
    redis_protocol::append_command(command, args);

    auto delay = std::chrono::milliseconds(100);
    while (!stopped_) {
        if (!subscriber_up_.load()) {
            // Redis publishes to whoever is subscribed at that moment: sent before this node's
            // subscription is back (after an outage, or at start), the batch would not come back
            // to its clients. It waits, like the rest of the inbox behind it.
            publish_backoff_.expires_after(std::chrono::milliseconds(20));
            co_await publish_backoff_.async_wait(asio::as_tuple(asio::use_awaitable));
            if (co_await task_group::requested_stop() != asio::cancellation_type::none) break;
            continue;
        }
        try {
            const auto replies = co_await on_publisher(command, 1);
            const auto& reply = replies.front();
            if (!reply.is_error()) {
                publisher_failing_.store(false);
                co_return outcome::published;
            }
            if (!passing_refusal(reply.text)) {
                publisher_failing_.store(false);
                spdlog::error("bus: Redis refused a batch of {} messages: {}", batch.size(), reply.text);
                co_return outcome::refused;
            }
            // The bus cannot carry messages until Redis takes them again: /readyz says so.
            if (!publisher_failing_.exchange(true))
                spdlog::error("bus: Redis at {} refuses to take messages ({}); retrying",
                              endpoint_.describe(), reply.text);
        } catch (const std::exception& e) {
            if (stopped_) break;
            if (!publisher_failing_.exchange(true)) {
                reconnects_.fetch_add(1);
                spdlog::warn("bus: publishing to Redis at {} failed ({}); retrying", endpoint_.describe(),
                             e.what());
            }
        }
        // A stop while Redis is away: what is still unpublished is given up.
        if (co_await task_group::requested_stop() != asio::cancellation_type::none) break;
        if (!co_await back_off(publish_backoff_, delay)) break;
    }
    co_return outcome::stopped;
}

asio::awaitable<bus_batch> bus::current_positions(redis_connection& c) {
    std::string command;
    const auto proposed_epoch = fresh_epoch();
    redis_protocol::append_command(
        command, {"EVAL", positions_script, "2", epoch_key, seq_key, proposed_epoch, history_ttl_});
    const auto replies = co_await c.execute(command, 1, exchange_timeout);
    const auto& results = replies.front();
    if (results.type != redis_reply::kind::array || results.elements.size() < 2 ||
        results.elements[0].type != redis_reply::kind::string ||
        results.elements[1].type != redis_reply::kind::array ||
        results.elements.size() != 2 + results.elements[1].elements.size() / 2)
        throw redis_error("Redis answered the epoch and counters with something else");
    bus_batch announcement;
    announcement.epoch = results.elements[0].text;
    announcement.history = true;
    const auto& counters = results.elements[1].elements;
    std::vector<std::pair<std::uint64_t, bus_message>> history;
    for (std::size_t i = 0; i + 1 < counters.size(); i += 2) {
        std::uint64_t seq = 0;
        const auto& v = counters[i + 1].text;
        if (std::from_chars(v.data(), v.data() + v.size(), seq).ec != std::errc{}) continue;
        const auto& stream = counters[i].text;
        announcement.positions.emplace_back(stream == all_clients_stream_key ? std::string() : stream, seq);
        // The stream's history, oldest first; only what the counter has numbered, in order.
        std::uint64_t previous = 0;
        for (const auto& kept : results.elements[2 + i / 2].elements) {
            // "<order> <time> <entry>": the script checked the time.
            const std::string_view text = kept.text;
            std::uint64_t order = 0;
            const auto space = text.find(' ');
            const auto entry_at = space == std::string_view::npos ? space : text.find(' ', space + 1);
            if (entry_at == std::string_view::npos ||
                std::from_chars(text.data(), text.data() + space, order).ec != std::errc{})
                continue;
            auto m = decode_bus_entry(text.substr(entry_at + 1));
            if (!m || m->seq > seq || m->seq <= previous ||
                m->target.channel != announcement.positions.back().first)
                continue;
            previous = m->seq;
            history.emplace_back(order, std::move(*m));
        }
    }
    // Every stream's messages in the order they were published.
    std::stable_sort(history.begin(), history.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    announcement.messages.reserve(history.size());
    for (auto& [order, m] : history)
        announcement.messages.push_back(std::move(m));
    co_return announcement;
}

std::optional<bus_event> bus::event_of(const redis_reply& reply) {
    // ["message", channel, payload]; anything else (a confirmation) is skipped.
    if (reply.type != redis_reply::kind::array || reply.elements.size() != 3 ||
        reply.elements[0].text != "message")
        return std::nullopt;
    const auto& channel = reply.elements[1].text;
    const std::string_view published = reply.elements[2].text;
    if (channel == answer_channel_) {
        take_answer(published);
        return std::nullopt;
    }
    if (channel == ask_channel) {
        // "<asker> <id> <what>\n<argument>"
        const auto first = published.find(' ');
        const auto second = published.find(' ', first + 1);
        const auto line_end = published.find('\n', second + 1);
        bus_question q;
        if (first != std::string_view::npos && second != std::string_view::npos &&
            line_end != std::string_view::npos) {
            const auto id = published.substr(first + 1, second - first - 1);
            if (std::from_chars(id.data(), id.data() + id.size(), q.id).ec == std::errc{}) {
                q.asker = published.substr(0, first);
                q.what = published.substr(second + 1, line_end - second - 1);
                q.argument = published.substr(line_end + 1);
                return bus_event{std::move(q)};
            }
        }
        spdlog::warn("bus: skipped a malformed question of {} bytes on {}", published.size(), ask_channel);
        return std::nullopt;
    }
    auto batch = decode_bus_batch(published);
    if (!batch) {
        spdlog::warn("bus: skipped a malformed message of {} bytes on {}", published.size(), bus_channel);
        return std::nullopt;
    }
    return bus_event{std::move(*batch)};
}

void bus::take_answer(std::string_view published) {
    // "<id>\n<answer>"
    const auto line_end = published.find('\n');
    std::uint64_t id = 0;
    if (line_end == std::string_view::npos ||
        std::from_chars(published.data(), published.data() + line_end, id).ec != std::errc{})
        return;
    const auto waiting = asking_.find(id);
    if (waiting == asking_.end()) return; // it gave up waiting
    waiting->second->answers.emplace_back(published.substr(line_end + 1));
    waiting->second->answered.cancel();
}

asio::awaitable<bus_answers> bus::ask(std::string what, std::string argument,
                                      std::chrono::milliseconds timeout) {
    const std::uint64_t id = ++questions_asked_;
    pending_question pending{{}, asio::steady_timer(ex_)};
    asking_.emplace(id, &pending);
    struct forget {
        bus& b;
        std::uint64_t id;
        ~forget() { b.asking_.erase(id); }
    } registered{*this, id};

    std::string command;
    const auto question = fmt::format("{} {} {}\n{}", node_, id, what, argument);
    redis_protocol::append_command(command, {"PUBLISH", ask_channel, question});
    const auto replies = co_await on_publisher(command, 1);
    if (replies.front().type != redis_reply::kind::integer)
        throw redis_error(fmt::format("Redis refused a question: {}", replies.front().text));
    bus_answers result;
    result.asked = static_cast<std::size_t>(std::max(0LL, replies.front().value));
    // Answers that came while the PUBLISH was answered are already in.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pending.answers.size() < result.asked && !stopped_ &&
           std::chrono::steady_clock::now() < deadline) {
        pending.answered.expires_at(deadline);
        co_await pending.answered.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (stopped_) throw redis_error("the bus stopped");
    result.answers = std::move(pending.answers);
    co_return result;
}

asio::awaitable<void> bus::answer(const bus_question& q, std::string answer) {
    std::string command;
    const auto channel = fmt::format("wshub:answer:{}", q.asker);
    const auto body = fmt::format("{}\n{}", q.id, answer);
    redis_protocol::append_command(command, {"PUBLISH", channel, body});
    co_await on_publisher(command, 1);
}

asio::awaitable<std::optional<bus_event>> bus::receive() {
    auto delay = std::chrono::milliseconds(100);
    while (!stopped_) {
        if (!questions_.empty()) {
            bus_event question{std::move(questions_.front())};
            questions_.pop_front();
            co_return question;
        }
        try {
            if (!subscribed_) {
                subscriber_.emplace(ex_);
                co_await connect(*subscriber_);
                auto announcement = co_await current_positions(*subscriber_);
                std::string command;
                redis_protocol::append_command(command,
                                               {"SUBSCRIBE", bus_channel, ask_channel, answer_channel_});
                const auto confirmed = co_await subscriber_->execute(command, 3, exchange_timeout);
                for (const auto& c : confirmed)
                    if (c.is_error()) throw redis_error(c.text);
                subscribed_ = true;
                subscribe_failing_ = false;
                subscriber_up_.store(true);
                delay = std::chrono::milliseconds(100);
                spdlog::info("bus: subscribed to Redis at {}, epoch {}", endpoint_.describe(),
                             announcement.epoch);
                bus_event announced{std::move(announcement)};
                co_return announced;
            }
            const auto reply = co_await subscriber_->next_reply();
            if (auto e = event_of(reply)) co_return e;
            continue; // not a batch: read on
        } catch (const std::exception& e) {
            if (stopped_) break;
            if (subscriber_up_.exchange(false)) {
                reconnects_.fetch_add(1);
                spdlog::warn("bus: subscription to Redis at {} lost ({}); resubscribing",
                             endpoint_.describe(), e.what());
            } else if (!subscribe_failing_) { // the first attempt (at start) failed
                spdlog::warn("bus: cannot subscribe to Redis at {} ({}); retrying", endpoint_.describe(),
                             e.what());
            }
            subscribe_failing_ = true;
            subscribed_ = false;
            subscriber_.reset();
        }
        if (!co_await back_off(subscribe_backoff_, delay)) break;
    }
    co_return std::nullopt;
}

std::optional<bus_batch> bus::try_receive() {
    while (subscribed_ && !stopped_) {
        std::optional<redis_reply> reply;
        try {
            reply = subscriber_->buffered_reply();
        } catch (const std::exception&) {
            return std::nullopt; // receive() meets the error again, and resubscribes
        }
        if (!reply) return std::nullopt;
        auto e = event_of(*reply);
        if (!e) continue;
        if (auto* batch = std::get_if<bus_batch>(&*e)) return std::move(*batch);
        questions_.push_back(std::get<bus_question>(std::move(*e)));
    }
    return std::nullopt;
}

void bus::stop() {
    stopped_ = true;
    publish_backoff_.cancel();
    subscribe_backoff_.cancel();
    publisher_lock_.cancel();
    for (auto& [id, waiting] : asking_)
        waiting->answered.cancel();
    if (publisher_) publisher_->close();
    if (subscriber_) subscriber_->close();
    subscriber_up_.store(false);
}

} // namespace wshub

#include "wshub/logging.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>
#include <ctime>
#include <fmt/format.h>
#include <future>
#include <iterator>
#include <memory>
#include <spdlog/async.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <thread>

namespace wshub {

namespace {

// One JSON object per line: {"time":"2026-01-02T03:04:05.678Z","level":"info","msg":"..."}, the
// message escaped by Boost.JSON.
class json_line_formatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        using namespace std::chrono;
        const std::time_t secs = system_clock::to_time_t(msg.time);
        const auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count() % 1000;
        std::tm utc{};
        gmtime_r(&secs, &utc);
        char when[32];
        const auto n = std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
        const auto level = spdlog::level::to_string_view(msg.level);
        fmt::format_to(std::back_inserter(dest), R"({{"time":"{}.{:03}Z","level":"{}","msg":)",
                       std::string_view(when, n), ms, std::string_view(level.data(), level.size()));
        const auto text =
            boost::json::serialize(boost::json::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(text.data(), text.data() + text.size());
        dest.push_back('}');
        dest.push_back('\n');
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<json_line_formatter>();
    }
};

} // namespace

process_log::process_log(const config& cfg) {
    constexpr std::size_t queued_lines = 8192;
    spdlog::init_thread_pool(queued_lines, 1);
    std::shared_ptr<spdlog::logger> logger;
    if (cfg.log_format == config::log_format_kind::json) {
        logger = std::make_shared<spdlog::async_logger>(
            "wshub", std::make_shared<spdlog::sinks::stderr_sink_mt>(), spdlog::thread_pool(),
            spdlog::async_overflow_policy::overrun_oldest);
        logger->set_formatter(std::make_unique<json_line_formatter>());
    } else {
        logger = std::make_shared<spdlog::async_logger>(
            "wshub", std::make_shared<spdlog::sinks::stderr_color_sink_mt>(), spdlog::thread_pool(),
            spdlog::async_overflow_policy::overrun_oldest);
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    logger->set_level(spdlog::level::from_str(cfg.log_level));
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
    spdlog::flush_every(std::chrono::seconds(1));
}

process_log::~process_log() {
    if (!drained_) drain(std::chrono::seconds(2));
}

bool process_log::drain(std::chrono::milliseconds limit) {
    drained_ = true;
    return drain_log(limit);
}

bool drain_log(std::chrono::milliseconds limit) {
    // spdlog::shutdown() writes the queue out and joins the writer, which may be stuck in a write
    // to a stderr nobody reads: wait for it only so long.
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    std::thread([done] {
        spdlog::shutdown();
        done->set_value();
    }).detach();
    return finished.wait_for(limit) == std::future_status::ready;
}

} // namespace wshub

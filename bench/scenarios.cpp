#include "scenarios.hpp"

#include "conn_pool.hpp"
#include "histogram.hpp"
#include "payload.hpp"
#include "proc_stats.hpp"
#include "run_support.hpp"
#include "ws_client.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <vector>

namespace wsbench {

namespace json = boost::json;

namespace {

enum Role : uint8_t { role_subscriber, role_publisher, role_stuck, role_idle, role_sender };

// ---------------------------------------------------------------------------------------------
// fanout / slow

class FanoutRun {
  public:
    explicit FanoutRun(const FanoutConfig& cfg)
        : cfg_(cfg)
        , pool_(pool_options(cfg.common))
        , frame_len_(client_frame_size(cfg.size))
        , fixed_rate_(cfg.rate > 0) {
        payload_.resize(cfg.size);
        for (size_t i = 0; i < payload_.size(); ++i)
            payload_[i] = static_cast<uint8_t>('a' + i % 26);
        if (cfg.json &&
            cfg.size > payload_header_size) { // after the header, records as a JSON API would send them
            std::string text = ",\"items\":[";
            for (unsigned i = 0; text.size() < cfg.size; ++i)
                text += fmt::format(R"({{"id":{},"symbol":"SYM{}","price":{}.{:02},"qty":{},"side":"{}"}},)",
                                    1000 + i, i % 7, 90 + (i * 37) % 20, (i * 53) % 100, 100 * (1 + i % 5),
                                    i % 2 ? "buy" : "sell");
            std::memcpy(payload_.data() + payload_header_size, text.data(), cfg.size - payload_header_size);
        }
        rss_.pid = cfg.common.pid;
    }

    ~FanoutRun() {
        if (timer_fd_ >= 0) ::close(timer_fd_);
    }

    Result run();

    void on_open(Conn&) {}
    void on_close(Conn&) {}

    void on_message(Conn& c, const Message& msg, uint64_t now) {
        Message m = msg;
        uint8_t inflated[payload_header_size];
        if (m.compressed) { // only its header is inflated: what a client must read to know it
            if (inflate_prefix(m.data, m.len, inflated, sizeof inflated) != long{payload_header_size}) {
                ++corrupt_;
                return;
            }
            m = Message{m.opcode, inflated, payload_header_size, cfg_.size};
        }
        if (m.size != cfg_.size || m.len < payload_header_size) {
            ++foreign_;
            return;
        }
        SeqTracker& t = trackers_[c.index];
        // fast path: the header is the one this receiver expects next, as remembered at sending
        uint64_t seq = t.next(), ts;
        const Sent& e = sent_[seq & sent_mask];
        if (e.seq == seq && seq < next_seq_ && std::memcmp(m.data, e.header, payload_header_size) == 0) {
            ts = e.ts;
        } else {
            seq = get_hex16(m.data);
            ts = get_hex16(m.data + 16);
            if (seq >= next_seq_) {
                ++corrupt_;
                return;
            }
        }
        t.on_seq(seq);
        if (c.role != role_subscriber) return;
        ++deliveries_;
        if (measuring_) hist_.record(now > ts ? now - ts : 0);
    }

    void on_extra(uint32_t, uint64_t now) {
        uint64_t expirations = 0;
        (void)!::read(timer_fd_, &expirations, sizeof expirations);
        if (publishing_) publish_due(now);
    }

  private:
    static constexpr size_t backlog_cap = 64u << 20; // publisher output the server has not taken
    static constexpr size_t sent_mask = (1u << 16) - 1;

    // The last 64 Ki message headers sent: receivers compare instead of decoding hex.
    struct Sent {
        uint64_t seq = ~uint64_t{0};
        uint64_t ts = 0;
        uint8_t header[payload_header_size];
    };

    const char* mode() const { return cfg_.stuck ? "slow" : "fanout"; }

    void publish_one(uint64_t ts) {
        uint8_t* f = pool_.reserve(*pub_, frame_len_);
        uint32_t mask = pool_.next_mask();
        size_t h = put_client_header(f, op::text, cfg_.size, mask);
        uint8_t* p = f + h;
        std::memcpy(p, payload_.data(), cfg_.size);
        put_hex16(p, next_seq_);
        put_hex16(p + 16, ts);
        Sent& e = sent_[next_seq_ & sent_mask];
        e.seq = next_seq_;
        e.ts = ts;
        std::memcpy(e.header, p, payload_header_size);
        mask_payload(p, cfg_.size, mask);
        pool_.commit(*pub_, frame_len_);
        ++next_seq_;
    }

    void after_publish() {
        pool_.flush(*pub_);
        pub_backlog_max_ = std::max<uint64_t>(pub_backlog_max_, pub_->out.size());
    }

    // Max rate: top the publisher up to `window` messages not yet seen back on the pacing connection.
    void top_up() {
        if (!publishing_ || pub_->state != ConnState::open) return;
        uint64_t own = std::min(trackers_[pacer_->index].unique(), next_seq_);
        uint64_t outstanding = next_seq_ - own;
        if (outstanding >= cfg_.window) return;
        uint64_t ts = now_ns();
        for (uint64_t k = outstanding; k < cfg_.window; ++k)
            publish_one(ts);
        after_publish();
    }

    uint64_t slot_time(uint64_t k) const {
        return t0_ + static_cast<uint64_t>(static_cast<double>(k) * 1e9 / cfg_.rate);
    }

    // Fixed rate: every slot whose time has come is sent, stamped with its scheduled time, so a late
    // send shows up as latency instead of silently lowering the rate (coordinated omission).
    void publish_due(uint64_t now) {
        if (pub_->state != ConnState::open || now < t0_) return;
        uint64_t due = static_cast<uint64_t>(static_cast<double>(now - t0_) * cfg_.rate / 1e9) + 1;
        bool sent = false;
        for (int burst = 0; slots_ < due && burst < 65536; ++burst, ++slots_) {
            if (pub_->out.size() >= backlog_cap) {
                ++skipped_;
                continue;
            }
            publish_one(slot_time(slots_));
            sent = true;
        }
        if (sent) after_publish();
        arm_timer(slot_time(slots_));
    }

    void arm_timer(uint64_t at_ns) {
        itimerspec its{};
        its.it_value.tv_sec = static_cast<time_t>(at_ns / ns_per_s);
        its.it_value.tv_nsec = static_cast<long>(at_ns % ns_per_s);
        if (at_ns == 0) its.it_value.tv_nsec = 1;
        ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &its, nullptr);
    }

    void disarm_timer() {
        itimerspec its{};
        if (timer_fd_ >= 0) ::timerfd_settime(timer_fd_, 0, &its, nullptr);
    }

    // Messages the kernel took from the publisher (a partly written frame counts as unsent).
    uint64_t written() const {
        uint64_t queued = (pub_->out.size() + frame_len_ - 1) / frame_len_;
        return next_seq_ > queued ? next_seq_ - queued : 0;
    }

    bool drained() {
        if (pub_->state == ConnState::open && !pub_->out.empty()) return false;
        uint64_t w = written();
        for (size_t i = 0; i < pool_.size(); ++i) {
            const Conn& c = pool_[i];
            if (c.role != role_subscriber || c.state != ConnState::open) continue;
            if (trackers_[i].next() < w || trackers_[i].has_gaps()) return false;
        }
        return true;
    }

    // Once a second: a progress line on stderr and an RSS sample of the server.
    void progress(uint64_t now, const char* phase) {
        if (now < next_progress_) return;
        rss_.sample();
        next_progress_ = now + ns_per_s;
        if (!cfg_.common.progress) return;
        double dt = to_s(now - last_progress_);
        if (dt <= 0) dt = 1;
        auto srv = prog_srv_.percent();
        auto gen = prog_gen_.percent();
        fmt::print(stderr,
                   "[{}] {:6.1f}s {:<10} open {}/{}  pub {}/s  deliveries {}/s  server-cpu {}  gen-cpu {}\n",
                   mode(), to_s(now - t_begin_), phase, pool_.open_count(), pool_.size(),
                   si(static_cast<double>(next_seq_ - last_seq_) / dt),
                   si(static_cast<double>(deliveries_ - last_deliveries_) / dt), pct(srv), pct(gen));
        last_progress_ = now;
        last_seq_ = next_seq_;
        last_deliveries_ = deliveries_;
        prog_srv_.start();
        prog_gen_.start();
    }

    json::object stuck_report();
    Result connect_failed(double connect_s, std::vector<std::string>& warnings);

    FanoutConfig cfg_;
    ConnPool pool_;
    size_t frame_len_;
    bool fixed_rate_;
    std::vector<uint8_t> payload_;
    std::vector<SeqTracker> trackers_;
    std::vector<Sent> sent_ = std::vector<Sent>(sent_mask + 1);
    Histogram hist_;
    Conn* pub_ = nullptr;
    Conn* pacer_ =
        nullptr; // whose receipts bound the messages in flight: pub_, or a subscriber on another node
    Conn* stuck_ = nullptr;
    int timer_fd_ = -1;
    bool publishing_ = false;
    bool measuring_ = false;
    uint64_t next_seq_ = 0; // messages published (sequence numbers handed out)
    uint64_t deliveries_ = 0;
    uint64_t foreign_ = 0;
    uint64_t corrupt_ = 0;
    uint64_t skipped_ = 0;
    uint64_t pub_backlog_max_ = 0;
    uint64_t t0_ = 0;
    uint64_t slots_ = 0;
    uint64_t t_begin_ = 0;
    uint64_t next_progress_ = 0;
    uint64_t last_progress_ = 0;
    uint64_t last_seq_ = 0;
    uint64_t last_deliveries_ = 0;
    CpuMeter prog_srv_;
    CpuMeter prog_gen_;
    RssTrack rss_;
};

Result FanoutRun::connect_failed(double connect_s, std::vector<std::string>& warnings) {
    Result r;
    r.exit_code = 1;
    r.json = {{"mode", mode()},
              {"status", "connect-failed"},
              {"target", target_json(cfg_.common)},
              {"connections",
               {{"requested", pool_.size()},
                {"opened", pool_.open_count()},
                {"failed", pool_.failed_count()},
                {"pending_at_deadline", pool_.pending_count()},
                {"connect_seconds", round_to(connect_s, 0.001)},
                {"errors", errors_json(pool_)}}},
              {"warnings", warnings_json(warnings)}};
    std::string errs;
    for (const auto& [what, n] : pool_.errors())
        errs += fmt::format("\n  {} x{}", what, n);
    if (pool_.pending_count() > 0)
        errs += fmt::format(
            "\n  {} still connecting or waiting for the handshake at the deadline (--connect-timeout)",
            pool_.pending_count());
    r.table = fmt::format("wshub-bench {}: could not connect: {} of {} connections open after {:.1f} s{}\n",
                          mode(), pool_.open_count(), pool_.size(), connect_s, errs);
    return r;
}

Result FanoutRun::run() {
    const CommonConfig& cc = cfg_.common;
    std::vector<std::string> warnings;
    uint32_t total = cfg_.subscribers + 1 + (cfg_.stuck ? 1 : 0);
    if (fit_fd_limit(total, 1, warnings) < total) {
        print_warnings(warnings);
        throw std::runtime_error("not enough file descriptors for the connections asked for");
    }
    if (cc.sources > 1 && pool_options(cc).endpoint.family != AF_INET)
        warnings.push_back("--sources applies to IPv4 targets only; using one source address");

    t_begin_ = now_ns();
    pub_ = &pool_.add(role_publisher, 1'000'000 + cfg_.subscribers);
    pub_->to_publish_endpoint = true; // --publish-port: another node than the subscribers'
    for (uint32_t i = 0; i < cfg_.subscribers; ++i)
        pool_.add(role_subscriber, i + 1);
    // The publisher's own copies come back from its node; with the subscribers on another node, a
    // subscriber paces the window, or that node could fall ever further behind, unseen.
    pacer_ = cc.publish_port != 0 && cc.publish_port != cc.port ? &pool_[pub_->index + 1] : pub_;
    if (cfg_.stuck) stuck_ = &pool_.add(role_stuck, 2'000'000 + cfg_.subscribers, cfg_.stuck_rcvbuf);
    trackers_.resize(pool_.size());

    // connect everyone before publishing anything
    uint64_t connect_deadline = t_begin_ + to_ns(cc.connect_timeout);
    prog_srv_.pid = cc.pid;
    prog_srv_.start();
    prog_gen_.start();
    last_progress_ = t_begin_;
    next_progress_ = t_begin_ + ns_per_s;
    uint64_t now = t_begin_;
    while (!pool_.connecting_done() && now < connect_deadline) {
        pool_.poll(50, *this);
        now = now_ns();
        progress(now, "connecting");
    }
    double connect_s = to_s(now - t_begin_);
    if (pool_.open_count() < pool_.size()) return connect_failed(connect_s, warnings);
    if (stuck_) pool_.stop_reading(*stuck_);

    rss_.sample();
    auto rss_start = rss_.last;
    if (fixed_rate_) {
        timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (timer_fd_ < 0) throw std::runtime_error(fmt::format("timerfd_create: {}", std::strerror(errno)));
        pool_.add_extra_fd(timer_fd_, 1);
    }

    enum class Phase { warmup, measure, drain } phase = Phase::warmup;
    publishing_ = true;
    now = now_ns();
    uint64_t warm_end = now + to_ns(cc.warmup);
    uint64_t measure_end = 0, drain_end = 0, win_start = 0, win_end = 0;
    uint64_t win_seq0 = 0, win_deliv0 = 0, win_own0 = 0, win_published = 0, win_deliveries = 0, win_own = 0;
    uint64_t win_polls = 0, win_empty_polls = 0;
    std::optional<double> srv_pct, gen_pct;
    std::optional<uint64_t> rss_end;
    CpuMeter srv_meter, gen_meter;
    srv_meter.pid = cc.pid;
    std::vector<CpuMeter> watch_meters(cc.watch_pids.size());
    std::vector<std::optional<double>> watch_pct(cc.watch_pids.size());
    for (size_t i = 0; i < watch_meters.size(); ++i)
        watch_meters[i].pid = cc.watch_pids[i];
    CoreTimes cores_start, cores_end;
    bool server_gone = false, drain_complete = false;
    if (fixed_rate_) {
        t0_ = now;
        arm_timer(t0_);
    }

    auto end_window = [&](uint64_t t) {
        measuring_ = false;
        win_end = t;
        srv_pct = srv_meter.percent();
        gen_pct = gen_meter.percent();
        for (size_t i = 0; i < watch_meters.size(); ++i)
            watch_pct[i] = watch_meters[i].percent();
        cores_end = CoreTimes::read();
        win_published = next_seq_ - win_seq0;
        win_deliveries = deliveries_ - win_deliv0;
        win_own = trackers_[pub_->index].received() - win_own0;
        rss_end = rss_.sample();
        publishing_ = false;
        disarm_timer();
        phase = Phase::drain;
        drain_end = t + to_ns(cc.drain);
    };

    for (;;) {
        int events = pool_.poll(cc.busy_poll ? 0 : fixed_rate_ ? 50 : 10, *this);
        if (measuring_) {
            ++win_polls;
            win_empty_polls += events == 0;
        }
        now = now_ns();
        if (!fixed_rate_) top_up();
        if (phase == Phase::warmup && now >= warm_end) {
            phase = Phase::measure;
            measuring_ = true;
            hist_.reset();
            win_start = now;
            measure_end = now + to_ns(cc.duration);
            win_seq0 = next_seq_;
            win_deliv0 = deliveries_;
            win_own0 = trackers_[pub_->index].received();
            srv_meter.start();
            gen_meter.start();
            for (auto& m : watch_meters)
                m.start();
            cores_start = CoreTimes::read();
        }
        if (phase == Phase::measure && now >= measure_end) end_window(now);
        if (phase == Phase::drain && (drained() || now >= drain_end)) {
            drain_complete = drained();
            break;
        }
        if (now >= next_progress_) {
            if (cc.pid && !process_alive(cc.pid)) server_gone = true;
            if (pool_.open_count() == 0) server_gone = true;
        }
        if (server_gone) {
            warnings.push_back("the server went away during the run");
            if (phase != Phase::drain) {
                if (phase == Phase::warmup) {
                    win_start = now;
                    srv_meter.start();
                    gen_meter.start();
                    cores_start = CoreTimes::read();
                }
                end_window(now);
            }
            break;
        }
        progress(now, phase == Phase::warmup    ? "warm-up"
                      : phase == Phase::measure ? "measuring"
                                                : "draining");
    }
    uint64_t drain_ns = now - win_end;

    // losses are counted against what the kernel accepted from the publisher
    uint64_t w = written();
    uint64_t lost = 0, dup = 0, ooo = 0, with_errors = 0, closed_subs = 0;
    bool overflow = false;
    json::array sub_errors;
    for (size_t i = 0; i < pool_.size(); ++i) {
        Conn& c = pool_[i];
        if (c.role != role_subscriber) continue;
        const SeqTracker& t = trackers_[i];
        uint64_t l = t.lost(w), d = t.duplicated(), o = t.out_of_order();
        bool closed = c.state != ConnState::open;
        closed_subs += closed;
        overflow |= t.overflowed();
        lost += l;
        dup += d;
        ooo += o;
        if (l || d || o || closed) {
            ++with_errors;
            if (sub_errors.size() < 50) {
                json::object e{{"user_id", c.user_id}, {"lost", l}, {"duplicated", d}, {"out_of_order", o}};
                if (closed) e["closed"] = c.close_reason;
                sub_errors.push_back(std::move(e));
            }
        }
    }
    if (overflow) warnings.push_back("too many gaps to track exactly: loss counts are lower bounds");

    double win_s = to_s(win_end - win_start);
    if (win_s <= 0) win_s = 1e-9;
    double deliveries_per_s = static_cast<double>(win_deliveries) / win_s;
    double published_per_s = static_cast<double>(win_published) / win_s;
    std::optional<double> per_cpu_s;
    if (srv_pct && *srv_pct > 0) per_cpu_s = deliveries_per_s / (*srv_pct / 100.0);
    CpuSummary cpu = summarize_cpu(srv_pct, gen_pct, cores_start, cores_end);
    double empty_polls_pct =
        win_polls ? static_cast<double>(win_empty_polls) * 100.0 / static_cast<double>(win_polls) : 0.0;
    // a spinning generator is always at 100 %: it is the bottleneck only if its polls rarely come back empty
    bool generator_bound = cpu.generator_bound && (!cc.busy_poll || empty_polls_pct < 10);
    if (cpu.other_pct && *cpu.other_pct > 15)
        warnings.push_back(
            fmt::format("other processes used {:.0f}% of a core during the measurement: the numbers "
                        "are noisy",
                        *cpu.other_pct));
    Conn& pub = *pub_;

    json::object params{{"subscribers", cfg_.subscribers},
                        {"size", cfg_.size},
                        {"mode", fixed_rate_ ? "fixed-rate" : "max-rate"},
                        {"window", fixed_rate_ ? json::value(nullptr) : json::value(cfg_.window)},
                        {"rate", fixed_rate_ ? json::value(cfg_.rate) : json::value(nullptr)},
                        {"duration", cc.duration},
                        {"warmup", cc.warmup},
                        {"drain", cc.drain},
                        {"busy_poll", cc.busy_poll}};
    if (cfg_.stuck) params["stuck_rcvbuf"] = cfg_.stuck_rcvbuf;

    // What the watched processes (Redis, other nodes) spent per published message: with a bus, the
    // cost of carrying the traffic, whatever the number of subscribers each message reaches.
    json::array watched;
    std::string watched_table;
    for (size_t i = 0; i < watch_pct.size(); ++i) {
        std::optional<double> per_million;
        if (watch_pct[i] && published_per_s > 0) per_million = *watch_pct[i] / 100.0 / published_per_s * 1e6;
        watched.push_back({{"pid", cc.watch_pids[i]},
                           {"name", process_name(cc.watch_pids[i])},
                           {"cpu_pct", num_or_null(watch_pct[i])},
                           {"cpu_s_per_million_published", num_or_null(per_million)}});
        watched_table += fmt::format(
            "  {:<24}{}   ({} CPU-s per million published messages)\n",
            fmt::format("{} {} cpu", process_name(cc.watch_pids[i]), cc.watch_pids[i]), pct(watch_pct[i]),
            per_million ? fmt::format("{:.2f}", *per_million) : std::string("-"));
    }

    Result r;
    r.json = {
        {"mode", mode()},
        {"status", server_gone ? "server-gone" : "ok"},
        {"target", target_json(cc)},
        {"params", params},
        {"connections",
         {{"requested", pool_.size()},
          {"opened", pool_.size()},
          {"failed", 0},
          {"connect_seconds", round_to(connect_s, 0.001)}}},
        {"window_seconds", round_to(win_s, 0.0001)},
        {"published", win_published},
        {"published_per_s", round_to(published_per_s, 0.1)},
        {"deliveries", win_deliveries},
        {"deliveries_per_s", round_to(deliveries_per_s, 0.1)},
        {"deliveries_incl_publisher_per_s",
         round_to(static_cast<double>(win_deliveries + win_own) / win_s, 0.1)},
        {"deliveries_counted", "frames received by the subscriber connections only (not the publisher's own "
                               "copies) during the measurement window"},
        {"latency_us", latency_json(hist_)},
        {"lost", lost},
        {"duplicated", dup},
        {"out_of_order", ooo},
        {"subscribers_with_errors", with_errors},
        {"subscriber_errors", std::move(sub_errors)},
        {"subscribers_closed", closed_subs},
        {"foreign_frames", foreign_},
        {"corrupt_frames", corrupt_},
        {"protocol_errors", pool_.protocol_errors()},
        {"publisher_closed",
         pub.state == ConnState::open ? json::value(nullptr) : json::value(pub.close_reason)},
        {"published_total", next_seq_},
        {"written_total", w},
        {"unsent_at_end", next_seq_ - w},
        {"publish_skipped", skipped_},
        {"publisher_backlog_max_bytes", pub_backlog_max_},
        {"drain_complete", drain_complete},
        {"drain_seconds", round_to(to_s(drain_ns), 0.001)},
        {"server_cpu_pct", num_or_null(srv_pct)},
        {"deliveries_per_server_cpu_s", num_or_null(per_cpu_s)},
        {"server_rss_kib",
         {{"start", num_or_null(rss_start)}, {"end", num_or_null(rss_end)}, {"max", num_or_null(rss_.peak)}}},
        {"generator_cpu_pct", num_or_null(gen_pct)},
        {"generator_bound", generator_bound},
        {"generator_empty_polls_pct", round_to(empty_polls_pct, 0.1)},
        {"cpu", cpu.to_json()},
        {"watched", std::move(watched)}};

    json::object stuck;
    if (cfg_.stuck) {
        stuck = stuck_report();
        r.json["stuck"] = stuck;
        if (rss_start && rss_end)
            r.json["server_rss_growth_kib_per_s"] =
                round_to((static_cast<double>(*rss_end) - static_cast<double>(*rss_start)) /
                             std::max(to_s(win_end - win_start) + cc.warmup, 1e-3),
                         0.1);
    }
    r.json["warnings"] = warnings_json(warnings);

    // human table
    std::string t;
    t += fmt::format("wshub-bench {}: {} subscribers{} + 1 publisher, {} B text messages, ", mode(),
                     cfg_.subscribers, cfg_.stuck ? " (+1 stuck, never reading)" : "", cfg_.size);
    t += fixed_rate_ ? fmt::format("fixed rate {} msg/s", cfg_.rate)
                     : fmt::format("max rate (window {})", cfg_.window);
    t += fmt::format(", {:.1f} s measured\n", win_s);
    t += fmt::format("  {:<24}{}/s\n", "published", si(published_per_s));
    t += fmt::format("  {:<24}{}/s   ({}subscribers only; with the publisher's copies {}/s)\n", "deliveries",
                     si(deliveries_per_s), cfg_.stuck ? "healthy " : "",
                     si(static_cast<double>(win_deliveries + win_own) / win_s));
    t += fmt::format("  {:<24}p50 {}  p90 {}  p99 {}  p99.9 {}  max {}   ({} samples)\n", "latency",
                     human_ns(static_cast<double>(hist_.percentile(0.5))),
                     human_ns(static_cast<double>(hist_.percentile(0.9))),
                     human_ns(static_cast<double>(hist_.percentile(0.99))),
                     human_ns(static_cast<double>(hist_.percentile(0.999))),
                     human_ns(static_cast<double>(hist_.max())), hist_.count());
    t += fmt::format("  {:<24}{} / {} / {}   ({} of {} subscribers affected, {} closed; drain {})\n",
                     "lost / dup / reordered", lost, dup, ooo, with_errors, cfg_.subscribers, closed_subs,
                     drain_complete ? "complete" : "timed out");
    if (skipped_ || next_seq_ != w)
        t += fmt::format("  {:<24}{} skipped (publisher backlog over {} MiB), {} unsent at the end\n",
                         "publisher", skipped_, backlog_cap >> 20, next_seq_ - w);
    if (pub.state != ConnState::open) t += fmt::format("  {:<24}closed: {}\n", "publisher", pub.close_reason);
    if (cc.pid)
        t += fmt::format("  {:<24}{}   ({} deliveries per server CPU-second)\n", "server cpu", pct(srv_pct),
                         per_cpu_s ? si(*per_cpu_s) : std::string("-"));
    t += fmt::format("  {:<24}{}{}{}\n", "generator cpu", pct(gen_pct),
                     cc.busy_poll ? fmt::format(" (busy-polling, {:.0f}% of polls empty)", empty_polls_pct)
                                  : "",
                     generator_bound ? "   GENERATOR-BOUND: the numbers above are a lower bound" : "");
    t += watched_table;
    if (cc.pid)
        t += fmt::format("  {:<24}start {} KiB, end {} KiB, max {} KiB\n", "server rss",
                         rss_start ? std::to_string(*rss_start) : "-",
                         rss_end ? std::to_string(*rss_end) : "-",
                         rss_.peak ? std::to_string(*rss_.peak) : "-");
    if (cfg_.stuck && r.json.contains("server_rss_growth_kib_per_s"))
        t += fmt::format("  {:<24}{:.0f} KiB/s over the run\n", "server rss growth",
                         r.json["server_rss_growth_kib_per_s"].to_number<double>());
    if (cfg_.stuck)
        t += fmt::format("  {:<24}{} ({}); {} messages read from it afterwards\n", "stuck subscriber",
                         stuck["closed_by_server"].as_bool() ? "closed by the server" : "still open",
                         stuck["evidence"].as_string().c_str(), stuck["messages_drained"].as_uint64());
    for (const auto& wmsg : warnings)
        t += fmt::format("  warning: {}\n", wmsg);
    r.table = std::move(t);
    return r;
}

const char* tcp_state_name(int s) {
    static constexpr const char* names[] = {"?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                                            "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                            "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};
    return s >= 0 && s < 12 ? names[s] : "?";
}

// Best effort: did the server give up on the subscriber that never reads? A reset, an EOF or a close
// frame says so. A server that closed its end while data for us was still queued answers new data
// with a reset, hence the ping.
json::object FanoutRun::stuck_report() {
    Conn& c = *stuck_;
    json::object o;
    if (c.fd < 0) {
        o["closed_by_server"] = c.server_closed;
        o["evidence"] = c.close_reason;
        o["messages_drained"] = 0;
        return o;
    }
    std::string evidence;
    bool closed = false;
    int fd = c.fd;
    auto sock_error = [&]() {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        return err;
    };
    tcp_info ti{};
    socklen_t tl = sizeof ti;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0)
        o["tcp_state_before"] = tcp_state_name(ti.tcpi_state);
    if (int err = sock_error()) {
        closed = true;
        evidence = fmt::format("socket error {}", std::strerror(err));
    }
    if (!closed) {
        uint8_t frame[client_frame_size(4)];
        const uint8_t body[4] = {'p', 'r', 'o', 'b'};
        size_t n = put_client_frame(frame, op::ping, body, sizeof body, pool_.next_mask());
        if (::send(fd, frame, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
            (errno == EPIPE || errno == ECONNRESET)) {
            closed = true;
            evidence = fmt::format("ping failed: {}", std::strerror(errno));
        }
    }
    if (!closed) {
        ::usleep(200'000);
        if (int err = sock_error()) {
            closed = true;
            evidence = fmt::format("reset after a ping ({})", std::strerror(err));
        }
    }
    // read what the server still had for it: also shows whether it kept, dropped or cut messages
    uint64_t bytes = 0, before = trackers_[c.index].unique();
    bool close_frame = false;
    std::vector<uint8_t> buf(256 * 1024);
    uint64_t until = now_ns() + 2 * ns_per_s;
    while (!closed && now_ns() < until) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 300) <= 0) break; // quiet for 300 ms: nothing more is coming
        ssize_t r = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (r == 0) {
            closed = true;
            evidence = "EOF";
        } else if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            closed = true;
            evidence = fmt::format("read: {}", std::strerror(errno));
        } else {
            bytes += static_cast<uint64_t>(r);
            bool ok = c.parser.feed(
                buf.data(), static_cast<size_t>(r), [&](const Message& m) { on_message(c, m, now_ns()); },
                [&](uint8_t opcode, const uint8_t*, size_t) {
                    if (opcode != op::close) return true;
                    close_frame = true;
                    return false;
                });
            if (close_frame) {
                closed = true;
                evidence = "close frame";
            } else if (!ok) {
                closed = true;
                evidence = fmt::format("protocol error: {}", c.parser.error());
            }
        }
    }
    if (!closed) evidence = "no reset, EOF or close frame";
    const SeqTracker& t = trackers_[c.index];
    o["closed_by_server"] = closed;
    o["evidence"] = evidence;
    o["bytes_drained"] = bytes;
    o["messages_drained"] = t.unique() - before;
    o["messages_received"] = t.unique();
    o["messages_missing"] = t.lost(written());
    return o;
}

// ---------------------------------------------------------------------------------------------
// idle

class IdleRun {
  public:
    explicit IdleRun(const IdleConfig& cfg)
        : cfg_(cfg)
        , pool_(pool_options(cfg.common)) {}

    Result run();

    void on_open(Conn&) {}
    void on_close(Conn&) {}
    void on_extra(uint32_t, uint64_t) {}

    void on_message(Conn& c, const Message& m, uint64_t now) {
        if (c.role != role_idle || c.index >= got_.size()) return;
        std::string_view body(reinterpret_cast<const char*>(m.data), m.len);
        if (body != expected_ || got_[c.index] == round_) return;
        got_[c.index] = round_;
        arrivals_.push_back(now - t_send_);
    }

  private:
    void progress(uint64_t now, bool force = false) {
        if (!cfg_.common.progress || (!force && now < next_progress_)) return;
        fmt::print(stderr, "[idle] {:6.1f}s connecting  open {}/{}  failed {}\n", to_s(now - t_begin_),
                   pool_.open_count(), n_, pool_.failed_count());
        next_progress_ = now + ns_per_s;
    }

    IdleConfig cfg_;
    ConnPool pool_;
    uint32_t n_ = 0;
    std::vector<uint32_t> got_; // per idle connection: the last round it received
    std::vector<uint64_t> arrivals_;
    std::string expected_;
    uint32_t round_ = 0;
    uint64_t t_send_ = 0;
    uint64_t t_begin_ = 0;
    uint64_t next_progress_ = 0;
};

Result IdleRun::run() {
    const CommonConfig& cc = cfg_.common;
    std::vector<std::string> warnings;
    n_ = fit_fd_limit(cfg_.connections, 1, warnings);
    print_warnings(warnings);
    auto ep = pool_options(cc).endpoint;
    if (cc.sources > 1 && ep.family != AF_INET)
        warnings.push_back("--sources applies to IPv4 targets only: one source address limits the connection "
                           "count to the ephemeral port range");

    auto rss_before = process_rss_kib(cc.pid);
    t_begin_ = now_ns();
    next_progress_ = t_begin_ + ns_per_s;
    for (uint32_t i = 0; i < n_; ++i)
        pool_.add(role_idle, i + 1);
    got_.assign(n_, 0);
    uint64_t deadline = t_begin_ + to_ns(cc.connect_timeout);
    uint64_t now = t_begin_;
    while (!pool_.connecting_done() && now < deadline) {
        pool_.poll(50, *this);
        now = now_ns();
        progress(now);
    }
    double connect_s = to_s(now - t_begin_);
    size_t opened = pool_.open_count();
    size_t pending = pool_.pending_count();
    progress(now, true);
    if (opened == 0) {
        Result res;
        res.exit_code = 1;
        res.json = {{"mode", "idle"},
                    {"status", "connect-failed"},
                    {"target", target_json(cc)},
                    {"connections",
                     {{"requested", cfg_.connections},
                      {"attempted", n_},
                      {"opened", 0},
                      {"failed", pool_.failed_count()},
                      {"pending_at_deadline", pending},
                      {"connect_seconds", round_to(connect_s, 0.001)},
                      {"errors", errors_json(pool_)}}},
                    {"warnings", warnings_json(warnings)}};
        res.table =
            fmt::format("wshub-bench idle: could not connect: none of {} connections open after {:.1f} s\n",
                        n_, connect_s);
        for (const auto& [what, n] : pool_.errors())
            res.table += fmt::format("  {} x{}\n", what, n);
        if (pending)
            res.table += fmt::format("  {} still pending at the deadline (--connect-timeout)\n", pending);
        return res;
    }

    // hold them idle, then read the server's memory
    uint64_t hold_end = now_ns() + to_ns(cc.duration);
    while ((now = now_ns()) < hold_end)
        pool_.poll(static_cast<int>(std::min<uint64_t>((hold_end - now) / 1'000'000 + 1, 100)), *this);
    auto rss_after = process_rss_kib(cc.pid);
    size_t still_open = pool_.open_count();

    // one more connection broadcasts; time until every idle connection has it
    Conn& sender = pool_.add(role_sender, 1'000'000 + n_);
    deadline = now_ns() + 10 * ns_per_s;
    while (sender.state != ConnState::open && sender.state != ConnState::failed && now_ns() < deadline)
        pool_.poll(50, *this);
    json::array rounds;
    std::vector<double> reach_ms;
    std::string reach_table;
    if (sender.state == ConnState::open) {
        for (int r = 1; r <= cfg_.rounds; ++r) {
            round_ = static_cast<uint32_t>(r);
            expected_ = fmt::format("reach-{}", r);
            arrivals_.clear();
            size_t targets = 0;
            for (size_t i = 0; i < n_; ++i)
                targets += pool_[i].state == ConnState::open;
            uint8_t frame[64];
            size_t len = put_client_frame(frame, op::text, reinterpret_cast<const uint8_t*>(expected_.data()),
                                          expected_.size(), pool_.next_mask());
            t_send_ = now_ns();
            pool_.send(sender, frame, len);
            uint64_t until = t_send_ + to_ns(cfg_.reach_timeout);
            while (arrivals_.size() < targets && now_ns() < until)
                pool_.poll(10, *this);
            std::sort(arrivals_.begin(), arrivals_.end());
            auto at = [&](double q) -> json::value {
                if (arrivals_.empty()) return nullptr;
                size_t i =
                    std::min(arrivals_.size() - 1,
                             static_cast<size_t>(std::ceil(q * static_cast<double>(arrivals_.size()))) - 1);
                return round_to(static_cast<double>(arrivals_[i]) / 1e6, 0.001);
            };
            bool all = arrivals_.size() == targets && targets > 0;
            json::object o{{"round", r},
                           {"targets", targets},
                           {"received", arrivals_.size()},
                           {"complete", all},
                           {"first_ms", at(0)},
                           {"p50_ms", at(0.5)},
                           {"p99_ms", at(0.99)},
                           {"reach_ms", all ? at(1.0) : json::value(nullptr)}};
            if (all) reach_ms.push_back(static_cast<double>(arrivals_.back()) / 1e6);
            reach_table += fmt::format(
                "    round {}: {} of {} received{}\n", r, arrivals_.size(), targets,
                all ? fmt::format(", all within {}", human_ns(static_cast<double>(arrivals_.back())))
                    : std::string(", timed out"));
            rounds.push_back(std::move(o));
            uint64_t pause_end = now_ns() + 200'000'000;
            while (now_ns() < pause_end)
                pool_.poll(20, *this);
        }
    } else {
        warnings.push_back("the broadcasting connection could not be opened");
    }
    std::optional<double> reach_median;
    if (!reach_ms.empty()) {
        std::sort(reach_ms.begin(), reach_ms.end());
        reach_median = reach_ms[reach_ms.size() / 2];
    }

    std::optional<double> per_conn;
    if (rss_before && rss_after && opened > 0)
        per_conn = (static_cast<double>(*rss_after) - static_cast<double>(*rss_before)) * 1024.0 /
                   static_cast<double>(opened);

    if (pending)
        warnings.push_back(
            fmt::format("{} connections were still pending at the deadline (--connect-timeout)", pending));
    Result res;
    res.exit_code = opened < n_ ? 1 : 0;
    res.json = {
        {"mode", "idle"},
        {"status", opened < n_ ? "connect-failed" : "ok"},
        {"target", target_json(cc)},
        {"params",
         {{"connections", cfg_.connections},
          {"sources", cc.sources},
          {"concurrency", cc.concurrency},
          {"hold_seconds", cc.duration},
          {"rounds", cfg_.rounds}}},
        {"connections",
         {{"requested", cfg_.connections},
          {"attempted", n_},
          {"opened", opened},
          {"failed", pool_.failed_count()},
          {"pending_at_deadline", pending},
          {"open_after_hold", still_open},
          {"connect_seconds", round_to(connect_s, 0.001)},
          {"connects_per_s", round_to(static_cast<double>(opened) / std::max(connect_s, 1e-3), 0.1)},
          {"errors", errors_json(pool_)}}},
        {"server_rss_kib", {{"before", num_or_null(rss_before)}, {"after", num_or_null(rss_after)}}},
        {"rss_bytes_per_connection", per_conn ? json::value(round_to(*per_conn, 1)) : json::value(nullptr)},
        {"broadcast_rounds", std::move(rounds)},
        {"broadcast_reach_ms", num_or_null(reach_median)},
        {"protocol_errors", pool_.protocol_errors()},
        {"warnings", warnings_json(warnings)}};

    std::string t;
    t += fmt::format("wshub-bench idle: {} connections from {} source address(es)\n", n_, cc.sources);
    t += fmt::format("  {:<24}{} opened, {} failed in {:.1f} s ({}/s); {} still open after {:.0f} s idle\n",
                     "connections", opened, pool_.failed_count(), connect_s,
                     si(static_cast<double>(opened) / std::max(connect_s, 1e-3)), still_open, cc.duration);
    for (const auto& [what, n] : pool_.errors())
        t += fmt::format("  {:<24}{} x{}\n", "", what, n);
    if (cc.pid)
        t += fmt::format("  {:<24}before {} KiB, after {} KiB  -> {} bytes per connection\n", "server rss",
                         rss_before ? std::to_string(*rss_before) : "-",
                         rss_after ? std::to_string(*rss_after) : "-",
                         per_conn ? fmt::format("{:.0f}", *per_conn) : "-");
    t +=
        fmt::format("  {:<24}{}   (median of complete rounds: time until every connection had the message)\n",
                    "broadcast reach", reach_median ? human_ns(*reach_median * 1e6) : "-");
    t += reach_table;
    for (const auto& w : warnings)
        t += fmt::format("  warning: {}\n", w);
    res.table = std::move(t);
    return res;
}

} // namespace

Result run_fanout(const FanoutConfig& cfg) {
    FanoutRun run(cfg);
    return run.run();
}

Result run_idle(const IdleConfig& cfg) {
    IdleRun run(cfg);
    return run.run();
}

double hard_deadline_seconds(const FanoutConfig& cfg) {
    const CommonConfig& c = cfg.common;
    return c.connect_timeout + c.warmup + c.duration + c.drain + (cfg.stuck ? 5 : 0) + 30;
}

double hard_deadline_seconds(const IdleConfig& cfg) {
    const CommonConfig& c = cfg.common;
    return c.connect_timeout + c.duration + 10 + cfg.rounds * (cfg.reach_timeout + 1) + 30;
}

} // namespace wsbench

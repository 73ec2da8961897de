// publish: wshub's publish API under load. HTTP connections keep `depth` requests in flight each;
// WebSocket receivers count what arrives, so every published message is checked for delivery.
#include "conn_pool.hpp"
#include "histogram.hpp"
#include "http_pipeline.hpp"
#include "payload.hpp"
#include "proc_stats.hpp"
#include "run_support.hpp"
#include "scenarios.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace wsbench {

namespace json = boost::json;

namespace {

enum PublishRole : uint8_t { role_receiver, role_idle };

// The 16 hex digits of a payload's sequence field: the phase (so that a late message of an earlier
// phase is recognised), the HTTP connection that published it (the hub keeps each connection's
// order, not an order across connections) and its number on that connection.
constexpr int conn_bits = 16;
constexpr int seq_bits = 40;
constexpr uint64_t seq_mask = (uint64_t{1} << seq_bits) - 1;
constexpr uint32_t max_http_connections = 1u << conn_bits;

uint64_t message_id(uint64_t phase_tag, uint32_t conn, uint64_t seq) {
    return (phase_tag << (conn_bits + seq_bits)) | (uint64_t{conn} << seq_bits) | seq;
}

// wshub answers {"id":N,"delivered":D} or an array of them, serialized without spaces.
void sum_delivered(std::string_view body, uint64_t& answers, uint64_t& delivered) {
    static constexpr std::string_view key = "\"delivered\":";
    for (size_t at = body.find(key); at != std::string_view::npos; at = body.find(key, at)) {
        at += key.size();
        uint64_t v = 0;
        while (at < body.size() && body[at] >= '0' && body[at] <= '9')
            v = v * 10 + static_cast<uint64_t>(body[at++] - '0');
        ++answers;
        delivered += v;
    }
}

// What one phase, or a row (the same phase over several rounds), measured.
struct Tally {
    double window_s = 0;
    uint64_t requests = 0;
    uint64_t messages = 0;
    uint64_t deliveries = 0;      // by the receivers, in the window
    uint64_t idle_deliveries = 0; // by the idle connections (route all), in the window
    uint64_t lost = 0, duplicated = 0, out_of_order = 0, stale = 0, corrupt = 0;
    uint64_t http_errors = 0;       // answers other than 200
    uint64_t answer_mismatches = 0; // answers whose count or `delivered` was not the expected one
    uint64_t reconnects = 0;
    uint64_t receivers_closed = 0;
    double server_cpu_s = 0, generator_cpu_s = 0, other_cpu_s = 0; // % x seconds, summed
    bool server_cpu_known = true, other_known = true;
    bool drain_complete = true;
    Histogram request_latency;
    Histogram delivery_latency;

    void add(const Tally& o) {
        window_s += o.window_s;
        requests += o.requests;
        messages += o.messages;
        deliveries += o.deliveries;
        idle_deliveries += o.idle_deliveries;
        lost += o.lost;
        duplicated += o.duplicated;
        out_of_order += o.out_of_order;
        stale += o.stale;
        corrupt += o.corrupt;
        http_errors += o.http_errors;
        answer_mismatches += o.answer_mismatches;
        reconnects += o.reconnects;
        receivers_closed = std::max(receivers_closed, o.receivers_closed);
        server_cpu_s += o.server_cpu_s;
        generator_cpu_s += o.generator_cpu_s;
        other_cpu_s += o.other_cpu_s;
        server_cpu_known &= o.server_cpu_known;
        other_known &= o.other_known;
        drain_complete &= o.drain_complete;
        request_latency.merge(o.request_latency);
        delivery_latency.merge(o.delivery_latency);
    }

    double per_s(uint64_t n) const { return window_s > 0 ? static_cast<double>(n) / window_s : 0; }
    std::optional<double> avg_pct(double pct_s, bool known) const {
        if (!known || window_s <= 0) return std::nullopt;
        return pct_s / window_s;
    }
};

struct Row {
    uint32_t idle = 0;
    std::string route;
    uint32_t batch = 1;
    uint32_t expected_per_message = 0; // connections each message should reach
    std::unique_ptr<Tally> tally = std::make_unique<Tally>();
};

class PublishRun {
  public:
    explicit PublishRun(const PublishConfig& cfg)
        : cfg_(cfg)
        , pool_(pool_options(cfg.common))
        , endpoint_(loopback_endpoint(cfg.common.host, cfg.common.port))
        , receiver_query_("channels=" + cfg.channel) {
        rss_.pid = cfg.common.pid;
        padding_.resize(cfg.size - payload_header_size);
        for (size_t i = 0; i < padding_.size(); ++i)
            padding_[i] = static_cast<char>('a' + i % 26);
    }

    Result run();

    void on_open(Conn&) {}
    void on_close(Conn&) {}

    void on_message(Conn& c, const Message& m, uint64_t now) {
        if (m.size != cfg_.size || m.len < payload_header_size) {
            ++foreign_;
            return;
        }
        uint64_t id = get_hex16(m.data);
        if ((id >> (conn_bits + seq_bits)) != phase_tag_) {
            ++phase_.stale;
            return;
        }
        uint32_t conn = static_cast<uint32_t>((id >> seq_bits) & (max_http_connections - 1));
        if (conn >= cfg_.http_connections) {
            ++phase_.corrupt;
            return;
        }
        if (c.role == role_idle) {
            if (measuring_) ++phase_.idle_deliveries;
            return;
        }
        trackers_[size_t{c.index} * cfg_.http_connections + conn].on_seq(id & seq_mask);
        if (!measuring_) return;
        ++phase_.deliveries;
        uint64_t ts = get_hex16(m.data + 16);
        phase_.delivery_latency.record(now > ts ? now - ts : 0);
    }

    void on_extra(uint32_t k, uint64_t now) {
        if (k >= http_.size()) return;
        HttpPipeline& p = *http_[k];
        if (p.want_write()) p.flush();
        auto status = p.read([&](const HttpRequest& r, unsigned code, std::string_view body) {
            on_answer(k, r, code, body, now);
        });
        if (status == HttpPipeline::ReadStatus::protocol_error) {
            note_error(fmt::format("HTTP connection: {}", p.error()));
            status = HttpPipeline::ReadStatus::ended;
        }
        if (status == HttpPipeline::ReadStatus::ended) {
            // the server closed it (its request limit per connection, or an error): again, with
            // what it left unanswered
            if (auto err = p.connect(); !err.empty()) {
                note_error(err);
                http_down_ = true;
                return;
            }
            ++phase_.reconnects;
            pool_.add_extra_fd(p.fd(), k, p.want_write());
            watching_write_[k] = p.want_write();
        }
        top_up(k);
        if (p.is_open() && p.want_write() != watching_write_[k]) {
            watching_write_[k] = p.want_write();
            pool_.watch_extra_fd(p.fd(), k, watching_write_[k]);
        }
    }

  private:
    // Each distinct error once, with how often it happened.
    void note_error(const std::string& what) {
        auto it = errors_.find(what);
        if (it != errors_.end())
            ++it->second;
        else if (errors_.size() < 20)
            errors_.emplace(what, 1);
    }

    void on_answer(uint32_t k, const HttpRequest& r, unsigned code, std::string_view body, uint64_t now) {
        if (code != 200) {
            ++phase_.http_errors;
            auto line = body.substr(0, std::min<size_t>(body.find_last_not_of("\r\n") + 1, 120));
            note_error(fmt::format("HTTP {}: {}", code, line));
            return;
        }
        uint64_t answers = 0, delivered = 0;
        sum_delivered(body, answers, delivered);
        if (answers != r.messages || delivered != uint64_t{expected_per_message_} * r.messages)
            ++phase_.answer_mismatches;
        answered_[k] = std::max(answered_[k], r.first_seq + r.messages);
        if (!measuring_) return;
        ++phase_.requests;
        phase_.messages += r.messages;
        phase_.request_latency.record(now > r.queued_ns ? now - r.queued_ns : 0);
    }

    // Keeps `depth` requests in flight on HTTP connection k while publishing.
    void top_up(uint32_t k) {
        HttpPipeline& p = *http_[k];
        if (!publishing_ || !p.is_open()) return;
        while (p.unanswered() < cfg_.depth)
            p.submit(make_request(k, now_ns()));
    }

    HttpRequest make_request(uint32_t k, uint64_t now) {
        HttpRequest r;
        r.first_seq = next_seq_[k];
        r.messages = batch_;
        r.queued_ns = now;
        std::string& body = body_;
        body.clear();
        if (batch_ > 1) body += '[';
        char header[payload_header_size];
        for (uint32_t i = 0; i < batch_; ++i) {
            if (i) body += ',';
            put_hex16(reinterpret_cast<uint8_t*>(header), message_id(phase_tag_, k, next_seq_[k]++));
            put_hex16(reinterpret_cast<uint8_t*>(header) + 16, now);
            body += R"({"data":")";
            body.append(header, payload_header_size);
            body += padding_;
            body += '"';
            body += route_fields_;
            body += '}';
        }
        if (batch_ > 1) body += ']';
        r.bytes =
            fmt::format("POST /api/publish HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\n"
                        "{}Content-Length: {}\r\n\r\n",
                        cfg_.common.host, cfg_.common.port, auth_header_, body.size());
        r.bytes += body;
        return r;
    }

    std::string route_fields(const std::string& route) const {
        if (route == "channel") return fmt::format(R"(,"channel":"{}")", cfg_.channel);
        if (route == "user") {
            std::string s = R"(,"user_ids":[)";
            for (uint32_t i = 0; i < cfg_.receivers; ++i)
                s += fmt::format(R"({}"{}")", i ? "," : "", receiver_user(i));
            return s + "]";
        }
        return {};
    }

    static uint64_t receiver_user(uint32_t i) { return i + 1; }

    bool receivers_complete() const {
        for (uint32_t i = 0; i < cfg_.receivers; ++i) {
            if (pool_state(i) != ConnState::open) continue;
            for (uint32_t k = 0; k < cfg_.http_connections; ++k) {
                const SeqTracker& t = trackers_[size_t{i} * cfg_.http_connections + k];
                if (t.next() < answered_[k] || t.has_gaps()) return false;
            }
        }
        return true;
    }

    ConnState pool_state(uint32_t i) const { return pool_[i].state; }

    bool open_connections(size_t upto, const char* what, double& seconds);
    void run_phase(Row& row, int round);
    Result connect_failed(const std::string& what, double seconds);
    void progress(uint64_t now, const char* phase);

    PublishConfig cfg_;
    ConnPool pool_;
    Endpoint endpoint_;
    std::string receiver_query_;
    std::string padding_;
    std::string body_;
    std::string route_fields_;
    std::string auth_header_;
    std::vector<std::unique_ptr<HttpPipeline>> http_;
    std::vector<bool> watching_write_;
    std::vector<uint64_t> next_seq_;   // per HTTP connection: messages numbered in this phase
    std::vector<uint64_t> answered_;   // per HTTP connection: messages answered 200 (in order)
    std::vector<SeqTracker> trackers_; // receiver x HTTP connection
    Tally phase_;
    uint64_t phase_tag_ = 0;
    uint32_t batch_ = 1;
    uint32_t expected_per_message_ = 0;
    uint32_t phases_run_ = 0;
    uint64_t foreign_ = 0;
    bool publishing_ = false;
    bool measuring_ = false;
    bool http_down_ = false;
    std::map<std::string, uint64_t> errors_;
    std::vector<std::string> warnings_;
    json::array phases_json_;
    json::array levels_json_;
    RssTrack rss_;
    uint64_t t_begin_ = 0;
    uint64_t next_progress_ = 0;
};

void PublishRun::progress(uint64_t now, const char* phase) {
    if (!cfg_.common.progress || now < next_progress_) return;
    next_progress_ = now + ns_per_s;
    fmt::print(stderr, "[publish] {:6.1f}s {:<24} open {}/{}  requests {}  messages {}  deliveries {}\n",
               to_s(now - t_begin_), phase, pool_.open_count(), pool_.size(), phase_.requests,
               phase_.messages, phase_.deliveries);
}

bool PublishRun::open_connections(size_t upto, const char* what, double& seconds) {
    uint64_t start = now_ns();
    uint64_t deadline = start + to_ns(cfg_.common.connect_timeout);
    uint64_t now = start;
    while (!pool_.connecting_done() && now < deadline) {
        pool_.poll(50, *this);
        now = now_ns();
        progress(now, what);
    }
    seconds = to_s(now - start);
    return pool_.open_count() >= upto;
}

Result PublishRun::connect_failed(const std::string& what, double seconds) {
    Result r;
    r.exit_code = 1;
    r.json = {{"mode", "publish"},
              {"status", "connect-failed"},
              {"target", target_json(cfg_.common)},
              {"connections",
               {{"requested", pool_.size()},
                {"opened", pool_.open_count()},
                {"failed", pool_.failed_count()},
                {"pending_at_deadline", pool_.pending_count()},
                {"connect_seconds", round_to(seconds, 0.001)},
                {"errors", errors_json(pool_)}}},
              {"warnings", warnings_json(warnings_)}};
    r.table =
        fmt::format("wshub-bench publish: could not open {}: {} of {} connections open after {:.1f} s\n",
                    what, pool_.open_count(), pool_.size(), seconds);
    for (const auto& [err, n] : pool_.errors())
        r.table += fmt::format("  {} x{}\n", err, n);
    return r;
}

void PublishRun::run_phase(Row& row, int round) {
    const CommonConfig& cc = cfg_.common;
    ++phases_run_;
    phase_tag_ = phases_run_ % 255 + 1;
    phase_ = Tally{};
    batch_ = row.batch;
    route_fields_ = route_fields(row.route);
    expected_per_message_ = row.expected_per_message;
    const uint32_t nconn = cfg_.http_connections;
    trackers_.clear();
    trackers_.resize(size_t{cfg_.receivers} * nconn);
    next_seq_.assign(nconn, 0);
    answered_.assign(nconn, 0);
    watching_write_.assign(nconn, false);
    http_.clear();
    http_down_ = false;
    for (uint32_t k = 0; k < nconn; ++k) {
        http_.push_back(std::make_unique<HttpPipeline>(endpoint_));
        if (auto err = http_[k]->connect(); !err.empty()) {
            note_error(err);
            http_down_ = true;
            break;
        }
        pool_.add_extra_fd(http_[k]->fd(), k);
    }

    publishing_ = !http_down_;
    for (uint32_t k = 0; k < http_.size() && publishing_; ++k)
        on_extra(k, now_ns());
    uint64_t now = now_ns();
    const uint64_t warm_end = now + to_ns(cc.warmup);
    uint64_t measure_end = 0, drain_end = 0, win_start = 0;
    CpuMeter srv, gen;
    srv.pid = cc.pid;
    CoreTimes cores_start;
    enum class Step { warmup, measure, drain } step = Step::warmup;
    const std::string label = fmt::format("idle {} {} x{}", row.idle, row.route, row.batch);
    auto drained = [&] {
        for (const auto& p : http_)
            if (p->unanswered() > 0 && p->is_open()) return false;
        return receivers_complete();
    };
    for (;;) {
        pool_.poll(cc.busy_poll ? 0 : 10, *this);
        now = now_ns();
        if (step == Step::warmup && now >= warm_end) {
            step = Step::measure;
            measuring_ = true;
            win_start = now;
            measure_end = now + to_ns(cc.duration);
            srv.start();
            gen.start();
            cores_start = CoreTimes::read();
        }
        if (step == Step::measure && (now >= measure_end || http_down_)) {
            measuring_ = false;
            publishing_ = false;
            phase_.window_s = to_s(now - win_start);
            auto s = srv.percent(), g = gen.percent();
            CpuSummary cpu = summarize_cpu(s, g, cores_start, CoreTimes::read());
            phase_.server_cpu_known = s.has_value();
            phase_.server_cpu_s = s.value_or(0) * phase_.window_s;
            phase_.generator_cpu_s = g.value_or(0) * phase_.window_s;
            phase_.other_known = cpu.other_pct.has_value();
            phase_.other_cpu_s = cpu.other_pct.value_or(0) * phase_.window_s;
            step = Step::drain;
            drain_end = now + to_ns(cc.drain);
        }
        if (step == Step::drain && (drained() || now >= drain_end)) break;
        if (http_down_ && step == Step::drain) break;
        progress(now, label.c_str());
    }
    phase_.drain_complete = drained();

    // losses: against what the server answered as published, per HTTP connection
    for (uint32_t i = 0; i < cfg_.receivers; ++i) {
        if (pool_state(i) != ConnState::open) {
            ++phase_.receivers_closed;
            continue;
        }
        for (uint32_t k = 0; k < nconn; ++k) {
            const SeqTracker& t = trackers_[size_t{i} * nconn + k];
            phase_.lost += t.lost(answered_[k]);
            phase_.duplicated += t.duplicated();
            phase_.out_of_order += t.out_of_order();
        }
    }
    for (const auto& p : http_)
        if (p->is_open()) pool_.remove_extra_fd(p->fd());
    http_.clear();

    phases_json_.push_back({{"idle", row.idle},
                            {"route", row.route},
                            {"batch", row.batch},
                            {"round", round},
                            {"window_seconds", round_to(phase_.window_s, 0.0001)},
                            {"requests_per_s", round_to(phase_.per_s(phase_.requests), 0.1)},
                            {"messages_per_s", round_to(phase_.per_s(phase_.messages), 0.1)},
                            {"deliveries_per_s", round_to(phase_.per_s(phase_.deliveries), 0.1)},
                            {"lost", phase_.lost},
                            {"duplicated", phase_.duplicated},
                            {"out_of_order", phase_.out_of_order},
                            {"http_errors", phase_.http_errors},
                            {"drain_complete", phase_.drain_complete}});
    row.tally->add(phase_);
}

Result PublishRun::run() {
    const CommonConfig& cc = cfg_.common;
    if (!cfg_.api_token.empty()) auth_header_ = fmt::format("Authorization: Bearer {}\r\n", cfg_.api_token);
    uint32_t most_idle = cfg_.idle.empty() ? 0 : cfg_.idle.back();
    uint32_t wanted = cfg_.receivers + most_idle;
    if (fit_fd_limit(wanted, cfg_.http_connections + 1, warnings_) < wanted) {
        print_warnings(warnings_);
        throw std::runtime_error(
            "not enough file descriptors for the connections asked for (see the warning)");
    }
    t_begin_ = now_ns();
    next_progress_ = t_begin_ + ns_per_s;

    for (uint32_t i = 0; i < cfg_.receivers; ++i)
        pool_.add(role_receiver, receiver_user(i), 0, receiver_query_);
    double connect_s = 0;
    if (!open_connections(cfg_.receivers, "connecting receivers", connect_s))
        return connect_failed("the receivers", connect_s);

    std::vector<Row> rows;
    for (uint32_t idle : cfg_.idle) {
        // more idle connections (no channel, users of their own), then the server's RSS per connection
        rss_.sample();
        auto rss_before = rss_.last;
        size_t before = pool_.size() - cfg_.receivers;
        for (size_t i = before; i < idle; ++i)
            pool_.add(role_idle, 1'000'000 + i);
        double idle_s = 0;
        if (!open_connections(cfg_.receivers + idle, "connecting idle", idle_s))
            return connect_failed(fmt::format("{} idle connections", idle), idle_s);
        auto rss_after = rss_.sample();
        json::object level{{"idle", idle}, {"connect_seconds", round_to(idle_s, 0.001)}};
        level["server_rss_kib"] = num_or_null(rss_after);
        if (rss_before && rss_after && idle > before)
            level["rss_bytes_per_added_connection"] =
                round_to((static_cast<double>(*rss_after) - static_cast<double>(*rss_before)) * 1024.0 /
                             static_cast<double>(idle - before),
                         1);
        levels_json_.push_back(std::move(level));

        size_t first_row = rows.size();
        for (const auto& route : cfg_.routes)
            for (uint32_t batch : cfg_.batches) {
                Row& row = rows.emplace_back();
                row.idle = idle;
                row.route = route;
                row.batch = batch;
                row.expected_per_message = cfg_.receivers + (route == "all" ? idle : 0);
            }
        // rounds interleave the phases, so that a drift of the machine's speed hits them alike
        for (int round = 1; round <= cfg_.rounds; ++round)
            for (size_t i = first_row; i < rows.size(); ++i)
                run_phase(rows[i], round);
    }

    // the table and the JSON
    const Tally& first = *rows.front().tally;
    const double first_rate = first.per_s(first.messages);
    std::string t;
    t += fmt::format("wshub-bench publish: {} receivers (channel {}), {} HTTP connection(s) x {} requests in "
                     "flight, {} B messages, {:g} s per phase x {} round(s)\n",
                     cfg_.receivers, cfg_.channel, cfg_.http_connections, cfg_.depth, cfg_.size, cc.duration,
                     cfg_.rounds);
    t += fmt::format(
        "{:>7} {:<8}{:>6} {:>10} {:>10} {:>12} {:>8} {:>9} {:>9} {:>9} {:>9} {:>13} {:>8} {:>10} "
        "{:>10} {:>8}  {}\n",
        "idle", "route", "batch", "requests/s", "messages/s", "deliveries/s", "x first", "req_p50", "req_p99",
        "dlv_p50", "dlv_p99", "lost/dup/ooo", "srv_cpu", "msg/cpu-s", "dlv/cpu-s", "gen_cpu", "notes");
    json::array rows_json;
    bool all_ok = true;
    for (const auto& row : rows) {
        const Tally& y = *row.tally;
        auto srv = y.avg_pct(y.server_cpu_s, y.server_cpu_known);
        auto gen = y.avg_pct(y.generator_cpu_s, true);
        auto other = y.avg_pct(y.other_cpu_s, y.other_known);
        std::vector<std::string> notes;
        if (gen && *gen > generator_bound_pct) notes.emplace_back("generator-bound");
        if (other && *other > 15) notes.push_back(fmt::format("noisy({:.0f}%)", *other));
        if (!y.drain_complete) notes.emplace_back("drain-timeout");
        if (y.http_errors) notes.push_back(fmt::format("http-errors:{}", y.http_errors));
        if (y.answer_mismatches)
            notes.push_back(fmt::format("delivered!={}:{}", row.expected_per_message, y.answer_mismatches));
        if (y.reconnects) notes.push_back(fmt::format("reconnects:{}", y.reconnects));
        if (y.receivers_closed) notes.push_back(fmt::format("receivers-closed:{}", y.receivers_closed));
        if (y.stale || y.corrupt) notes.push_back(fmt::format("stale:{} corrupt:{}", y.stale, y.corrupt));
        all_ok &= y.http_errors == 0 && y.answer_mismatches == 0 && y.messages > 0;
        std::string joined;
        for (const auto& n : notes)
            joined += (joined.empty() ? "" : " ") + n;
        auto ms = [](uint64_t ns) { return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6); };
        double rate = y.per_s(y.messages);
        // per server CPU-second: what a share of a core buys, comparable when other processes
        // took some of the server's
        std::optional<double> msg_per_cpu, dlv_per_cpu;
        if (srv && *srv > 0) {
            msg_per_cpu = rate / (*srv / 100);
            dlv_per_cpu = y.per_s(y.deliveries) / (*srv / 100);
        }
        auto si_or_dash = [](std::optional<double> v) { return v ? si(*v) : std::string("-"); };
        t += fmt::format(
            "{:>7} {:<8}{:>6} {:>10} {:>10} {:>12} {:>7.2f}x {:>9} {:>9} {:>9} {:>9} {:>13} {:>8} "
            "{:>10} {:>10} {:>8}  {}\n",
            row.idle, row.route, row.batch, si(y.per_s(y.requests)), si(rate), si(y.per_s(y.deliveries)),
            first_rate > 0 ? rate / first_rate : 0.0, ms(y.request_latency.percentile(0.5)),
            ms(y.request_latency.percentile(0.99)), ms(y.delivery_latency.percentile(0.5)),
            ms(y.delivery_latency.percentile(0.99)),
            fmt::format("{}/{}/{}", y.lost, y.duplicated, y.out_of_order), pct(srv), si_or_dash(msg_per_cpu),
            si_or_dash(dlv_per_cpu), pct(gen), joined);
        rows_json.push_back({{"idle", row.idle},
                             {"route", row.route},
                             {"batch", row.batch},
                             {"window_seconds", round_to(y.window_s, 0.0001)},
                             {"requests", y.requests},
                             {"requests_per_s", round_to(y.per_s(y.requests), 0.1)},
                             {"messages", y.messages},
                             {"messages_per_s", round_to(rate, 0.1)},
                             {"ratio_to_first", first_rate > 0 ? round_to(rate / first_rate, 0.001) : 0.0},
                             {"deliveries", y.deliveries},
                             {"deliveries_per_s", round_to(y.per_s(y.deliveries), 0.1)},
                             {"idle_deliveries", y.idle_deliveries},
                             {"expected_per_message", row.expected_per_message},
                             {"request_latency_us", latency_json(y.request_latency)},
                             {"delivery_latency_us", latency_json(y.delivery_latency)},
                             {"lost", y.lost},
                             {"duplicated", y.duplicated},
                             {"out_of_order", y.out_of_order},
                             {"subscribers_closed", y.receivers_closed},
                             {"stale_frames", y.stale},
                             {"corrupt_frames", y.corrupt},
                             {"http_errors", y.http_errors},
                             {"answer_mismatches", y.answer_mismatches},
                             {"reconnects", y.reconnects},
                             {"drain_complete", y.drain_complete},
                             {"server_cpu_pct", num_or_null(srv)},
                             {"messages_per_server_cpu_s", num_or_null(msg_per_cpu)},
                             {"deliveries_per_server_cpu_s", num_or_null(dlv_per_cpu)},
                             {"generator_cpu_pct", num_or_null(gen)},
                             {"other_processes_pct", num_or_null(other)}});
    }
    t += "  requests/s, messages/s: answered by the API; deliveries/s: frames the receivers got; req_*: ms "
         "from "
         "queueing a request to its answer; dlv_*: ms from queueing to a receiver's frame\n";
    for (const auto& l : levels_json_) {
        const auto& o = l.as_object();
        if (o.contains("rss_bytes_per_added_connection"))
            t += fmt::format("  idle {}: opened in {:.1f} s, server RSS +{:.0f} B per added connection\n",
                             o.at("idle").as_uint64(), o.at("connect_seconds").to_number<double>(),
                             o.at("rss_bytes_per_added_connection").to_number<double>());
    }
    if (foreign_) t += fmt::format("  {} frames of another size (not this run's)\n", foreign_);
    for (const auto& [e, n] : errors_)
        t += fmt::format("  error: {} (x{})\n", e, n);
    for (const auto& w : warnings_)
        t += fmt::format("  warning: {}\n", w);

    json::object errors;
    for (const auto& [e, n] : errors_)
        errors[e] = n;
    json::array batches, routes, idle;
    for (auto b : cfg_.batches)
        batches.emplace_back(b);
    for (const auto& r : cfg_.routes)
        routes.emplace_back(r);
    for (auto n : cfg_.idle)
        idle.emplace_back(n);
    Result r;
    r.json = {{"mode", "publish"},
              {"status", all_ok ? "ok" : "errors"},
              {"target", target_json(cc)},
              {"params",
               {{"receivers", cfg_.receivers},
                {"size", cfg_.size},
                {"http_connections", cfg_.http_connections},
                {"depth", cfg_.depth},
                {"batches", std::move(batches)},
                {"routes", std::move(routes)},
                {"idle", std::move(idle)},
                {"channel", cfg_.channel},
                {"rounds", cfg_.rounds},
                {"duration", cc.duration},
                {"warmup", cc.warmup},
                {"drain", cc.drain},
                {"sources", cc.sources}}},
              {"rows", std::move(rows_json)},
              {"phases", std::move(phases_json_)},
              {"idle_levels", std::move(levels_json_)},
              {"foreign_frames", foreign_},
              {"protocol_errors", pool_.protocol_errors()},
              {"errors", std::move(errors)},
              {"warnings", warnings_json(warnings_)}};
    r.table = std::move(t);
    r.exit_code = all_ok ? 0 : 1;
    return r;
}

} // namespace

Result run_publish(const PublishConfig& cfg) {
    PublishRun run(cfg);
    return run.run();
}

double hard_deadline_seconds(const PublishConfig& cfg) {
    const CommonConfig& c = cfg.common;
    double phases =
        static_cast<double>(cfg.idle.size() * cfg.routes.size() * cfg.batches.size()) * cfg.rounds;
    return c.connect_timeout * static_cast<double>(cfg.idle.size() + 1) +
           phases * (c.warmup + c.duration + c.drain + 2) + 30;
}

} // namespace wsbench

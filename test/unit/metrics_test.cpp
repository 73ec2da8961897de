// GET /metrics' text, checked by a small parser of the Prometheus text format (0.0.4): every sample
// belongs to a family with a HELP and a TYPE, names are valid, counters end in _total, and a
// histogram's buckets are cumulative, end at +Inf and agree with _count. Then the counters that
// feed it: the latency histogram's buckets, the API counts, owned_counter.
#include "wshub/metrics.hpp"
#include "wshub/metrics_counters.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace wshub;
using namespace std::chrono_literals;

namespace {

struct sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct family {
    std::string type;
    bool help = false;
    std::vector<sample> samples;
};

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_metric_name(std::string_view s) {
    if (s.empty() || !(is_letter(s[0]) || s[0] == ':')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return is_letter(c) || is_digit(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*
bool is_label_name(std::string_view s) {
    if (s.empty() || !is_letter(s[0])) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return is_letter(c) || is_digit(c); });
}

double parse_value(const std::string& s) {
    if (s == "+Inf") return INFINITY;
    if (s == "-Inf") return -INFINITY;
    if (s == "NaN") return NAN;
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    BOOST_TEST(used == s.size(), "not a number: " << s);
    return v;
}

// name{a="x",b="y"} value
sample parse_sample(const std::string& line) {
    sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
        ++i;
    s.name = line.substr(0, i);
    BOOST_TEST(is_metric_name(s.name), "bad metric name in: " << line);
    if (i < line.size() && line[i] == '{') {
        ++i;
        while (i < line.size() && line[i] != '}') {
            const auto eq = line.find('=', i);
            BOOST_REQUIRE_MESSAGE(eq != std::string::npos, "no = in labels: " << line);
            const auto name = line.substr(i, eq - i);
            BOOST_TEST(is_label_name(name), "bad label name in: " << line);
            BOOST_REQUIRE_MESSAGE(eq + 1 < line.size() && line[eq + 1] == '"',
                                  "unquoted label value: " << line);
            std::string value;
            std::size_t j = eq + 2;
            for (; j < line.size() && line[j] != '"'; ++j) {
                if (line[j] == '\\' && j + 1 < line.size()) ++j;
                value += line[j];
            }
            BOOST_REQUIRE_MESSAGE(j < line.size(), "unterminated label value: " << line);
            BOOST_TEST(s.labels.count(name) == 0u, "repeated label in: " << line);
            s.labels[name] = value;
            i = j + 1;
            if (i < line.size() && line[i] == ',') ++i;
        }
        BOOST_REQUIRE_MESSAGE(i < line.size(), "unterminated labels: " << line);
        ++i;
    }
    BOOST_REQUIRE_MESSAGE(i < line.size() && line[i] == ' ', "no value in: " << line);
    s.value = parse_value(line.substr(i + 1));
    return s;
}

// The family a sample name belongs to: itself, or a histogram's name without its suffix.
std::string family_of(const std::string& name, const std::map<std::string, family>& families) {
    if (families.count(name)) return name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string sfx = suffix;
        if (name.size() > sfx.size() && name.ends_with(sfx)) {
            const auto base = name.substr(0, name.size() - sfx.size());
            if (auto it = families.find(base); it != families.end() && it->second.type == "histogram")
                return base;
        }
    }
    return {};
}

// Parses the exposition and checks the rules every scrape must follow.
std::map<std::string, family> parse_exposition(const std::string& text) {
    BOOST_TEST_REQUIRE(!text.empty());
    BOOST_TEST(text.back() == '\n');
    std::map<std::string, family> families;
    std::set<std::string> finished; // families whose samples have ended (they must be contiguous)
    std::string current;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        BOOST_REQUIRE_MESSAGE(!line.empty(), "empty line in the exposition");
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const bool help = line[2] == 'H';
            const auto rest = line.substr(7);
            const auto space = rest.find(' ');
            BOOST_REQUIRE_MESSAGE(space != std::string::npos, "no text after the name: " << line);
            const auto name = rest.substr(0, space);
            BOOST_TEST(is_metric_name(name), "bad family name: " << line);
            BOOST_TEST(finished.count(name) == 0u, "family " << name << " split: " << line);
            if (name != current && !current.empty()) finished.insert(current);
            current = name;
            auto& f = families[name];
            BOOST_TEST(f.samples.empty(), "HELP or TYPE after the samples of " << name);
            if (help) {
                BOOST_TEST(!f.help, "second HELP for " << name);
                f.help = true;
            } else {
                BOOST_TEST(f.type.empty(), "second TYPE for " << name);
                f.type = rest.substr(space + 1);
                BOOST_TEST((f.type == "counter" || f.type == "gauge" || f.type == "histogram" ||
                            f.type == "summary" || f.type == "untyped"),
                           "bad type: " << line);
            }
            continue;
        }
        BOOST_REQUIRE_MESSAGE(line[0] != '#', "unexpected comment: " << line);
        auto s = parse_sample(line);
        const auto name = family_of(s.name, families);
        BOOST_REQUIRE_MESSAGE(!name.empty(), "sample without a family: " << line);
        BOOST_TEST(name == current, "sample away from its family's block: " << line);
        auto& f = families[name];
        BOOST_TEST(f.help, "no HELP before " << line);
        BOOST_TEST(!f.type.empty(), "no TYPE before " << line);
        f.samples.push_back(std::move(s));
    }

    for (const auto& [name, f] : families) {
        BOOST_TEST(f.help, name << " has no HELP");
        BOOST_TEST(!f.type.empty(), name << " has no TYPE");
        BOOST_TEST(name.starts_with("wshub_"), name);
        if (f.type == "counter") {
            BOOST_TEST(name.ends_with("_total"), "counter " << name << " does not end in _total");
            for (const auto& s : f.samples)
                BOOST_TEST(s.value >= 0, "negative counter " << s.name);
        } else {
            BOOST_TEST(!name.ends_with("_total"), name << " ends in _total but is a " << f.type);
        }
        if (f.type != "histogram") {
            for (const auto& s : f.samples)
                BOOST_TEST(s.name == name);
            continue;
        }
        // One series (no labels but le here): buckets ascending in le and cumulative, the last
        // +Inf, then _sum and _count equal to the +Inf bucket.
        double last_le = -INFINITY, last_count = 0, inf_count = -1, count = -1;
        bool sum = false;
        for (const auto& s : f.samples) {
            if (s.name == name + "_bucket") {
                BOOST_REQUIRE_MESSAGE(s.labels.count("le") == 1u, "bucket without le in " << name);
                BOOST_TEST(inf_count < 0, "bucket after +Inf in " << name);
                const double le = parse_value(s.labels.at("le"));
                BOOST_TEST(le > last_le, "le not ascending in " << name);
                BOOST_TEST(s.value >= last_count, "buckets not cumulative in " << name);
                last_le = le;
                last_count = s.value;
                if (std::isinf(le)) inf_count = s.value;
            } else if (s.name == name + "_sum") {
                sum = true;
            } else if (s.name == name + "_count") {
                count = s.value;
            }
        }
        BOOST_TEST(inf_count >= 0, name << " has no +Inf bucket");
        BOOST_TEST(sum, name << " has no _sum");
        BOOST_TEST(count == inf_count, name << "_count differs from its +Inf bucket");
    }
    return families;
}

// The value of the sample `name` with exactly `labels`; fails the test when there is none.
double value_of(const std::map<std::string, family>& families, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
    const auto f = family_of(name, families);
    BOOST_REQUIRE_MESSAGE(!f.empty(), "no family for " << name);
    for (const auto& s : families.at(f).samples)
        if (s.name == name && s.labels == labels) return s.value;
    BOOST_FAIL("no sample " << name);
    return 0;
}

metrics_snapshot busy_snapshot() {
    metrics_snapshot m;
    m.connections = 3;
    m.connects = 10;
    m.disconnects[static_cast<std::size_t>(disconnect_reason::client_close)] = 4;
    m.disconnects[static_cast<std::size_t>(disconnect_reason::slow_consumer)] = 2;
    m.disconnects[static_cast<std::size_t>(disconnect_reason::disconnected)] = 1;
    m.messages_received = 12;
    m.received_bytes = 300;
    m.messages_sent = 36;
    m.sent_bytes = 4000;
    m.queued_bytes = 128;
    m.api_requests = {{"publish", "200", 5}, {"publish", "401", 1}, {"unknown", "404", 2}};
    m.slow_consumer_closes = 2;
    m.rate_limit_closes = 1;
    m.idle_closes = 4;
    latency_histogram h;
    for (std::chrono::nanoseconds d : {10us, 30us, 30us, 2000us, 20000000us})
        h.observe(d);
    m.fan_out_latency = h.snapshot();
    return m;
}

} // namespace

BOOST_AUTO_TEST_SUITE(metrics_text)

BOOST_AUTO_TEST_CASE(an_empty_server_renders_every_family_validly) {
    metrics_snapshot m;
    m.fan_out_latency = latency_histogram{}.snapshot();
    const auto families = parse_exposition(prometheus_text(m));
    for (const char* name :
         {"wshub_connections", "wshub_connects_total", "wshub_disconnects_total",
          "wshub_messages_received_total", "wshub_received_bytes_total", "wshub_messages_sent_total",
          "wshub_sent_bytes_total", "wshub_queued_bytes", "wshub_api_requests_total",
          "wshub_server_closes_total", "wshub_fan_out_latency_seconds"})
        BOOST_TEST(families.count(name) == 1u, name);
    BOOST_TEST(families.at("wshub_connections").type == "gauge");
    BOOST_TEST(families.at("wshub_queued_bytes").type == "gauge");
    BOOST_TEST(families.at("wshub_fan_out_latency_seconds").type == "histogram");
    BOOST_TEST(value_of(families, "wshub_fan_out_latency_seconds_count") == 0.0);
    // Every reason appears, counted or not, so that rates work from the first scrape.
    BOOST_TEST(families.at("wshub_disconnects_total").samples.size() == disconnect_reason_count);
    BOOST_TEST(families.at("wshub_api_requests_total").samples.empty());
}

BOOST_AUTO_TEST_CASE(the_bus_families_appear_only_with_a_bus) {
    metrics_snapshot m;
    BOOST_TEST(parse_exposition(prometheus_text(m)).count("wshub_bus_up") == 0u);
    m.bus = metrics_snapshot::bus_state{false, 3};
    const auto families = parse_exposition(prometheus_text(m));
    BOOST_TEST(families.at("wshub_bus_up").type == "gauge");
    BOOST_TEST(value_of(families, "wshub_bus_up") == 0.0);
    BOOST_TEST(value_of(families, "wshub_bus_connections_lost_total") == 3.0);
    m.bus->up = true;
    BOOST_TEST(value_of(parse_exposition(prometheus_text(m)), "wshub_bus_up") == 1.0);
}

BOOST_AUTO_TEST_CASE(a_histogram_without_bounds_still_has_its_inf_bucket) {
    metrics_snapshot m; // fan_out_latency: no bounds, no counts
    const auto families = parse_exposition(prometheus_text(m));
    BOOST_TEST(value_of(families, "wshub_fan_out_latency_seconds_bucket", {{"le", "+Inf"}}) == 0.0);
}

BOOST_AUTO_TEST_CASE(the_counts_come_out_under_their_names_and_labels) {
    const auto families = parse_exposition(prometheus_text(busy_snapshot()));
    BOOST_TEST(value_of(families, "wshub_connections") == 3.0);
    BOOST_TEST(value_of(families, "wshub_connects_total") == 10.0);
    BOOST_TEST(value_of(families, "wshub_disconnects_total", {{"reason", "client_close"}}) == 4.0);
    BOOST_TEST(value_of(families, "wshub_disconnects_total", {{"reason", "slow_consumer"}}) == 2.0);
    BOOST_TEST(value_of(families, "wshub_disconnects_total", {{"reason", "disconnected"}}) == 1.0);
    BOOST_TEST(value_of(families, "wshub_disconnects_total", {{"reason", "shutdown"}}) == 0.0);
    BOOST_TEST(value_of(families, "wshub_messages_received_total") == 12.0);
    BOOST_TEST(value_of(families, "wshub_received_bytes_total") == 300.0);
    BOOST_TEST(value_of(families, "wshub_messages_sent_total") == 36.0);
    BOOST_TEST(value_of(families, "wshub_sent_bytes_total") == 4000.0);
    BOOST_TEST(value_of(families, "wshub_queued_bytes") == 128.0);
    BOOST_TEST(value_of(families, "wshub_api_requests_total", {{"endpoint", "publish"}, {"status", "200"}}) ==
               5.0);
    BOOST_TEST(value_of(families, "wshub_api_requests_total", {{"endpoint", "publish"}, {"status", "401"}}) ==
               1.0);
    BOOST_TEST(value_of(families, "wshub_api_requests_total", {{"endpoint", "unknown"}, {"status", "404"}}) ==
               2.0);
    BOOST_TEST(value_of(families, "wshub_server_closes_total", {{"reason", "slow_consumer"}}) == 2.0);
    BOOST_TEST(value_of(families, "wshub_server_closes_total", {{"reason", "rate_limit"}}) == 1.0);
    BOOST_TEST(value_of(families, "wshub_server_closes_total", {{"reason", "idle"}}) == 4.0);

    // 10us and 30us (twice) fall at or under 50us, 2ms under 2.5ms, 20s over every bound.
    BOOST_TEST(value_of(families, "wshub_fan_out_latency_seconds_bucket", {{"le", "2.5e-05"}}) == 1.0);
    BOOST_TEST(value_of(families, "wshub_fan_out_latency_seconds_bucket", {{"le", "5e-05"}}) == 3.0);
    BOOST_TEST(value_of(families, "wshub_fan_out_latency_seconds_bucket", {{"le", "0.0025"}}) == 4.0);
    BOOST_TEST(value_of(families, "wshub_fan_out_latency_seconds_bucket", {{"le", "10"}}) == 4.0);
    BOOST_TEST(value_of(families, "wshub_fan_out_latency_seconds_bucket", {{"le", "+Inf"}}) == 5.0);
    BOOST_TEST(value_of(families, "wshub_fan_out_latency_seconds_count") == 5.0);
    BOOST_TEST(value_of(families, "wshub_fan_out_latency_seconds_sum") == 20.00207,
               boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(the_parser_refuses_bad_names) {
    BOOST_TEST(is_metric_name("wshub_connects_total"));
    BOOST_TEST(is_metric_name("a:b"));
    BOOST_TEST(!is_metric_name("9lives"));
    BOOST_TEST(!is_metric_name("wshub-connects"));
    BOOST_TEST(!is_metric_name(""));
    BOOST_TEST(is_label_name("reason"));
    BOOST_TEST(!is_label_name("a:b"));
}

BOOST_AUTO_TEST_CASE(no_label_names_a_user_or_a_connection) {
    const std::set<std::string> allowed{"reason", "endpoint", "status", "le"};
    for (const auto& [name, f] : parse_exposition(prometheus_text(busy_snapshot())))
        for (const auto& s : f.samples)
            for (const auto& [label, value] : s.labels)
                BOOST_TEST(allowed.count(label) == 1u, "label " << label << " on " << s.name);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metrics_counters)

BOOST_AUTO_TEST_CASE(a_duration_falls_in_the_first_bucket_whose_bound_it_does_not_pass) {
    latency_histogram h;
    h.observe(25us); // exactly the first bound: le="2.5e-05"
    h.observe(26us); // the second
    h.observe(-5us); // a clock step backwards counts as zero
    h.observe(10s);  // the last bound
    h.observe(11s);  // over every bound
    const auto s = h.snapshot();
    BOOST_TEST_REQUIRE(s.bounds.size() == latency_histogram::bounds.size());
    BOOST_TEST_REQUIRE(s.counts.size() == s.bounds.size() + 1);
    BOOST_TEST(s.bounds.front() == 25e-6);
    BOOST_TEST(s.bounds.back() == 10.0);
    BOOST_TEST(s.counts[0] == 2u);
    BOOST_TEST(s.counts[1] == 1u);
    BOOST_TEST(s.counts[s.bounds.size() - 1] == 1u);
    BOOST_TEST(s.counts.back() == 1u);
    BOOST_TEST(s.sum == 21.000051, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(api_requests_are_counted_by_endpoint_and_status) {
    api_request_counts c;
    c.count(api_endpoint::publish, 200);
    c.count(api_endpoint::publish, 200);
    c.count(api_endpoint::publish, 413);
    c.count(api_endpoint::presence, 401);
    c.count(api_endpoint::unknown, 418); // not a status the API answers: "other"
    const auto s = c.snapshot();
    BOOST_TEST_REQUIRE(s.size() == 4u); // only the pairs that were counted
    BOOST_TEST(s[0].endpoint == "publish");
    BOOST_TEST(s[0].status == "200");
    BOOST_TEST(s[0].count == 2u);
    BOOST_TEST(s[1].status == "413");
    BOOST_TEST(s[2].endpoint == "presence");
    BOOST_TEST(s[2].status == "401");
    BOOST_TEST(s[3].endpoint == "unknown");
    BOOST_TEST(s[3].status == "other");
}

BOOST_AUTO_TEST_CASE(an_api_path_names_its_endpoint) {
    BOOST_TEST((api_endpoint_of("/api/publish") == api_endpoint::publish));
    BOOST_TEST((api_endpoint_of("/api/disconnect") == api_endpoint::disconnect));
    BOOST_TEST((api_endpoint_of("/api/presence") == api_endpoint::presence));
    BOOST_TEST((api_endpoint_of("/api/publish/more") == api_endpoint::unknown));
    BOOST_TEST((api_endpoint_of("/api/") == api_endpoint::unknown));
}

BOOST_AUTO_TEST_CASE(an_owned_counter_adds_and_subtracts) {
    owned_counter c;
    c.add(10);
    c.sub(4);
    c.add(1);
    BOOST_TEST(c.value() == 7u);
}

BOOST_AUTO_TEST_SUITE_END()

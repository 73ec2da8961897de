#include "wshub/auth_config.hpp"
#include "wshub/config.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <vector>

using namespace wshub;

namespace {

parse_result parse(std::vector<const char*> args, std::vector<const char*> env = {}) {
    args.insert(args.begin(), "wshub");
    env.push_back(nullptr);
    return parse_command_line(static_cast<int>(args.size()), args.data(), env.data());
}

} // namespace

BOOST_AUTO_TEST_SUITE(config_parsing)

BOOST_AUTO_TEST_CASE(defaults_match_the_seed) {
    auto r = parse({});
    BOOST_REQUIRE(r.cfg);
    BOOST_TEST(r.cfg->address == "0.0.0.0");
    BOOST_TEST(r.cfg->port == 23333);
    BOOST_TEST(r.cfg->threads >= 1u);
}

BOOST_AUTO_TEST_CASE(environment_is_read_and_a_flag_wins) {
    auto r = parse({"--port", "4000"},
                   {"WSHUB_PORT=5000", "WSHUB_THREADS=3", "WSHUB_DRAIN_TIMEOUT=1.5", "OTHER=1"});
    BOOST_REQUIRE(r.cfg);
    BOOST_TEST(r.cfg->port == 4000);
    BOOST_TEST(r.cfg->threads == 3u);
    BOOST_TEST(r.cfg->drain_timeout.count() == 1500);
}

BOOST_AUTO_TEST_CASE(help_lists_every_flag) {
    auto r = parse({"--help"});
    BOOST_TEST(!r.cfg);
    for (auto flag :
         {"--address", "--port", "--threads", "--max-queued-bytes", "--max-message-size", "--drain-timeout",
          "--handshake-timeout", "--ping-interval", "--log-level", "--inbox-capacity", "--inbox-bytes"})
        BOOST_TEST(r.help.find(flag) != std::string::npos, flag);
}

BOOST_AUTO_TEST_CASE(nonsense_is_refused_with_the_flag_named) {
    auto refused = [](std::vector<const char*> args, const char* name) {
        try {
            parse(args);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what()).find(name) != std::string::npos;
        }
        return false;
    };
    BOOST_TEST(refused({"--port", "70000"}, "port"));
    BOOST_TEST(refused({"--max-queued-bytes", "10"}, "max-queued-bytes"));
    BOOST_TEST(refused({"--log-level", "loud"}, "log-level"));
    BOOST_TEST(refused({"--ping-interval", "0"}, "ping-interval"));
    BOOST_TEST(refused({"--bogus"}, "bogus"));
    BOOST_TEST(refused({"--inbox-bytes", "1000"}, "inbox-bytes"));
    // It was taken, and the server then failed with "Invalid argument [system:22]".
    BOOST_TEST(
        refused({"--address", "localhost"}, "--address must be an IPv4 or IPv6 address, not 'localhost'"));
    BOOST_TEST(refused({"--address", ""}, "--address"));
}

BOOST_AUTO_TEST_CASE(a_negative_number_is_refused_not_wrapped) {
    auto refused = [](std::vector<const char*> args, std::vector<const char*> env, const char* name) {
        try {
            parse(args, env);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what()) == fmt::format("--{} must not be negative", name);
        }
        return false;
    };
    // Each of these was read as its type's largest value.
    BOOST_TEST(refused({"--port", "-1"}, {}, "port"));
    BOOST_TEST(refused({"--max-connections=-1"}, {}, "max-connections"));
    BOOST_TEST(refused({"--max-message-size", " -5"}, {}, "max-message-size"));
    BOOST_TEST(refused({}, {"WSHUB_MAX_CONNECTIONS_PER_USER=-1"}, "max-connections-per-user"));
    BOOST_TEST(refused({"--history-size", "-0"}, {}, "history-size"));
    // Signed and fractional flags get the same words.
    BOOST_TEST(refused({"--drain-timeout", "-1.5"}, {}, "drain-timeout"));
    // A string may start with a dash.
    auto r = parse({"--api-token=-secret-"});
    BOOST_REQUIRE(r.cfg);
    BOOST_TEST(r.cfg->api_token == "-secret-");
}

BOOST_AUTO_TEST_CASE(inbox_bytes_has_a_default_and_is_read) {
    BOOST_TEST(parse({}).cfg->inbox_bytes == std::size_t{64} * 1024 * 1024);
    BOOST_TEST(parse({"--inbox-bytes", "4096"}).cfg->inbox_bytes == 4096u);
    BOOST_TEST(parse({}, {"WSHUB_INBOX_BYTES=2048"}).cfg->inbox_bytes == 2048u);
}

BOOST_AUTO_TEST_CASE(jwt_flags_are_parsed_and_checked) {
    auto r = parse({"--jwt-secret-file", "/run/secrets/jwt", "--jwt-issuer", "https://idp.example",
                    "--jwt-audience", "wshub", "--jwt-leeway", "5"});
    BOOST_REQUIRE(r.cfg);
    BOOST_TEST(r.cfg->jwt_secret_file == "/run/secrets/jwt");
    BOOST_TEST(r.cfg->jwt_issuer == "https://idp.example");
    BOOST_TEST(r.cfg->jwt_audience == "wshub");
    BOOST_TEST(r.cfg->jwt_leeway.count() == 5);
    BOOST_TEST(parse({}).cfg->jwt_leeway.count() == 30);
    auto env = parse({}, {"WSHUB_JWT_AUDIENCE=api", "WSHUB_JWT_SECRET_FILE=/s", "WSHUB_JWT_LEEWAY=0"});
    BOOST_REQUIRE(env.cfg);
    BOOST_TEST(env.cfg->jwt_audience == "api");
    BOOST_TEST(env.cfg->jwt_secret_file == "/s");
    BOOST_TEST(env.cfg->jwt_leeway.count() == 0);
    for (auto flag : {"--jwt-secret-file", "--jwt-issuer", "--jwt-audience", "--jwt-leeway"})
        BOOST_TEST(parse({"--help"}).help.find(flag) != std::string::npos, flag);

    auto refused = [](std::vector<const char*> args, const char* name) {
        try {
            parse(args);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what()).find(name) != std::string::npos;
        }
        return false;
    };
    BOOST_TEST(refused({"--jwt-secret", std::string(32, 's').c_str(), "--jwt-secret-file", "/s"}, "exclude"));
    BOOST_TEST(refused({"--jwt-secret-file", "/s", "--jwt-public-key", "/k.pem"}, "exclude"));
    BOOST_TEST(refused({"--jwt-audience", "wshub"}, "jwt-audience"));
    BOOST_TEST(refused({"--jwt-issuer", "https://idp.example"}, "jwt-issuer"));
    BOOST_TEST(refused({"--jwt-secret-file", "/s", "--jwt-leeway", "301"}, "jwt-leeway"));
    BOOST_TEST(refused({"--jwt-secret-file", "/s", "--jwt-leeway", "-1"}, "jwt-leeway"));
}

BOOST_AUTO_TEST_CASE(jwt_secret_file_is_read_without_its_line_break) {
    BOOST_TEST(secret_from_file_contents("s3cret\n") == "s3cret");
    BOOST_TEST(secret_from_file_contents("s3cret\r\n") == "s3cret");
    BOOST_TEST(secret_from_file_contents("s3cret") == "s3cret");
    BOOST_TEST(secret_from_file_contents(" s3 cret \n\n") == " s3 cret ");

    const auto path = (std::filesystem::temp_directory_path() / "wshub-test-jwt-secret").string();
    std::ofstream(path) << std::string(40, 'k') << "\n";
    config c;
    c.jwt_secret_file = path;
    c.jwt_audience = "wshub";
    c.jwt_leeway = std::chrono::seconds(7);
    const auto v = make_jwt_verifier(c);
    BOOST_REQUIRE(v.has_value());
    BOOST_TEST(v->algorithms() == (std::vector<std::string>{"HS256"}));
    BOOST_TEST(v->options().audience == "wshub");
    BOOST_TEST(v->options().leeway.count() == 7);
    std::ofstream(path) << "too short\n";
    BOOST_CHECK_THROW(make_jwt_verifier(c), std::invalid_argument);
    std::remove(path.c_str());
    BOOST_CHECK_THROW(make_jwt_verifier(c), std::invalid_argument); // gone
    BOOST_TEST(!make_jwt_verifier(config{}).has_value());
}

BOOST_AUTO_TEST_CASE(connections_before_the_upgrade_are_bounded_by_default) {
    auto d = parse({});
    BOOST_REQUIRE(d.cfg);
    BOOST_TEST(d.cfg->max_http_connections == 10000u);
    BOOST_TEST(d.cfg->max_http_connections_per_ip == 1000u);
    BOOST_TEST(d.cfg->http_idle_timeout.count() == 5000);
    BOOST_TEST(d.cfg->max_requests_per_connection == 100u);

    auto r = parse({"--max-http-connections", "50", "--http-idle-timeout", "0.5"},
                   {"WSHUB_MAX_HTTP_CONNECTIONS_PER_IP=7", "WSHUB_MAX_REQUESTS_PER_CONNECTION=0"});
    BOOST_REQUIRE(r.cfg);
    BOOST_TEST(r.cfg->max_http_connections == 50u);
    BOOST_TEST(r.cfg->max_http_connections_per_ip == 7u);
    BOOST_TEST(r.cfg->http_idle_timeout.count() == 500);
    BOOST_TEST(r.cfg->max_requests_per_connection == 0u);

    BOOST_CHECK_THROW(parse({"--http-idle-timeout", "0"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(log_format_is_text_or_json) {
    BOOST_TEST((parse({}).cfg->log_format == config::log_format_kind::text));
    BOOST_TEST((parse({"--log-format", "json"}).cfg->log_format == config::log_format_kind::json));
    BOOST_TEST((parse({}, {"WSHUB_LOG_FORMAT=json"}).cfg->log_format == config::log_format_kind::json));
    BOOST_TEST(parse({"--help"}).help.find("--log-format") != std::string::npos);
    BOOST_CHECK_THROW(parse({"--log-format", "xml"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(compression_is_off_by_default_and_on_or_off) {
    BOOST_TEST(!parse({}).cfg->compression);
    BOOST_TEST(parse({}).cfg->compression_min_size == 128u);
    const auto on = parse({"--compression", "on", "--compression-min-size", "0"});
    BOOST_TEST(on.cfg->compression);
    BOOST_TEST(on.cfg->compression_min_size == 0u);
    BOOST_TEST(parse({}, {"WSHUB_COMPRESSION=on"}).cfg->compression);
    BOOST_CHECK_THROW(parse({"--compression", "yes"}), std::invalid_argument);
    BOOST_TEST(parse({"--help"}).help.find("--compression-min-size") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(per_user_limit_and_trusted_proxies_are_parsed_and_checked) {
    auto d = parse({});
    BOOST_REQUIRE(d.cfg);
    BOOST_TEST(d.cfg->max_connections_per_user == 0u);
    BOOST_TEST(d.cfg->trusted_proxies.empty());
    BOOST_TEST(d.cfg->max_upgrades_per_ip == 20.0);
    BOOST_TEST(parse({"--max-upgrades-per-ip", "0.5"}).cfg->max_upgrades_per_ip == 0.5);
    BOOST_TEST(parse({}, {"WSHUB_MAX_UPGRADES_PER_IP=0"}).cfg->max_upgrades_per_ip == 0.0);
    BOOST_CHECK_THROW(parse({"--max-upgrades-per-ip", "-1"}), std::invalid_argument);
    auto r = parse({"--max-connections-per-user", "3"}, {"WSHUB_TRUSTED_PROXIES=172.30.0.10, fd00::/8"});
    BOOST_REQUIRE(r.cfg);
    BOOST_TEST(r.cfg->max_connections_per_user == 3u);
    BOOST_TEST(r.cfg->trusted_proxies == "172.30.0.10, fd00::/8");
    for (auto flag : {"--max-connections-per-user", "--trusted-proxies", "--max-upgrades-per-ip"})
        BOOST_TEST(parse({"--help"}).help.find(flag) != std::string::npos, flag);
    try {
        parse({"--trusted-proxies", "127.0.0.1,nginx"});
        BOOST_ERROR("a host name was accepted as a proxy");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("--trusted-proxies") != std::string::npos, e.what());
        BOOST_TEST(std::string(e.what()).find("nginx") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(slow_client_policy_flags) {
    auto d = parse({});
    BOOST_REQUIRE(d.cfg);
    BOOST_TEST(d.cfg->slow_client_timeout.count() == 5000);
    BOOST_TEST(d.cfg->socket_send_buffer == 256u * 1024);
    BOOST_TEST(d.cfg->queue_hard_limit() == 8u * 1024 * 1024); // 8 x the 1 MiB message limit

    auto r = parse({"--max-queued-bytes", "4194304", "--slow-client-timeout", "2.5"},
                   {"WSHUB_SOCKET_SEND_BUFFER=0"});
    BOOST_REQUIRE(r.cfg);
    BOOST_TEST(r.cfg->slow_client_timeout.count() == 2500);
    BOOST_TEST(r.cfg->socket_send_buffer == 0u);
    BOOST_TEST(r.cfg->queue_hard_limit() == 32u * 1024 * 1024); // 8 x the larger queue limit

    auto h = parse({"--max-queued-bytes-hard", "2097152"});
    BOOST_REQUIRE(h.cfg);
    BOOST_TEST(h.cfg->queue_hard_limit() == 2u * 1024 * 1024);

    BOOST_CHECK_THROW(parse({"--max-queued-bytes-hard", "4096"}),
                      std::invalid_argument); // below the soft one
    BOOST_CHECK_THROW(parse({"--socket-send-buffer", "100"}), std::invalid_argument);
    BOOST_CHECK_THROW(parse({"--slow-client-timeout", "-1"}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

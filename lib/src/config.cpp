#include "wshub/config.hpp"

#include "wshub/redis_url.hpp"
#include "wshub/trusted_proxies.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace po = boost::program_options;

namespace wshub {

void config::validate() const {
    auto fail = [](const std::string& why) { throw std::invalid_argument(why); };
    if (boost::system::error_code ec; boost::asio::ip::make_address(address, ec), ec)
        fail(fmt::format("--address must be an IPv4 or IPv6 address, not '{}'", address));
    if (threads > 1024) fail("--threads must be between 1 and 1024 (0 = number of cores)");
    if (max_queued_bytes < 1024) fail("--max-queued-bytes must be at least 1024");
    if (max_queued_bytes_hard != 0 && max_queued_bytes_hard < max_queued_bytes)
        fail("--max-queued-bytes-hard must be 0 (automatic) or at least --max-queued-bytes");
    if (socket_send_buffer != 0 && (socket_send_buffer < 4096 || socket_send_buffer > (1u << 30)))
        fail("--socket-send-buffer must be 0 (the kernel's default) or between 4096 and 1073741824");
    if (max_message_size < 1) fail("--max-message-size must be at least 1");
    if (inbox_capacity < 1) fail("--inbox-capacity must be at least 1");
    if (inbox_bytes < 1024) fail("--inbox-bytes must be at least 1024");
    if (drain_timeout.count() < 0) fail("--drain-timeout must not be negative");
    if (handshake_timeout.count() <= 0) fail("--handshake-timeout must be positive");
    if (ping_interval.count() <= 0) fail("--ping-interval must be positive");
    if (idle_timeout <= ping_interval) fail("--idle-timeout must be longer than --ping-interval");
    if (http_idle_timeout.count() <= 0) fail("--http-idle-timeout must be positive");
    wshub::trusted_proxies::parse(trusted_proxies); // throws naming the entry
    if (!(max_upgrades_per_ip == 0 || (max_upgrades_per_ip >= 0.001 && max_upgrades_per_ip <= 1e6)))
        fail("--max-upgrades-per-ip must be 0 (unlimited) or between 0.001 and 1000000");
    if (!(rate_limit == 0 || (rate_limit >= 1 && rate_limit < 1e12)))
        fail("--rate-limit must be 0 (unlimited) or at least 1 message per second");
    if (!(rate_limit_bytes == 0 || (rate_limit_bytes >= 1 && rate_limit_bytes < 1e15)))
        fail("--rate-limit-bytes must be 0 (unlimited) or at least 1 byte per second");
    if (!jwt_secret.empty() + !jwt_secret_file.empty() + !jwt_public_key_path.empty() > 1)
        fail("--jwt-secret, --jwt-secret-file and --jwt-public-key exclude each other");
    const bool jwt = !jwt_secret.empty() || !jwt_secret_file.empty() || !jwt_public_key_path.empty();
    if (!jwt && !jwt_issuer.empty())
        fail("--jwt-issuer needs a JWT key (--jwt-secret, --jwt-secret-file or --jwt-public-key)");
    if (!jwt && !jwt_audience.empty())
        fail("--jwt-audience needs a JWT key (--jwt-secret, --jwt-secret-file or --jwt-public-key)");
    if (jwt_leeway.count() < 0 || jwt_leeway.count() > 300)
        fail("--jwt-leeway must be between 0 and 300 seconds");
    if (!api_token.empty() && !api_token_file.empty())
        fail("--api-token and --api-token-file exclude each other");
    if (!redis.empty())
        if (auto parsed = parse_redis_url(redis); std::holds_alternative<std::string>(parsed))
            fail(std::get<std::string>(parsed));
    if (max_publish_body < 1024) fail("--max-publish-body must be at least 1024");
    if (max_publish_batch < 1) fail("--max-publish-batch must be at least 1");
    if (history_size > 1'000'000) fail("--history-size must be at most 1000000");
    if (history_ttl.count() < 1 || history_ttl.count() > 86400)
        fail("--history-ttl must be between 1 and 86400 seconds");
    static constexpr const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    bool known = false;
    for (auto* l : levels)
        known = known || log_level == l;
    if (!known) fail("--log-level must be one of trace, debug, info, warn, error, critical, off");
}

namespace {

std::chrono::milliseconds seconds_to_ms(double s, const char* name) {
    if (!(s >= 0) || s > 86400.0)
        throw std::invalid_argument(fmt::format("--{} must be between 0 and 86400 seconds", name));
    return std::chrono::milliseconds(static_cast<long long>(s * 1000.0));
}

// lexical_cast reads "-1" into an unsigned as its largest value, as strtoul does: `--port -1` would
// listen on 65535 and `--max-connections -1` would lift the limit. No flag takes a negative
// number, so the sign is refused before any value is converted.
void refuse_negative_numbers(const po::parsed_options& parsed) {
    for (const auto& opt : parsed.options) {
        const auto* d = parsed.description->find_nothrow(opt.string_key, false);
        if (!d || dynamic_cast<const po::typed_value<std::string>*>(d->semantic().get())) continue;
        for (const auto& v : opt.value) {
            const auto first = v.find_first_not_of(" \t");
            if (first != std::string::npos && v[first] == '-')
                throw std::invalid_argument(fmt::format("--{} must not be negative", opt.string_key));
        }
    }
}

} // namespace

parse_result parse_command_line(int argc, const char* const argv[], const char* const* envp) {
    config defaults;
    double slow_client = 5;
    double drain = 5, handshake = 10, ping = 25, idle = 60;
    long long jwt_leeway = defaults.jwt_leeway.count();
    long long history_ttl = defaults.history_ttl.count();
    double http_idle = 5;
    std::string client_messages = "broadcast";
    std::string compression = "off";
    std::string log_format = "text";
    config c;

    po::options_description desc(
        "wshub: a WebSocket message-push hub\n\nOptions (each also read from WSHUB_<NAME>, "
        "e.g. WSHUB_PORT; a flag wins over the environment)");
    // clang-format off
    desc.add_options()
        ("help,h", "show this help and exit")
        ("address", po::value(&c.address)->default_value(defaults.address), "address to listen on")
        ("port", po::value(&c.port)->default_value(defaults.port), "TCP port (0 = any free port)")
        ("threads", po::value(&c.threads)->default_value(defaults.threads), "I/O threads (0 = number of cores)")
        ("max-queued-bytes", po::value(&c.max_queued_bytes)->default_value(defaults.max_queued_bytes),
            "bytes queued for one client that it may exceed for --slow-client-timeout before it is closed with 1008")
        ("slow-client-timeout", po::value(&slow_client)->default_value(slow_client),
            "seconds a client's queue may stay over --max-queued-bytes")
        ("max-queued-bytes-hard", po::value(&c.max_queued_bytes_hard)->default_value(defaults.max_queued_bytes_hard),
            "bytes queued for one client past which it is closed at once (0 = 8 x max(--max-queued-bytes, --max-message-size))")
        ("socket-send-buffer", po::value(&c.socket_send_buffer)->default_value(defaults.socket_send_buffer),
            "SO_SNDBUF of client sockets in bytes (0 = the kernel's default)")
        ("max-message-size", po::value(&c.max_message_size)->default_value(defaults.max_message_size),
            "largest message a client may send; larger gets close 1009")
        ("inbox-capacity", po::value(&c.inbox_capacity)->default_value(defaults.inbox_capacity),
            "messages buffered between the readers and the sender")
        ("inbox-bytes", po::value(&c.inbox_bytes)->default_value(defaults.inbox_bytes),
            "payload bytes buffered between the readers and the sender (a larger message still enters an empty inbox)")
        ("history-size", po::value(&c.history_size)->default_value(defaults.history_size),
            "messages each stream keeps for clients that resume with since= (0 = none)")
        ("history-bytes", po::value(&c.history_bytes)->default_value(defaults.history_bytes),
            "bytes of messages each stream keeps at most for since= (a larger message is not kept)")
        ("history-ttl", po::value(&history_ttl)->default_value(history_ttl),
            "seconds a kept message stays available to since= (1 to 86400)")
        ("drain-timeout", po::value(&drain)->default_value(drain), "seconds clients get on shutdown to receive what is queued")
        ("handshake-timeout", po::value(&handshake)->default_value(handshake),
            "seconds to finish the HTTP request and the WebSocket close handshake")
        ("ping-interval", po::value(&ping)->default_value(ping), "seconds of silence after which a client is pinged")
        ("idle-timeout", po::value(&idle)->default_value(idle), "seconds of silence (no whole frame: message, ping or pong) after which a client is dropped")
        ("max-connections", po::value(&c.max_connections)->default_value(defaults.max_connections),
            "WebSocket sessions in all (0 = unlimited); more get 503")
        ("max-connections-per-ip", po::value(&c.max_connections_per_ip)->default_value(defaults.max_connections_per_ip),
            "WebSocket sessions from one address (0 = unlimited; behind a proxy all clients share its address)")
        ("max-http-connections", po::value(&c.max_http_connections)->default_value(defaults.max_http_connections),
            "connections that have not upgraded, in all (0 = unlimited); more get 503")
        ("max-http-connections-per-ip", po::value(&c.max_http_connections_per_ip)->default_value(defaults.max_http_connections_per_ip),
            "connections that have not upgraded, from one address (0 = unlimited); more get 503")
        ("http-idle-timeout", po::value(&http_idle)->default_value(http_idle),
            "seconds a keep-alive HTTP connection has after a response to send its next request")
        ("max-requests-per-connection", po::value(&c.max_requests_per_connection)->default_value(defaults.max_requests_per_connection),
            "requests one HTTP connection may send before it is closed (0 = unlimited)")
        ("max-connections-per-user", po::value(&c.max_connections_per_user)->default_value(defaults.max_connections_per_user),
            "WebSocket sessions of one user id (0 = unlimited); more get 429")
        ("max-upgrades-per-ip", po::value(&c.max_upgrades_per_ip)->default_value(defaults.max_upgrades_per_ip, "20"),
            "with authentication, upgrades per second from one address, bursts of twice that (0 = unlimited); more get 429")
        ("trusted-proxies", po::value(&c.trusted_proxies)->default_value(""),
            "comma-separated proxy addresses/CIDRs whose X-Forwarded-For/X-Real-IP give the client address")
        ("rate-limit", po::value(&c.rate_limit)->default_value(defaults.rate_limit, "1000"),
            "frames per second one client may send, pings and fragments included (0 = unlimited); over it: close 1008")
        ("rate-limit-bytes", po::value(&c.rate_limit_bytes)->default_value(defaults.rate_limit_bytes, "16777216"),
            "bytes per second one client may send, a compressed message counted inflated (0 = unlimited); over it: close 1008")
        ("client-messages", po::value(&client_messages)->default_value(client_messages),
            "broadcast: clients' messages go to everyone; drop: clients only receive")
        ("compression", po::value(&compression)->default_value(compression),
            "on: accept permessage-deflate (RFC 7692) from clients that offer it; each message is compressed once for all of them")
        ("compression-min-size", po::value(&c.compression_min_size)->default_value(defaults.compression_min_size),
            "with --compression on, messages smaller than this many bytes are sent uncompressed")
        ("allowed-origins", po::value(&c.allowed_origins)->default_value(""),
            "comma-separated Origin allowlist for /im (empty = any); others get 403")
        ("jwt-secret", po::value(&c.jwt_secret)->default_value(""),
            "require a JWT signed with this HS256 secret (at least 32 bytes); its sub is the user id")
        ("jwt-public-key", po::value(&c.jwt_public_key_path)->default_value(""),
            "require a JWT verified with this PEM public key (RS256/384/512 or ES256/384/512)")
        ("jwt-secret-file", po::value(&c.jwt_secret_file)->default_value(""),
            "like --jwt-secret, the secret read from this file (trailing newline trimmed)")
        ("jwt-issuer", po::value(&c.jwt_issuer)->default_value(""), "when set, a token's iss must equal it")
        ("jwt-audience", po::value(&c.jwt_audience)->default_value(""),
            "when set, a token's aud (string or array) must contain it")
        ("jwt-leeway", po::value(&jwt_leeway)->default_value(jwt_leeway),
            "seconds of clock skew allowed for exp and nbf (0 to 300)")
        ("api-token", po::value(&c.api_token)->default_value(""),
            "bearer token the publish API (/api/*) requires; without one it answers loopback only")
        ("api-token-file", po::value(&c.api_token_file)->default_value(""),
            "like --api-token, the token read from this file (trailing newline trimmed)")
        ("redis", po::value(&c.redis)->default_value(""),
            "redis://[[user]:password@]host[:port][/db]: the bus between wshub nodes (none: this node alone)")
        ("max-publish-body", po::value(&c.max_publish_body)->default_value(defaults.max_publish_body),
            "largest body of a publish API request, in bytes (413 over it)")
        ("max-publish-batch", po::value(&c.max_publish_batch)->default_value(defaults.max_publish_batch),
            "most messages in one publish API request (413 over it)")
        ("log-level", po::value(&c.log_level)->default_value(defaults.log_level),
            "trace, debug, info, warn, error, critical or off")
        ("log-format", po::value(&log_format)->default_value(log_format),
            "text, or json: one object per line with time, level and msg");
    // clang-format on

    po::variables_map vm;
    try {
        // The first store of a value wins, so the command line goes first.
        const auto command_line = po::parse_command_line(argc, argv, desc);
        refuse_negative_numbers(command_line);
        po::store(command_line, vm);
        if (envp) {
            std::vector<std::string> env;
            for (auto* e = envp; *e; ++e)
                env.emplace_back(*e);
            auto mapper = [&desc](const std::string& var) -> std::string {
                if (var.rfind("WSHUB_", 0) != 0) return {};
                std::string name = var.substr(6);
                for (auto& ch : name)
                    ch = ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                if (name == "help" || !desc.find_nothrow(name, false)) return {};
                return name;
            };
            // parse_environment reads ::environ; parse the given block the same way instead.
            po::parsed_options parsed(&desc);
            for (auto& kv : env) {
                auto eq = kv.find('=');
                if (eq == std::string::npos) continue;
                auto name = mapper(kv.substr(0, eq));
                if (name.empty()) continue;
                po::option opt;
                opt.string_key = name;
                opt.value.push_back(kv.substr(eq + 1));
                opt.original_tokens = {kv};
                parsed.options.push_back(std::move(opt));
            }
            refuse_negative_numbers(parsed);
            po::store(parsed, vm);
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw std::invalid_argument(e.what());
    }

    if (vm.count("help")) {
        std::ostringstream os;
        os << desc;
        return {std::nullopt, os.str()};
    }
    c.drain_timeout = seconds_to_ms(drain, "drain-timeout");
    c.handshake_timeout = seconds_to_ms(handshake, "handshake-timeout");
    c.slow_client_timeout = seconds_to_ms(slow_client, "slow-client-timeout");
    c.ping_interval = seconds_to_ms(ping, "ping-interval");
    c.idle_timeout = seconds_to_ms(idle, "idle-timeout");
    c.jwt_leeway = std::chrono::seconds(jwt_leeway);
    c.history_ttl = std::chrono::seconds(history_ttl);
    c.http_idle_timeout = seconds_to_ms(http_idle, "http-idle-timeout");
    if (client_messages == "broadcast")
        c.client_messages = config::client_messages_mode::broadcast;
    else if (client_messages == "drop")
        c.client_messages = config::client_messages_mode::drop;
    else
        throw std::invalid_argument("--client-messages must be broadcast or drop");
    if (compression == "on")
        c.compression = true;
    else if (compression != "off")
        throw std::invalid_argument("--compression must be on or off");
    if (log_format == "text")
        c.log_format = config::log_format_kind::text;
    else if (log_format == "json")
        c.log_format = config::log_format_kind::json;
    else
        throw std::invalid_argument("--log-format must be text or json");
    if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
    c.validate();
    return {c, {}};
}

} // namespace wshub

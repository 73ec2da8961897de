// What every shard and session of one server shares: the configuration, the hub, and counters.
#pragma once

#include "server_counters.hpp"
#include "wshub/auth_config.hpp"
#include "wshub/config.hpp"
#include "wshub/connection_limits.hpp"
#include "wshub/origin_policy.hpp"
#include "wshub/trusted_proxies.hpp"
#include "wshub/upgrade_rate_limit.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fmt/format.h>
#include <optional>
#include <random>
#include <string>

namespace wshub {

class hub;

struct server_state {
    explicit server_state(config c)
        : cfg(std::move(c))
        , origins(origin_policy::parse(cfg.allowed_origins))
        , jwt(make_jwt_verifier(cfg))
        , api_token(api_token_of(cfg))
        , proxies(trusted_proxies::parse(cfg.trusted_proxies))
        , limits(cfg.max_connections, cfg.max_connections_per_ip, cfg.max_connections_per_user)
        , http_limits(cfg.max_http_connections, cfg.max_http_connections_per_ip)
        , upgrade_rate(cfg.max_upgrades_per_ip)
        , counters(std::max(cfg.threads, 1u))
        , epoch(new_epoch()) {}

    const config cfg;
    const origin_policy origins;
    const std::optional<jwt_verifier> jwt;
    const std::string api_token; // empty: the API answers loopback peers only
    const trusted_proxies proxies;
    connection_limits limits;
    connection_limits http_limits;   // connections that have not upgraded
    upgrade_rate_limit upgrade_rate; // with authentication, upgrades per second per address
    hub* message_hub = nullptr;      // where the sessions and the publish API publish
    server_counters counters;        // read by GET /metrics
    // Set when the shutdown begins: upgrades from then on are refused with 503.
    std::atomic<bool> draining{false};
    // Names this process's numbering of the streams: positions from another epoch (an earlier
    // process, whose history is gone) cannot be resumed.
    const std::string epoch;

  private:
    static std::string new_epoch() {
        std::random_device random;
        return fmt::format("{:08x}{:08x}", random(), random());
    }
};

} // namespace wshub

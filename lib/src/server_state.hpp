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
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace wshub {

class hub;

struct server_state {
    explicit server_state(config c)
        : cfg(std::move(c))
        , origins(origin_policy::parse(cfg.allowed_origins))
        , proxies(trusted_proxies::parse(cfg.trusted_proxies))
        , limits(cfg.max_connections, cfg.max_connections_per_ip, cfg.max_connections_per_user)
        , http_limits(cfg.max_http_connections, cfg.max_http_connections_per_ip)
        , upgrade_rate(cfg.max_upgrades_per_ip)
        , counters(std::max(cfg.threads, 1u))
        , epoch(new_epoch())
        , credentials_(std::make_shared<const credentials>(read_credentials(cfg))) {}

    const config cfg;
    const origin_policy origins;
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

    // The JWT verifier and the API token in force. A request checks against the ones it took;
    // sessions admitted before a reload stay.
    std::shared_ptr<const credentials> current_credentials() const {
        std::lock_guard lock(credentials_mutex_);
        return credentials_;
    }
    // Reads the key, secret and token files again (SIGHUP). Throws, and keeps the credentials in
    // force, when one cannot be read or is unfit.
    void reload_credentials() {
        auto fresh = std::make_shared<const credentials>(read_credentials(cfg));
        std::lock_guard lock(credentials_mutex_);
        credentials_ = std::move(fresh);
    }

  private:
    static std::string new_epoch() {
        std::random_device random;
        return fmt::format("{:08x}{:08x}", random(), random());
    }

    mutable std::mutex credentials_mutex_;
    std::shared_ptr<const credentials> credentials_;
};

} // namespace wshub

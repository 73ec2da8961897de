// Debian's nginx running the shipped docker/nginx.conf in front of test servers: the config and
// the upstream file it includes are filled in (each node -> 127.0.0.1:<wshub port>, listen ->
// 127.0.0.1:<free port>) into a temporary prefix directory, so the test exercises the very proxy
// settings that are deployed.
#pragma once

#include "child_process.hpp"

#include <boost/test/tree/decorator.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wshub_test {

inline constexpr const char* nginx_binary = "/usr/sbin/nginx";

// The upstream files in docker/ that nginx.conf includes as wshub-upstream.conf: the one node of
// compose.single.yaml, and the nodes of compose.yaml.
inline constexpr const char* single_node_upstream = "nginx-upstream.single.conf";
inline constexpr const char* multi_node_upstream = "nginx-upstream.conf";

// A precondition for test cases that need nginx: skips them with a reason when it is missing.
boost::test_tools::assertion_result nginx_available(boost::unit_test::test_unit_id);

// The shipped config with the deployment's listener moved to loopback; fails the test if the
// config no longer has what is replaced (the substitution would silently do nothing).
// A non-empty `proxy_timeout` (e.g. "2s") replaces the shipped proxy_read/send_timeout, so that a
// test can scale the deployment's timing down.
std::string fill_nginx_config(const std::string& shipped, std::uint16_t listen_port,
                              const std::string& prefix_dir, const std::string& proxy_timeout = {});

// A shipped upstream file with its nodes' names replaced: the i-th server becomes
// 127.0.0.1:ports[i % ports.size()]. Fails the test if it names no node.
std::string fill_nginx_upstream(const std::string& shipped, const std::vector<std::uint16_t>& ports);

// A temporary nginx prefix directory (removed on destruction) holding the filled config, and the
// filled `upstream_file` (from docker/) beside it as the wshub-upstream.conf that it includes.
class nginx_prefix {
  public:
    nginx_prefix(std::vector<std::uint16_t> upstream_ports, std::uint16_t listen_port,
                 const std::string& proxy_timeout = {},
                 const std::string& upstream_file = single_node_upstream);
    nginx_prefix(std::uint16_t upstream_port, std::uint16_t listen_port,
                 const std::string& proxy_timeout = {})
        : nginx_prefix(std::vector<std::uint16_t>{upstream_port}, listen_port, proxy_timeout) {}
    ~nginx_prefix();
    nginx_prefix(const nginx_prefix&) = delete;
    nginx_prefix& operator=(const nginx_prefix&) = delete;

    const std::string& dir() const noexcept { return dir_; }
    std::string config_path() const { return dir_ + "/nginx.conf"; }
    std::string access_log_path() const { return dir_ + "/logs/access.log"; }
    // For -g: keeps the pid file in the prefix and the error log on stderr.
    std::string global_directives() const;
    // nginx's command line with this prefix and config; `extra` goes before -g.
    std::vector<std::string> command(std::vector<std::string> extra = {}) const;

  private:
    std::string dir_;
};

class nginx_process {
  public:
    // Starts nginx in front of 127.0.0.1:`upstream_port` and waits (bounded) until it accepts.
    explicit nginx_process(std::uint16_t upstream_port, const std::string& proxy_timeout = {});
    // The same in front of several nodes, as compose.yaml's nginx balances its nodes: the shipped
    // multi-node upstream with its servers pointed at `upstream_ports` in turn.
    explicit nginx_process(std::vector<std::uint16_t> upstream_ports, const std::string& proxy_timeout = {});
    // Stops nginx (SIGTERM, then SIGKILL to its process group if it lingers) and reaps it.
    ~nginx_process();
    nginx_process(const nginx_process&) = delete;
    nginx_process& operator=(const nginx_process&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    const nginx_prefix& prefix() const noexcept { return *prefix_; }

  private:
    std::uint16_t port_ = 0;
    std::unique_ptr<nginx_prefix> prefix_;
    std::unique_ptr<child_process> child_;
};

} // namespace wshub_test

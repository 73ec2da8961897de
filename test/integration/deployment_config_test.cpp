// The deployment files parse and fit together: nginx accepts the shipped config with each
// upstream file it is deployed with (the deployment's names filled in as in the nginx suite),
// docker-compose accepts every compose file, and the nodes an upstream file names are services
// of the compose file that mounts it.
#include "child_process.hpp"
#include "free_port.hpp"
#include "nginx_process.hpp"
#include "text_file.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>

using namespace wshub_test;

namespace {

constexpr const char* docker_compose = "/usr/bin/docker-compose";

// Every compose file shipped, with the upstream file its nginx mounts as wshub-upstream.conf.
struct compose_setup {
    const char* compose_file;
    const char* upstream_file;
};
const compose_setup compose_setups[] = {{"compose.yaml", multi_node_upstream},
                                        {"compose.single.yaml", single_node_upstream}};

std::string docker_path(const std::string& name) {
    return std::string(WSHUB_SOURCE_DIR) + "/docker/" + name;
}

boost::test_tools::assertion_result docker_compose_available(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result ok(::access(docker_compose, X_OK) == 0);
    if (!ok) ok.message() << docker_compose << " is not installed (apt-get install docker-compose)";
    return ok;
}

// The compose file mounts the upstream file for nginx.conf's include, and every node that file
// names is one of its services (else nginx would not start: it cannot resolve the name).
void check_upstream_matches_compose(const compose_setup& setup) {
    const std::string compose = read_file(docker_path(setup.compose_file));
    const std::string mount = std::string("./") + setup.upstream_file + ":/etc/nginx/wshub-upstream.conf";
    BOOST_TEST(compose.find(mount) != std::string::npos, setup.compose_file << " does not mount "
                                                                            << setup.upstream_file
                                                                            << " for nginx.conf's include");

    const auto r =
        run_command({docker_compose, "-f", docker_path(setup.compose_file), "config", "--services"},
                    std::chrono::seconds(60));
    BOOST_REQUIRE_MESSAGE(r.status == 0, r.output);
    std::set<std::string> services;
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);)
        if (!line.empty()) services.insert(line);

    const std::string upstream = read_file(docker_path(setup.upstream_file));
    const std::regex node(R"(\bserver\s+([A-Za-z0-9.-]+):23333\b)");
    std::size_t nodes = 0;
    for (std::sregex_iterator m(upstream.begin(), upstream.end(), node), end; m != end; ++m, ++nodes)
        BOOST_TEST(services.count((*m)[1].str()) == 1u, setup.upstream_file << " names " << (*m)[1].str()
                                                                            << ", not a service of "
                                                                            << setup.compose_file);
    BOOST_TEST(nodes > 0u, setup.upstream_file << " names no node");
}

} // namespace

BOOST_AUTO_TEST_SUITE(deployment_config)

BOOST_AUTO_TEST_CASE(nginx_accepts_the_shipped_config, *boost::unit_test::precondition(nginx_available)) {
    for (const auto& setup : compose_setups) {
        BOOST_TEST_CONTEXT(setup.upstream_file) {
            // nginx -t resolves upstream names, so the nodes must be addresses; nothing listens there.
            nginx_prefix prefix({free_loopback_port()}, free_loopback_port(), {}, setup.upstream_file);
            const auto r = run_command(prefix.command({"-t"}), std::chrono::seconds(30));
            BOOST_TEST(r.status == 0, r.output);
            BOOST_TEST(r.output.find("test is successful") != std::string::npos, r.output);
        }
    }
}

BOOST_AUTO_TEST_CASE(docker_compose_accepts_the_compose_files,
                     *boost::unit_test::precondition(docker_compose_available)) {
    for (const auto& setup : compose_setups) {
        const auto r = run_command({docker_compose, "-f", docker_path(setup.compose_file), "config", "-q"},
                                   std::chrono::seconds(60));
        BOOST_TEST(r.status == 0, setup.compose_file << ": " << r.output);
    }
}

BOOST_AUTO_TEST_CASE(each_upstream_names_its_compose_files_nodes,
                     *boost::unit_test::precondition(docker_compose_available)) {
    for (const auto& setup : compose_setups)
        BOOST_TEST_CONTEXT(setup.compose_file) {
            check_upstream_matches_compose(setup);
        }
}

BOOST_AUTO_TEST_SUITE_END()

// The deployment files parse: nginx accepts the shipped config (with the deployment's names
// filled in as in the nginx suite) and docker-compose accepts compose.yaml.
#include "child_process.hpp"
#include "free_port.hpp"
#include "nginx_process.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <unistd.h>

using namespace wshub_test;

namespace {

constexpr const char* docker_compose = "/usr/bin/docker-compose";

boost::test_tools::assertion_result docker_compose_available(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result ok(::access(docker_compose, X_OK) == 0);
    if (!ok) ok.message() << docker_compose << " is not installed (apt-get install docker-compose)";
    return ok;
}

} // namespace

BOOST_AUTO_TEST_SUITE(deployment_config)

BOOST_AUTO_TEST_CASE(nginx_accepts_the_shipped_config, *boost::unit_test::precondition(nginx_available)) {
    // nginx -t resolves upstream names, so the upstream must be an address; nothing listens there.
    nginx_prefix prefix(free_loopback_port(), free_loopback_port());
    const auto r = run_command(prefix.command({"-t"}), std::chrono::seconds(30));
    BOOST_TEST(r.status == 0, r.output);
    BOOST_TEST(r.output.find("test is successful") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(docker_compose_accepts_compose_yaml,
                     *boost::unit_test::precondition(docker_compose_available)) {
    const auto r = run_command(
        {docker_compose, "-f", std::string(WSHUB_SOURCE_DIR) + "/docker/compose.yaml", "config", "-q"},
        std::chrono::seconds(60));
    BOOST_TEST(r.status == 0, r.output);
}

BOOST_AUTO_TEST_SUITE_END()

#include "wshub/metrics.hpp"

#include <boost/test/unit_test.hpp>

using namespace wshub;

BOOST_AUTO_TEST_SUITE(metrics_text)

BOOST_AUTO_TEST_CASE(every_family_has_help_and_type_before_its_samples) {
    metrics_snapshot m;
    m.connections = 3;
    m.messages_received = 12;
    m.slow_consumer_closes = 1;
    m.rate_limit_closes = 2;
    m.idle_closes = 4;
    const auto text = prometheus_text(m);
    BOOST_TEST(text.find("# HELP wshub_connections ") != std::string::npos);
    BOOST_TEST(text.find("# TYPE wshub_connections gauge\nwshub_connections 3\n") != std::string::npos);
    BOOST_TEST(
        text.find("# TYPE wshub_messages_received_total counter\nwshub_messages_received_total 12\n") !=
        std::string::npos);
    BOOST_TEST(text.find("wshub_server_closes_total{reason=\"slow_consumer\"} 1\n") != std::string::npos);
    BOOST_TEST(text.find("wshub_server_closes_total{reason=\"rate_limit\"} 2\n") != std::string::npos);
    BOOST_TEST(text.find("wshub_server_closes_total{reason=\"idle\"} 4\n") != std::string::npos);
    BOOST_TEST(text.back() == '\n');
}

BOOST_AUTO_TEST_SUITE_END()

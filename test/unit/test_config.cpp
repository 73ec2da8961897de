#include "wshub/config.hpp"

#include <boost/test/unit_test.hpp>
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
          "--handshake-timeout", "--ping-interval", "--log-level", "--inbox-capacity"})
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
}

BOOST_AUTO_TEST_SUITE_END()

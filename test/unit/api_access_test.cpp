#include "wshub/api_access.hpp"

#include <boost/test/unit_test.hpp>

using namespace wshub;
namespace ip = boost::asio::ip;

BOOST_AUTO_TEST_SUITE(api_access)

BOOST_AUTO_TEST_CASE(without_a_token_only_direct_loopback_calls_pass) {
    BOOST_TEST(!check_api_access({"", ip::make_address("127.0.0.1"), false}, ""));
    BOOST_TEST(!check_api_access({"", ip::make_address("::1"), false}, ""));
    BOOST_TEST(check_api_access({"", ip::make_address("127.0.0.1"), true}, "")->status == 401u);
    BOOST_TEST(check_api_access({"", ip::make_address("10.0.0.1"), false}, "")->status == 401u);
}

BOOST_AUTO_TEST_CASE(with_a_token_every_caller_shows_it) {
    const std::string token = "t0ken";
    BOOST_TEST(!check_api_access({"Bearer t0ken", ip::make_address("10.0.0.1"), true}, token));
    BOOST_TEST(!check_api_access({"bearer t0ken", ip::make_address("10.0.0.1"), false}, token));
    for (std::string_view header :
         {"", "Bearer", "Bearer ", "Bearer t0ke", "Bearer t0ken2", "Basic t0ken", "t0ken"})
        BOOST_TEST(check_api_access({header, ip::make_address("127.0.0.1"), false}, token)->status == 401u,
                   header);
}

BOOST_AUTO_TEST_SUITE_END()

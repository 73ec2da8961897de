// The shipped nginx config in front of a test server: health check, WebSocket traffic and close
// codes must pass through the proxy unchanged.
#include "http_client.hpp"
#include "nginx_process.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace wshub_test;
namespace websocket = boost::beast::websocket;

namespace {

struct server_behind_nginx : server_fixture {
    server_behind_nginx()
        : nginx(port()) {}

    nginx_process nginx;
};

} // namespace

BOOST_AUTO_TEST_SUITE(nginx, *boost::unit_test::precondition(nginx_available))

BOOST_FIXTURE_TEST_CASE(ping_through_nginx, server_behind_nginx) {
    const auto res = http_get(nginx.port(), "/ping");
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(res.body() == "pong");
}

BOOST_FIXTURE_TEST_CASE(broadcast_between_proxied_and_direct_clients, server_behind_nginx) {
    ws_client proxied(io), direct(io);
    proxied.connect(nginx.port(), "/im?user_id=via-nginx");
    direct.connect(port(), "/im?user_id=direct");

    proxied.send_text("from behind the proxy");
    for (auto* c : {&direct, &proxied}) {
        const auto m = c->read();
        BOOST_TEST(m.is_text);
        BOOST_TEST(m.payload == "from behind the proxy");
    }
    std::string bytes;
    for (int i = 0; i < 256; ++i)
        bytes.push_back(static_cast<char>(i));
    direct.send_binary(bytes);
    for (auto* c : {&proxied, &direct}) {
        const auto m = c->read();
        BOOST_TEST(!m.is_text);
        BOOST_TEST(m.payload == bytes);
    }
}

BOOST_FIXTURE_TEST_CASE(refused_upgrade_reason_passes_through_nginx, server_behind_nginx) {
    ws_client client(io);
    const auto r = client.try_connect(nginx.port(), "/im?user_id=");
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(r.body.find("user_id") != std::string::npos, "body: '" << r.body << "'");
}

BOOST_FIXTURE_TEST_CASE(shutdown_close_code_passes_through_nginx, server_behind_nginx) {
    ws_client proxied(io);
    proxied.connect(nginx.port(), "/im?user_id=via-nginx");
    proxied.send_text("hello");
    BOOST_TEST(proxied.read().payload == "hello");
    server.terminate();
    BOOST_TEST(proxied.read_close().code == static_cast<unsigned>(websocket::close_code::going_away));
    BOOST_TEST(server.wait_exit() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

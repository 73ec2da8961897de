// The shipped nginx config in front of test servers: health check, WebSocket traffic, close codes
// and the publish API must pass through the proxy unchanged, and with two nodes nginx spreads
// the connections over both.
#include "http_client.hpp"
#include "nginx_process.hpp"
#include "raw_ws_client.hpp"
#include "server_fixture.hpp"
#include "ws_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace wshub_test;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

struct server_behind_nginx : server_fixture {
    server_behind_nginx()
        : nginx(port()) {}

    nginx_process nginx;
};

// The shipped timing scaled down about 40 times: nginx cuts a proxied connection after
// proxy_read_timeout (120 s) without a byte from wshub, and wshub pings a client that has been
// silent for --ping-interval (25 s).
constexpr const char* scaled_proxy_timeout = "3s";

struct pinging_server_behind_nginx : server_fixture {
    pinging_server_behind_nginx()
        : server_fixture(wshub_args(1, {"--ping-interval", "1", "--idle-timeout", "10"}))
        , nginx(port(), scaled_proxy_timeout) {}

    nginx_process nginx;
};

// The control: pings far apart, so nothing crosses the proxy while the client is idle.
struct silent_server_behind_nginx : server_fixture {
    silent_server_behind_nginx()
        : server_fixture(wshub_args(1, {"--ping-interval", "120", "--idle-timeout", "240"}))
        , nginx(port(), scaled_proxy_timeout) {}

    nginx_process nginx;
};

// The publish API through the proxy needs a token: nginx forwards the client's address.
struct api_server_behind_nginx : server_fixture {
    api_server_behind_nginx()
        : server_fixture(wshub_args(1, {"--api-token=behind-nginx-token"}))
        , nginx(port()) {}

    nginx_process nginx;
};

// compose.yaml's setup: two nodes behind the multi-node upstream.
struct two_nodes_behind_nginx : server_fixture {
    two_nodes_behind_nginx()
        : second(wshub_args(1))
        , nginx(std::vector<std::uint16_t>{port(), second.port()}) {}

    wshub_process second;
    nginx_process nginx;
};

} // namespace

BOOST_AUTO_TEST_SUITE(nginx, *boost::unit_test::precondition(nginx_available))

BOOST_FIXTURE_TEST_CASE(ping_through_nginx, server_behind_nginx) {
    const auto res = http_get(nginx.port(), "/ping");
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(res.body() == "pong");
}

BOOST_FIXTURE_TEST_CASE(the_demo_page_and_the_javascript_client_pass_through_nginx, server_behind_nginx) {
    const auto page = http_get(nginx.port(), "/");
    BOOST_TEST(page.result_int() == 200u);
    BOOST_TEST(page.body().find("/wshub.js") != std::string::npos);
    const auto client = http_get(nginx.port(), "/wshub.js");
    BOOST_TEST(client.result_int() == 200u);
    BOOST_TEST(client.body() == http_get(server.port(), "/wshub.js").body());
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

BOOST_FIXTURE_TEST_CASE(access_log_leaves_out_the_query_string, server_behind_nginx) {
    // Browsers send their JWT in the query; the access log must not keep it.
    const std::string secret = "eyJhbGciOiJIUzI1NiJ9.query-token-that-must-not-be-logged.c2ln";
    const auto res = http_get(nginx.port(), "/im?user_id=alice&token=" + secret);
    BOOST_TEST(res.result_int() == 426u);
    // nginx writes the line when it finishes the request, which may be just after the answer.
    std::string log;
    const auto deadline = std::chrono::steady_clock::now() + wait_timeout;
    while (log.find("/im") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // polls a file another process writes
        std::ifstream in(nginx.prefix().access_log_path());
        std::ostringstream all;
        all << in.rdbuf();
        log = all.str();
    }
    BOOST_TEST_REQUIRE(log.find("GET /im ") != std::string::npos, "access log: '" << log << "'");
    BOOST_TEST(log.find("query-token-that-must-not-be-logged") == std::string::npos,
               "access log: '" << log << "'");
    BOOST_TEST(log.find("token=") == std::string::npos, "access log: '" << log << "'");
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

BOOST_FIXTURE_TEST_CASE(idle_client_behind_nginx_outlives_the_proxy_read_timeout,
                        pinging_server_behind_nginx) {
    // Eight pings at one a second keep the client idle for three times nginx's read timeout:
    // about six minutes at the shipped timing. Then a broadcast must still reach it.
    constexpr int pings_to_wait = 8;
    // Declared before the clients, so that they outlive the callbacks that refer to them.
    int pings = 0;
    bool published = false;
    std::exception_ptr publish_error;
    ws_client idle(io, std::chrono::seconds(60)), publisher(io);
    idle.connect(nginx.port(), "/im?user_id=idle");
    publisher.connect(port(), "/im?user_id=publisher");

    idle.stream().control_callback([&](websocket::frame_type kind, beast::string_view) {
        if (kind != websocket::frame_type::ping || ++pings != pings_to_wait) return;
        asio::co_spawn(io.context(), publisher.async_send("still connected", true),
                       [&](std::exception_ptr e) {
                           publish_error = e;
                           published = true;
                       });
    });
    // The pending read answers each ping with a pong, as a browser does.
    const auto m = idle.read();
    idle.stream().control_callback();
    BOOST_TEST(io.run_until([&] { return published; }), "the publisher's send did not complete");
    BOOST_TEST(!publish_error);
    BOOST_TEST(pings >= pings_to_wait);
    BOOST_TEST(m.payload == "still connected");
}

BOOST_FIXTURE_TEST_CASE(without_pings_nginx_cuts_an_idle_client, silent_server_behind_nginx) {
    // What the pings are for: with none, nginx ends the idle connection at its read timeout.
    raw_ws_client idle(io, std::nullopt, std::chrono::seconds(30));
    idle.upgrade(nginx.port(), "/im?user_id=idle");
    const auto end = idle.read_until_end();
    BOOST_TEST(end.bytes.empty(), "wshub sent " << end.bytes.size() << " bytes to an idle client");
    BOOST_TEST((end.end == asio::error::eof || end.end == asio::error::connection_reset), end.end.message());
}

BOOST_FIXTURE_TEST_CASE(publish_api_through_nginx_needs_a_token, server_behind_nginx) {
    // Without --api-token the API answers direct loopback calls only, and nginx forwards.
    const auto r = http_post(nginx.port(), "/api/publish", R"({"data": "from outside"})");
    BOOST_TEST(r.result_int() == 401u, r.body());
}

BOOST_FIXTURE_TEST_CASE(publish_api_passes_through_nginx, api_server_behind_nginx) {
    ws_client client(io);
    client.connect(nginx.port(), "/im?user_id=via-nginx");
    const auto refused = http_post(nginx.port(), "/api/publish", R"({"data": "no token"})");
    BOOST_TEST(refused.result_int() == 401u, refused.body());
    const auto r = http_post(nginx.port(), "/api/publish", R"({"data": "through the proxy"})",
                             {{"Authorization", "Bearer behind-nginx-token"}});
    BOOST_TEST(r.result_int() == 200u, r.body());
    BOOST_TEST(r.body().find(R"("delivered":1)") != std::string::npos, r.body());
    BOOST_TEST(client.read().payload == "through the proxy");
    const auto presence =
        http_get(nginx.port(), "/api/presence", {{"Authorization", "Bearer behind-nginx-token"}});
    BOOST_TEST(presence.result_int() == 200u, presence.body());
    BOOST_TEST(presence.body().find(R"("via-nginx":1)") != std::string::npos, presence.body());
}

BOOST_FIXTURE_TEST_CASE(nginx_spreads_connections_over_the_nodes, two_nodes_behind_nginx) {
    // least_conn: while the first connection stays open, the second goes to the other node.
    ws_client first(io), second_client(io);
    first.connect(nginx.port(), "/im?user_id=first");
    second_client.connect(nginx.port(), "/im?user_id=second");
    BOOST_TEST(server.wait_for_log("connect user_id=").has_value());
    BOOST_TEST(second.wait_for_log("connect user_id=").has_value());
    BOOST_TEST(server.count_log("connect user_id=") == 1u);
    BOOST_TEST(second.count_log("connect user_id=") == 1u);
    BOOST_TEST(http_get(nginx.port(), "/ping").body() == "pong");
    // A node that stops closes its own clients only (1001, through the proxy).
    second.terminate();
    BOOST_TEST(second_client.read_close().code == static_cast<unsigned>(websocket::close_code::going_away));
    BOOST_TEST(second.wait_exit() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// The server object's own contract, on 127.0.0.1 with a free port: no clients.
#include "wshub/server.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <future>
#include <thread>

BOOST_AUTO_TEST_SUITE(server_lifetime)

BOOST_AUTO_TEST_CASE(a_stop_requested_before_run_is_not_lost) {
    wshub::config cfg;
    cfg.address = "127.0.0.1";
    cfg.port = 0;
    cfg.threads = 2;
    std::promise<void> stopped;
    auto done = stopped.get_future();
    std::thread runner([&stopped, cfg] {
        try {
            wshub::server srv(cfg);
            srv.request_stop();
            srv.run(false);
            stopped.set_value();
        } catch (...) {
            stopped.set_exception(std::current_exception());
        }
    });
    if (done.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
        runner.detach(); // run() never returns: nothing can end it from here
        BOOST_FAIL("run() did not return after a stop requested before it");
    }
    runner.join();
    BOOST_CHECK_NO_THROW(done.get());
}

BOOST_AUTO_TEST_SUITE_END()

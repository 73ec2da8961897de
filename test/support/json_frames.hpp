// Reading what a wshub connection receives, for the tests of the publish API, streams and the bus:
// JSON text frames (envelopes, join frames, gap notices), their seq, and the data frames queued
// before now.
#pragma once

#include "http_client.hpp"
#include "raw_connection.hpp"
#include "server_frames.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace wshub_test {

// POST /api/publish; the answer must be 200, and its JSON is returned.
inline boost::json::value publish_api(std::uint16_t port, const std::string& body) {
    const auto r = http_post(port, "/api/publish", body);
    BOOST_REQUIRE_EQUAL(r.result_int(), 200u);
    return boost::json::parse(r.body());
}

// The next frame, which must be a text frame holding a JSON object.
inline boost::json::object read_json(raw_connection& c) {
    const auto f = c.read_frame();
    BOOST_REQUIRE_EQUAL(int(f.opcode), int(op_text));
    auto v = boost::json::parse(f.payload);
    BOOST_REQUIRE(v.is_object());
    return std::move(v.as_object());
}

inline std::uint64_t seq_of(const boost::json::object& o) {
    return o.at("seq").to_number<std::uint64_t>();
}

// The data frames that arrive before the answer to a ping sent now: everything queued for the
// connection so far.
inline std::vector<server_frame> frames_before_pong(raw_connection& c) {
    c.send(client_frame(op_ping, "probe"));
    std::vector<server_frame> before;
    for (;;) {
        auto f = c.read_frame();
        if (f.opcode == op_pong) return before;
        BOOST_REQUIRE_MESSAGE(f.opcode == op_text || f.opcode == op_binary,
                              "unexpected frame with opcode " << int(f.opcode));
        before.push_back(std::move(f));
    }
}

// Their payloads.
inline std::vector<std::string> payloads_before_pong(raw_connection& c) {
    std::vector<std::string> out;
    for (auto& f : frames_before_pong(c))
        out.push_back(std::move(f.payload));
    return out;
}

} // namespace wshub_test

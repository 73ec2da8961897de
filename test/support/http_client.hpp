// One HTTP/1.1 request over a fresh connection, bounded in time (the test fails on timeout).
#pragma once

#include "test_io.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wshub_test {

using header_list = std::vector<std::pair<std::string, std::string>>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

// Any request, with a body for POST (Content-Length set).
http_response http_request(std::uint16_t port, boost::beast::http::verb method, std::string_view target,
                           std::string body = {}, const header_list& headers = {},
                           std::string_view host = "127.0.0.1",
                           std::chrono::milliseconds timeout = wait_timeout);

// POST `body` to `target` on 127.0.0.1.
http_response http_post(std::uint16_t port, std::string_view target, std::string body,
                        const header_list& headers = {});

// GET `target` from `host` (a loopback address) with the given extra headers; Host is set.
http_response http_get(std::uint16_t port, std::string_view target, const header_list& headers = {},
                       std::string_view host = "127.0.0.1", std::chrono::milliseconds timeout = wait_timeout);

} // namespace wshub_test

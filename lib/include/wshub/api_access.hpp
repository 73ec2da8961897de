// Who may call the publish API (/api/*): a backend that shows the bearer token, or, when no token
// is configured, a process on the same machine talking to wshub directly.
#pragma once

#include "wshub/publish_request.hpp"

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace wshub {

struct api_caller {
    std::string_view authorization; // the Authorization header
    boost::asio::ip::address peer;  // the TCP peer
    bool forwarded = false;         // the request names a client behind a proxy (X-Forwarded-For...)
};

// With a token: "Authorization: Bearer <token>" or 401. Without one: a loopback peer whose
// request did not come through a proxy (a proxy on the same machine is loopback too), or 401.
std::optional<api_error> check_api_access(const api_caller& caller, const std::string& token);

} // namespace wshub

// An IP address from its text, for unit tests that name addresses inline.
#pragma once

#include <boost/asio/ip/address.hpp>

namespace wshub_test {

inline boost::asio::ip::address addr(const char* text) {
    return boost::asio::ip::make_address(text);
}

} // namespace wshub_test

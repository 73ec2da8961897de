// Which peers are reverse proxies whose forwarding headers are believed (--trusted-proxies), and
// the client address a request from one of them stands for. Pure, no I/O.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <string_view>
#include <vector>

namespace wshub {

class trusted_proxies {
  public:
    // No proxy is trusted: every client is its peer address.
    trusted_proxies() = default;

    // Parses a comma-separated list of addresses and CIDR networks, IPv4 or IPv6, such as
    // "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8". Throws std::invalid_argument naming the first entry
    // that is neither.
    static trusted_proxies parse(std::string_view list);

    bool empty() const noexcept { return v4_.empty() && v6_.empty(); }

    // Whether `peer` is one of the trusted proxies (an IPv4-mapped IPv6 peer counts as IPv4).
    bool trusts(const boost::asio::ip::address& peer) const;

    // The client a request from `peer` is on behalf of. A peer that is not trusted is the client,
    // whatever it sends. From a trusted proxy, X-Forwarded-For (all its lines joined with commas,
    // nearest hop last) is read from the right: each hop that is itself a trusted proxy is passed
    // over, and the first one that is not is the client, since everything to its left was written
    // by parties nobody vouches for. If every hop is trusted, the leftmost is the client. A hop that
    // is not an address ends the walk at the last address read (the peer if none). Without
    // X-Forwarded-For, X-Real-IP (one address) is used, and without either the peer is the client.
    boost::asio::ip::address client_address(const boost::asio::ip::address& peer,
                                            std::string_view x_forwarded_for,
                                            std::string_view x_real_ip) const;

  private:
    std::vector<boost::asio::ip::network_v4> v4_;
    std::vector<boost::asio::ip::network_v6> v6_;
};

} // namespace wshub

#include "wshub/trusted_proxies.hpp"

#include <optional>
#include <stdexcept>
#include <string>

namespace wshub {

namespace ip = boost::asio::ip;

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// IPv4-mapped IPv6 (::ffff:a.b.c.d, as a dual-stack socket reports IPv4 peers) as the IPv4 address.
ip::address unmapped(const ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    return a;
}

// One hop of a forwarding header: an address, possibly in brackets or with a port as some proxies
// write it ("[2001:db8::1]:443", "192.0.2.1:80"); nullopt if it is not one.
std::optional<ip::address> parse_hop(std::string_view hop) {
    hop = trim(hop);
    if (hop.empty()) return std::nullopt;
    if (hop.front() == '[') {
        const auto close = hop.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        hop = hop.substr(1, close - 1);
    } else if (hop.find(':') == hop.rfind(':') && hop.find('.') != std::string_view::npos) {
        hop = hop.substr(0, hop.find(':')); // a.b.c.d or a.b.c.d:port
    }
    boost::system::error_code ec;
    auto a = ip::make_address(std::string(hop), ec);
    if (ec) return std::nullopt;
    return unmapped(a);
}

} // namespace

trusted_proxies trusted_proxies::parse(std::string_view list) {
    trusted_proxies t;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto entry = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (entry.empty()) continue;
        const std::string text(entry);
        boost::system::error_code ec;
        if (text.find('/') == std::string::npos) {
            const auto a = unmapped(ip::make_address(text, ec));
            if (!ec && a.is_v4())
                t.v4_.push_back(ip::make_network_v4(a.to_v4(), 32));
            else if (!ec)
                t.v6_.push_back(ip::make_network_v6(a.to_v6(), 128));
        } else if (text.find(':') == std::string::npos) {
            const auto n = ip::make_network_v4(text, ec);
            if (!ec) t.v4_.push_back(n.canonical());
        } else {
            const auto n = ip::make_network_v6(text, ec);
            if (!ec) t.v6_.push_back(n.canonical());
        }
        if (ec)
            throw std::invalid_argument("--trusted-proxies: '" + text +
                                        "' is not an address or a CIDR network (e.g. 10.0.0.0/8, fd00::/8)");
    }
    return t;
}

bool trusted_proxies::trusts(const ip::address& peer) const {
    const auto a = unmapped(peer);
    if (a.is_v4()) {
        const auto v4 = ip::make_network_v4(a.to_v4(), 32);
        for (const auto& n : v4_)
            if (v4 == n || v4.is_subnet_of(n)) return true;
        return false;
    }
    const auto v6 = ip::make_network_v6(a.to_v6(), 128);
    for (const auto& n : v6_)
        if (v6 == n || v6.is_subnet_of(n)) return true;
    return false;
}

ip::address trusted_proxies::client_address(const ip::address& peer, std::string_view x_forwarded_for,
                                            std::string_view x_real_ip) const {
    if (!trusts(peer)) return peer;
    if (!trim(x_forwarded_for).empty()) {
        ip::address client = peer;
        while (!x_forwarded_for.empty()) {
            const auto comma = x_forwarded_for.rfind(',');
            const auto hop = parse_hop(comma == std::string_view::npos ? x_forwarded_for
                                                                       : x_forwarded_for.substr(comma + 1));
            x_forwarded_for = x_forwarded_for.substr(0, comma == std::string_view::npos ? 0 : comma);
            if (!hop) break;
            client = *hop;
            if (!trusts(client)) break;
        }
        return client;
    }
    if (auto real = parse_hop(x_real_ip)) return *real;
    return peer;
}

} // namespace wshub

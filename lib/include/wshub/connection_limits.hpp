// Admission control for new connections: a cap on all connections and on those from one address,
// so one client (or a small botnet) cannot take every slot. Thread-safe; it is consulted on connect
// and disconnect only, so one mutex is enough.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

namespace wshub {

class connection_limits {
    struct state;

  public:
    enum class refusal {
        server_full,           // max_total reached
        too_many_from_address, // max_per_ip reached for this address
    };

    // Holds one admitted connection's place and gives it back when destroyed. Move-only. It keeps
    // the counters alive, so it may outlive the connection_limits that issued it.
    class slot {
      public:
        slot(slot&& other) noexcept
            : state_(std::move(other.state_))
            , key_(other.key_) {}
        slot& operator=(slot&& other) noexcept;
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;
        ~slot() { release(); }

        // Gives the place back now; later calls (and the destructor) do nothing.
        void release() noexcept;

      private:
        friend class connection_limits;
        slot(std::shared_ptr<state> s, const boost::asio::ip::address& key) noexcept
            : state_(std::move(s))
            , key_(key) {}

        std::shared_ptr<state> state_;
        boost::asio::ip::address key_;
    };

    // 0 means unlimited, for either limit.
    connection_limits(std::size_t max_total, std::size_t max_per_ip);

    // Admits a connection from `peer`, or says why not (through `why`, when given).
    //
    // IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as a dual-stack socket reports IPv4 peers) count
    // as the IPv4 address, and IPv6 addresses count per /64 prefix: that is what one subscriber or
    // host is usually given, so counting single IPv6 addresses would not limit anyone.
    std::optional<slot> try_acquire(const boost::asio::ip::address& peer, refusal* why = nullptr);

    // Connections admitted and not yet released: in all, and from `peer` (counted as above; per
    // address counts are only kept when max_per_ip is set, so without it count() is 0).
    std::size_t total() const;
    std::size_t count(const boost::asio::ip::address& peer) const;

    // Addresses with at least one connection; memory stays proportional to this.
    std::size_t tracked_addresses() const;

    std::size_t max_total() const noexcept;
    std::size_t max_per_ip() const noexcept;

    // The one-line reason sent to a refused client.
    static std::string_view reason(refusal r) noexcept;

    // The address a peer is counted under (see try_acquire).
    static boost::asio::ip::address key_for(const boost::asio::ip::address& peer) noexcept;

  private:
    std::shared_ptr<state> state_;
};

} // namespace wshub

// Admission control for new connections: a cap on all connections, on those from one address and
// on those of one user, so one client (or a small botnet, or one account) cannot take every slot.
// Thread-safe; it is consulted on connect and disconnect only, so one mutex is enough.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wshub {

class connection_limits {
    struct state;

  public:
    enum class refusal {
        server_full,           // max_total reached
        too_many_from_address, // max_per_ip reached for this address
        too_many_for_user,     // max_per_user reached for this user id
    };

    // Holds one admitted connection's place and gives it back when destroyed. Move-only. It keeps
    // the counters alive, so it may outlive the connection_limits that issued it.
    class slot {
      public:
        slot(slot&& other) noexcept
            : state_(std::move(other.state_))
            , key_(std::move(other.key_))
            , addressed_(other.addressed_)
            , user_(std::move(other.user_)) {}
        slot& operator=(slot&& other) noexcept;
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;
        ~slot() { release(); }

        // Gives the place back now; later calls (and the destructor) do nothing.
        void release() noexcept;

      private:
        friend class connection_limits;
        slot(std::shared_ptr<state> s, const boost::asio::ip::address& key, bool addressed,
             std::string user) noexcept
            : state_(std::move(s))
            , key_(key)
            , addressed_(addressed)
            , user_(std::move(user)) {}

        std::shared_ptr<state> state_;
        boost::asio::ip::address key_;
        bool addressed_ = true; // counted under key_ (when max_per_ip is set)
        std::string user_;      // counted for this user (when max_per_user is set and it is not empty)
    };

    // 0 means unlimited, for each limit.
    connection_limits(std::size_t max_total, std::size_t max_per_ip, std::size_t max_per_user = 0);

    // Admits a connection from `peer`, or says why not (through `why`, when given).
    //
    // IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as a dual-stack socket reports IPv4 peers) count
    // as the IPv4 address, and IPv6 addresses count per /64 prefix: that is what one subscriber or
    // host is usually given, so counting single IPv6 addresses would not limit anyone.
    //
    // A non-empty `user` is also counted against max_per_user.
    std::optional<slot> try_acquire(const boost::asio::ip::address& peer, refusal* why = nullptr,
                                    std::string_view user = {});

    // Admits a connection counted in the total only: one from a trusted proxy, whose clients'
    // addresses are not known yet.
    std::optional<slot> try_acquire_unaddressed(refusal* why = nullptr);

    // Connections admitted and not yet released: in all, and from `peer` (counted as above; per
    // address counts are only kept when max_per_ip is set, so without it count() is 0).
    std::size_t total() const;
    std::size_t count(const boost::asio::ip::address& peer) const;
    std::size_t count_user(std::string_view user) const;

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

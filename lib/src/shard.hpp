// One I/O thread's share of the clients: its own io_context and the list of sessions it runs.
// Only this shard's thread touches the list, so fan-out to it needs no lock.
#pragma once

#include "event.hpp"
#include "presence.hpp"
#include "server_state.hpp"
#include "wshub/frame.hpp"
#include "wshub/name_index.hpp"
#include "wshub/permessage_deflate.hpp"
#include "wshub/resume_positions.hpp"
#include "wshub/stream_history.hpp"

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wshub {

class session;

class shard {
  public:
    shard(unsigned index, server_state& state);

    boost::asio::io_context& context() noexcept { return ioc_; }
    unsigned index() const noexcept { return index_; }
    server_state& state() noexcept { return state_; }
    // This shard's counters for /metrics: its thread's alone to write.
    shard_counters& counters() noexcept { return counters_; }

    // Shard thread only.
    void add(session& s);
    void remove(session& s);
    std::size_t size() const noexcept { return sessions_.size(); }

    // Hands one batch to its sessions of this shard: a broadcast to every one, a targeted
    // message to those the user and channel indexes name (no scan). Per-client cost: one queue
    // push or one non-blocking write, never a wait. Shard thread; cancellation: none (it never
    // suspends).
    boost::asio::awaitable<void> deliver(frame_batch_ptr batch);

    // Closes this shard's connections of `user_id` with 4002; returns how many (shard thread).
    std::size_t disconnect_user(const std::string& user_id);
    // This shard's connections and users, of `channel` if it is not empty (shard thread).
    presence presence_of(const std::string& channel) const;

    // The shard's member of the server's task group, on its thread. Until the stop it pings
    // silent clients and drops those past the idle timeout (one timer per shard, not per
    // connection). The polite stop (`total`) closes every client with 1001 after its queue, the
    // forced one (`terminal`) closes their sockets; it returns when the last client has gone.
    // Shard thread; cancellation: the group's total (close politely) then terminal (close now).
    boost::asio::awaitable<void> run();

    // Readers of this shard stop handing messages to the hub (shard thread only).
    void stop_publishing() noexcept { publishing_ = false; }
    bool publishing() const noexcept { return publishing_; }
    // Set by the polite stop: a client that joins later is closed at once (shard thread only).
    bool closing_clients() const noexcept { return closing_clients_; }

    // Where this shard's sessions read: one buffer for all of them, since a session parses what
    // it read before it yields, and keeps only what the parser copied out.
    std::span<char> read_buffer() noexcept { return {read_buffer_.get(), read_buffer_size}; }

    // The inflater of this shard's sessions that negotiated permessage-deflate: they inflate one
    // message at a time, on this thread, so one serves all of them. Made on first use.
    inflater& shared_inflater();

    // Right after `s` joined (before any later batch): in the envelope mode the join frame with
    // its streams' positions; with since= the gap notices, then what it missed that the history
    // keeps, in the hub's order. Shard thread.
    void catch_up(session& s, const std::optional<resume_positions>& resume);

  private:
    // How a session gets a batch's messages: raw or as envelopes, plain or compressed.
    enum encoding : std::uint8_t { raw, enveloped, deflated, deflated_enveloped };
    static encoding encoding_of(const session& s) noexcept;
    // Messages [first, last) of a batch as one run of bytes in each encoding that a session of
    // this shard uses (the others are empty).
    struct frame_run {
        std::array<std::string_view, 4> bytes; // by encoding
        std::uint64_t last_order = 0;
        std::string_view for_session(const session& s) const noexcept { return bytes[encoding_of(s)]; }
    };
    frame_run run_of(const frame_batch& batch, std::size_t first, std::size_t last) const;
    // The bus brought another epoch (the first announcement, or Redis lost its counters).
    void renumbered(const frame_batch_ptr& batch);
    // Sends a gap notice to every session of the hole's stream.
    void tell_of_hole(const stream_history::hole& h);
    std::string join_frame_for(const session& s) const;
    // Delivers `run`, messages that all have `target` (users, a channel or both), as one piece
    // to each of its connections; returns how many took it.
    std::size_t deliver_targeted(const frame_batch_ptr& batch, const message_target& target,
                                 const frame_run& run, std::chrono::steady_clock::time_point now);
    // Adds `reached` to message i's count of connections, when its publisher asked.
    static void count(const frame_batch& batch, std::size_t i, std::size_t reached) noexcept;
    void close_all(close_status code, std::string_view reason);
    void force_close_all();
    // Calls `f` on every session; one that throws is logged and closed, the others go on.
    template <class F>
    void for_each_session(F f);
    // Calls f(s); a session for which it throws is logged and closed.
    template <class F>
    void guarded(session& s, F f);
    // Queues `run` for every session; returns how many took it.
    std::size_t deliver_to_everyone(const frame_batch_ptr& batch, const frame_run& run,
                                    std::chrono::steady_clock::time_point now);

    unsigned index_;
    server_state& state_;
    shard_counters& counters_ = state_.counters.per_shard.at(index_);
    boost::asio::io_context ioc_{1}; // run by exactly one thread
    std::vector<session*> sessions_;
    name_index<session> by_user_;
    name_index<session> by_channel_;
    // How many sessions use each encoding: none, and no batch is encoded so.
    std::array<std::size_t, 4> encoding_sessions_{};
    std::unique_ptr<inflater> inflater_;
    stream_history history_;
    std::string epoch_; // of the numbering this shard's history and clients' positions are in
    bool bus_epoch_seen_ = false;
    bool publishing_ = true;
    bool closing_clients_ = false;
    event all_left_{ioc_.get_executor()}; // set when the list empties after the polite stop
    static constexpr std::size_t read_buffer_size = std::size_t{64} * 1024;
    std::unique_ptr<char[]> read_buffer_ = std::make_unique_for_overwrite<char[]>(read_buffer_size);
};

} // namespace wshub

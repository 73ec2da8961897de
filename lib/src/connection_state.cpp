#include "wshub/connection_state.hpp"

#include <fmt/format.h>
#include <utility>

namespace wshub {

namespace {

// The reason a close of ours with `code` stands for, when the caller names none.
disconnect_reason reason_of(close_status code) noexcept {
    switch (code) {
    case close_status::going_away:
        return disconnect_reason::shutdown;
    case close_status::token_expired:
        return disconnect_reason::token_expired;
    case close_status::disconnected:
        return disconnect_reason::disconnected;
    case close_status::protocol_error:
    case close_status::bad_payload:
    case close_status::too_big:
        return disconnect_reason::protocol_error;
    case close_status::normal:
    case close_status::policy_violation: // rate limit or slow consumer: the caller says which
        break;
    }
    return disconnect_reason::server_error;
}

} // namespace

bool connection_state::record(close_cause cause, std::uint16_t code, std::string detail, bool ours) {
    const bool unanswered_peer_close =
        !close_sent_ && (cause_ == close_cause::peer_close_frame || cause_ == close_cause::peer_violation);
    if (cause_ != close_cause::none && !(ours && unanswered_peer_close)) return false;
    cause_ = cause;
    code_ = code;
    detail_ = std::move(detail);
    return true;
}

connection_state::close_frame connection_state::send(close_frame frame) {
    close_sent_ = true;
    phase_ = phase::closing;
    return frame;
}

bool connection_state::close_socket() {
    if (phase_ == phase::closed) return false;
    phase_ = phase::closed;
    return true;
}

void connection_state::peer_closed(std::uint16_t code, std::string_view reason) {
    if (closed()) return;
    peer_close_received_ = true;
    phase_ = phase::closing;
    record(close_cause::peer_close_frame, code, std::string(reason), false);
    // The echo carries the peer's code alone (RFC 6455 section 5.5.1).
    if (!close_sent_ && !held_close_) held_close_ = close_frame{code, {}};
}

void connection_state::peer_violated(std::uint16_t code, std::string why) {
    if (closed()) return;
    phase_ = phase::closing;
    if (!close_sent_ && !held_close_) held_close_ = close_frame{code, why};
    record(close_cause::peer_violation, code, std::move(why), false);
}

void connection_state::peer_disconnected() {
    if (closed()) return;
    phase_ = phase::closing;
    record(close_cause::peer_disconnected, 0, {}, false);
}

void connection_state::read_failed(std::string error) {
    if (closed()) return;
    phase_ = phase::closing;
    record(close_cause::read_failed, 0, std::move(error), false);
}

std::optional<connection_state::close_frame> connection_state::close_server(close_status code,
                                                                            std::string_view reason) {
    return close_server(code, reason, reason_of(code));
}

std::optional<connection_state::close_frame>
connection_state::close_server(close_status code, std::string_view reason, disconnect_reason why) {
    if (closed() || close_sent_ || reader_ended_) return std::nullopt;
    held_close_.reset();
    const auto value = static_cast<std::uint16_t>(code);
    if (record(close_cause::server_close, value, std::string(reason), true)) server_reason_ = why;
    return send(close_frame{value, std::string(reason)});
}

std::optional<connection_state::close_frame> connection_state::take_held_close() {
    if (!held_close_) return std::nullopt;
    auto frame = std::exchange(held_close_, std::nullopt);
    if (closed() || close_sent_) return std::nullopt;
    return send(std::move(*frame));
}

bool connection_state::write_failed(std::string error) {
    if (closed()) return false;
    record(close_cause::write_failed, 0, std::move(error), false);
    return close_socket();
}

bool connection_state::idle_timeout() {
    if (closed()) return false;
    record(close_cause::idle_timeout, 0, {}, true);
    return close_socket();
}

bool connection_state::force_close() {
    if (closed()) return false;
    record(close_cause::forced, 0, {}, false);
    return close_socket();
}

bool connection_state::writer_starting() noexcept {
    if (writer_running_ || closed()) return false;
    writer_running_ = true;
    return true;
}

bool connection_state::reader_ended() noexcept {
    reader_ended_ = true;
    return std::exchange(in_shard_, false);
}

const std::shared_ptr<publish_receipt>& connection_state::receipt() {
    if (!receipt_) receipt_ = std::make_shared<publish_receipt>();
    return receipt_;
}

bool connection_state::own_messages_delivered() const noexcept {
    if (published_ == 0) return true;
    return receipt_ && (receipt_->numbered.load(std::memory_order_acquire) == published_ &&
                        delivered_order_ >= receipt_->last_order.load(std::memory_order_relaxed));
}

std::string connection_state::describe() const {
    switch (cause_) {
    case close_cause::none:
        return {};
    case close_cause::peer_close_frame:
        if (code_ == 0) return "closed";
        return fmt::format("closed by peer ({}{}{})", code_, detail_.empty() ? "" : ": ", detail_);
    case close_cause::peer_disconnected:
        return "connection closed without a close frame";
    case close_cause::peer_violation:
        return fmt::format("protocol error ({}): {}", code_, detail_);
    case close_cause::server_close:
        return fmt::format("closed by server ({} {})", code_, detail_);
    case close_cause::idle_timeout:
        return "idle timeout: no answer to pings";
    case close_cause::read_failed:
        return "read failed: " + detail_;
    case close_cause::write_failed:
        return "write failed: " + detail_;
    case close_cause::forced:
        return "closed by server at once";
    }
    return {};
}

disconnect_reason connection_state::reason() const noexcept {
    switch (cause_) {
    case close_cause::peer_close_frame:
        return disconnect_reason::client_close;
    case close_cause::peer_disconnected:
    case close_cause::read_failed: // a reset, mostly
        return disconnect_reason::client_gone;
    case close_cause::peer_violation:
        return disconnect_reason::protocol_error;
    case close_cause::server_close:
        return server_reason_;
    case close_cause::idle_timeout:
        return disconnect_reason::idle;
    case close_cause::write_failed:
        return disconnect_reason::write_error;
    case close_cause::none: // not ended: only an error makes a session leave without a cause
    case close_cause::forced:
        break;
    }
    return disconnect_reason::server_error;
}

} // namespace wshub

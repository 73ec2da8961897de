#include "wshub/admission.hpp"

#include "wshub/envelope.hpp"
#include "wshub/permessage_deflate.hpp"
#include "wshub/websocket_handshake.hpp"

#include <fmt/format.h>

namespace wshub {

namespace {

http_reply refuse(unsigned status, std::string_view why) {
    return http_reply{status, fmt::format("{}\n", why)};
}

http_reply challenge(std::string_view why) {
    auto r = refuse(401, why);
    r.bearer_challenge = true;
    return r;
}

} // namespace

std::variant<admission, http_reply> admit(const admission_policy& policy, upgrade_request upgrade,
                                          const upgrade_fields& fields, std::int64_t now_unix,
                                          upgrade_rate_limit::time_point now) {
    const auto deflate_answer = policy.compression ? permessage_deflate_answer(fields.offered_extensions)
                                                   : std::optional<std::string_view>();
    auto handshake = accept_websocket_handshake({fields.has_host, fields.sec_websocket_key,
                                                 fields.sec_websocket_version, fields.offered_subprotocols,
                                                 fields.offered_extensions, deflate_answer.value_or("")});
    if (auto* refused = std::get_if<http_reply>(&handshake)) return std::move(*refused);

    if (!policy.origins.allowed(fields.origin)) return refuse(403, "origin not allowed");

    std::optional<std::int64_t> valid_until;
    if (policy.jwt) {
        // A signature check can cost milliseconds of this thread: an address that asks too often
        // is refused before its token is looked at.
        if (policy.upgrade_rate && !policy.upgrade_rate->try_admit(fields.peer, now))
            return refuse(429, "too many upgrades from this address; retry later");
        const auto token = extract_token(fields.authorization, upgrade.token);
        if (!token) return challenge("missing token: send Authorization: Bearer <jwt> or ?token=<jwt>");
        auto verified = policy.jwt->verify(*token, now_unix);
        if (auto* err = std::get_if<auth_error>(&verified)) return challenge(err->reason);
        auto& identity = std::get<verified_identity>(verified);
        // A user_id in the URL must name the token's subject: a token never speaks for another user.
        if (!upgrade.user_id.empty() && upgrade.user_id != identity.sub)
            return refuse(403, "user_id does not match the token's subject");
        upgrade.user_id = std::move(identity.sub);
        if (identity.expires_at) valid_until = *identity.expires_at + policy.jwt->options().leeway.count();
    }

    connection_limits::refusal why{};
    auto slot = policy.limits.try_acquire(fields.peer, &why, upgrade.user_id);
    // One user over its share is told so (429: it may retry once one of its sessions has ended);
    // a full server or address is 503.
    if (!slot)
        return refuse(why == connection_limits::refusal::too_many_for_user ? 429 : 503,
                      connection_limits::reason(why));
    // The subprotocol wshub.json, named in the 101, asks for the envelope as envelope=json does.
    const bool envelope =
        upgrade.envelope || select_subprotocol(fields.offered_subprotocols, supported_subprotocols) ==
                                std::optional<std::string_view>(envelope_subprotocol);
    return admission{std::move(upgrade.user_id),
                     std::move(*slot),
                     std::get<std::string>(std::move(handshake)),
                     valid_until,
                     std::move(upgrade.channels),
                     envelope,
                     std::move(upgrade.resume),
                     deflate_answer.has_value()};
}

http_reply refuse_http_connection(connection_limits::refusal why) {
    return refuse(503, why == connection_limits::refusal::server_full
                           ? "server is at its HTTP connection limit"
                           : "too many HTTP connections from this address");
}

} // namespace wshub

// The JSON envelope mode (?envelope=json or the subprotocol wshub.json): every message as a JSON
// text frame that carries its stream position, and the two notices that frame a connection's
// start: where it joined, and which part of a resumed stream is lost. README "Streams and
// recovery" documents the shapes.
#pragma once

#include "wshub/message.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wshub {

// The subprotocol that selects the envelope mode.
inline constexpr std::string_view envelope_subprotocol = "wshub.json";

// {"seq":12,"channel":null,"data":"hello"}; a binary payload goes as base64 with "binary":true.
// An empty `channel` is the all-clients stream (null).
std::string envelope_json(std::uint64_t seq, std::string_view channel, payload_kind kind,
                          std::string_view payload);

// {"type":"join","epoch":"…","seq":S,"channels":{"news":N}}: the last seq of each of the
// connection's streams before it joined; it receives exactly what is numbered after them.
std::string join_json(std::string_view epoch, std::uint64_t all_clients_seq,
                      const std::vector<std::pair<std::string, std::uint64_t>>& channels);

// {"type":"gap","channel":null,"since":S,"oldest":F}: the history no longer holds what followed
// `since` in the stream; what it still holds starts at `oldest`.
std::string gap_json(std::string_view channel, std::uint64_t since, std::uint64_t oldest);

} // namespace wshub

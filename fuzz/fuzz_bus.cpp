// Decodes arbitrary bytes as a batch from the Redis bus: whatever another program publishes on
// the bus channel must be refused or decoded, never crash; a decoded message's body encodes
// back to what was decoded.
#include "wshub/bus_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto batch = wshub::decode_bus_batch(in);
    if (!batch) return 0;
    for (const auto& m : batch->messages) {
        wshub::message again;
        again.kind = m.kind;
        again.payload = m.payload;
        again.target = m.target;
        const auto body = wshub::encode_bus_body(again);
        const auto header = "W1 e n 1 1\n" + std::to_string(m.seq) + " " + std::to_string(body.size()) + "\n";
        const auto round = wshub::decode_bus_batch(header + body);
        if (!round || round->messages.size() != 1 || round->messages[0].payload != m.payload ||
            round->messages[0].target.user_ids != m.target.user_ids ||
            round->messages[0].target.channel != m.target.channel)
            __builtin_trap();
    }
    return 0;
}

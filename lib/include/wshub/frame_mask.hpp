// The XOR masking of frame payloads (RFC 6455 section 5.3): the server unmasks what clients send,
// and the test and benchmark clients mask what they send, with this one function.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wshub {

// XORs `n` bytes with the mask key, the first of them being byte `offset` of the frame's payload.
// Eight bytes at a time: the key repeats every four bytes, so a word holds it twice.
inline void apply_mask(char* data, std::size_t n, const std::array<unsigned char, 4>& key,
                       std::uint64_t offset = 0) noexcept {
    std::array<unsigned char, 8> k{};
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = key[(offset + i) & 3];
    std::uint64_t word_key;
    std::memcpy(&word_key, k.data(), 8);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, data + i, 8);
        word ^= word_key;
        std::memcpy(data + i, &word, 8);
    }
    for (; i < n; ++i)
        data[i] = static_cast<char>(data[i] ^ k[i & 7]);
}

} // namespace wshub

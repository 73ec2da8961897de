// A JSON payload of about `n` bytes, as a push hub carries it: an array of small, similar records,
// so it deflates as real payloads do.
#pragma once

#include <cstddef>
#include <string>

namespace wshub_test {

inline std::string json_payload(std::size_t n) {
    std::string s = "[";
    for (std::size_t i = 0; s.size() < n; ++i)
        s += R"({"id":)" + std::to_string(i) + R"(,"user":"alice","status":"online","score":42},)";
    s.back() = ']';
    return s;
}

} // namespace wshub_test

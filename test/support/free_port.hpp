// A TCP port on 127.0.0.1 that nothing listens on right now, for programs that cannot be told to
// pick their own (nginx). Another process may take it before it is used, which is unlikely enough.
#pragma once

#include <cstdint>

namespace wshub_test {

std::uint16_t free_loopback_port();

} // namespace wshub_test

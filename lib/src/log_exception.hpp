// Completion handler for co_spawn: a coroutine that ends with an exception is a bug, so say so.
#pragma once

#include <exception>
#include <spdlog/spdlog.h>

namespace wshub {

struct log_exception {
    explicit log_exception(const char* what)
        : what(what) {}
    const char* what;
    void operator()(const std::exception_ptr& e) const {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::error("{} failed: {}", what, ex.what());
        } catch (...) {
            spdlog::error("{} failed with an unknown exception", what);
        }
    }
};

} // namespace wshub

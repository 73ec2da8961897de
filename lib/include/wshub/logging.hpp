// The process's log on stderr, as text or JSON lines (--log-format), written by a background
// thread: a slow or stalled reader of stderr (a full pipe) never holds up the I/O threads.
#pragma once

#include "wshub/config.hpp"

#include <chrono>

namespace wshub {

// Writes what is queued and stops the writer, waiting at most `limit`: false if stderr did not
// drain in that time. After it, log lines are dropped; for exiting.
bool drain_log(std::chrono::milliseconds limit);

class process_log {
  public:
    // Installs the default logger for `cfg`. Lines wait in a bounded queue (8192) for the writer
    // thread; when it is full the oldest line is dropped rather than the caller blocked. Flushed at
    // once from warnings up, and every second.
    explicit process_log(const config& cfg);
    ~process_log();
    process_log(const process_log&) = delete;
    process_log& operator=(const process_log&) = delete;

    // Writes what is queued and stops the writer; false if that took longer than `limit` (stderr
    // does not drain), in which case the caller should exit without waiting for it.
    bool drain(std::chrono::milliseconds limit);

  private:
    bool drained_ = false;
};

} // namespace wshub

// probe.hpp - trying a plugin in a child process first, so one that crashes or hangs while
// loading costs the host a skipped plugin instead of its life.
#pragma once

#include <chrono>
#include <string>

#include "plugin.hpp"

namespace cagr {

struct ProbeResult {
  enum class Outcome { ok, failed, crashed, timed_out };
  Outcome outcome = Outcome::failed;
  int devices = 0;      // when ok
  std::string no_device_note;  // when ok with no device: what the plugin logged as the reason (no_device_note)
  std::string message;  // when not ok: names the file and what happened
};

// Forks; the child loads `path` with Plugin::load (dlopen, negotiation, init with `options`),
// counts devices, shuts the plugin down and reports over a pipe. The child is killed (with any
// processes it started) after `timeout`. Call before the host starts threads: the child of a
// multithreaded process may inherit a lock held by another thread.
ProbeResult probe_plugin(const std::string& path, const Options& options, std::chrono::milliseconds timeout);

}  // namespace cagr

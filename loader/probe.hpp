// probe.hpp - trying a plugin in a child process first, so one that crashes or hangs while
// loading costs the host a skipped plugin instead of its life.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

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

struct ProbeRequest {
  std::string path;
  Options options;
};

// Probes each request as probe_plugin does, up to `parallel` children at once (all forked from the
// calling thread, their pipes watched together), each with its own `timeout`. Results in the order
// of `requests`. `finished`, when set, is told of each probe as it ends ("libcagr_x.so probed, 3
// of 27"), so that a long discovery shows progress.
std::vector<ProbeResult> probe_plugins(const std::vector<ProbeRequest>& requests, std::chrono::milliseconds timeout,
                                       unsigned parallel, const std::function<void(const std::string&)>& finished = nullptr);

}  // namespace cagr

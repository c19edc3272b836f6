// shared_cores.hpp - how many OpenMP threads the CPU plugin's kernels use when other processes
// share the cores (option "wait_policy", docs/PLUGINS.md; measurements in docs/PERF.md, "Shared
// cores").
//
// Why the plugin cannot simply switch OpenMP to sleeping waits: libgomp reads OMP_WAIT_POLICY and
// GOMP_SPINCOUNT once, in its own constructor, when it is loaded - and it is loaded as a dependency
// of this plugin (and of oneDNN), so its constructor has run before the plugin's constructors or
// init; a setenv there changes nothing, and libgomp offers no call to change its spinning later.
// What the plugin does control is the team size of each parallel region. With OpenMP's default
// (spinning) waits, a region on a machine whose cores are taken by other processes ends only when
// every worker has been scheduled again: a time slice (milliseconds) per region instead of
// microseconds, while the spinning workers take CPU from the other load. So under "auto", while
// other processes' runnable threads leave fewer free cores than the team, the team shrinks to the
// free cores (at least 1, the calling thread: then no region waits at a barrier). Threads of this
// process are not other load: they take turns with the plugin's calls (another thread pool in it,
// such as onnxruntime's beside CAGR in bench/onnx_vs_ort.py, spins 20-100 ms after each of its runs
// and then sleeps).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace cagr::cpu {

enum class WaitPolicy {
  kAuto,     // shrink the team while other threads hold the cores, unless OpenMP already sleeps
  kActive,   // always the whole team (OpenMP's waits as libgomp was started)
  kPassive,  // the whole team; OpenMP must have been started with sleeping waits (checked at init)
};

// The option's value: auto (also when absent), active or passive; anything else throws
// std::invalid_argument with the reason. `env_wait_policy` / `env_spincount`: the environment's
// OMP_WAIT_POLICY and GOMP_SPINCOUNT (nullptr when unset), as libgomp read them at load.
WaitPolicy parse_wait_policy(const std::optional<std::string>& value, const char* env_wait_policy,
                             const char* env_spincount);

// Whether libgomp, started with this environment, sleeps in its waits instead of spinning.
bool openmp_waits_sleep(const char* env_wait_policy, const char* env_spincount);

// The runnable threads of the whole machine now ("R" of /proc/loadavg's "R/T" field, which counts
// the reader); -1 where it cannot be read.
int runnable_threads();

// The runnable threads of this process now (state R in /proc/self/task/*/stat: the reader, this
// team's workers while they spin, any other thread pool of the process); -1 where unreadable.
int runnable_threads_of_this_process();

// The team for each kernel: `threads` (the configured team) or, when adapting, fewer while the
// machine is oversubscribed. Sampled at most every kSampleNs; safe to call from several threads.
class TeamSize {
 public:
  static constexpr int64_t kSampleNs = 10'000'000;
  // Fewer free cores must be seen this many samples in a row before the team shrinks, and more
  // before it grows again, so that a short-lived thread does not make it flip back and forth.
  static constexpr int kSamplesToShrink = 2;
  static constexpr int kSamplesToGrow = 3;

  TeamSize(int threads, int cpus, bool adapt) : threads_(threads), cpus_(cpus), adapt_(adapt), team_(threads) {}
  int threads();
  // The team after seeing `others` runnable threads of other processes (the decision threads()
  // applies; negative: unknown, the team stays).
  int next_team(int others);

 private:
  const int threads_, cpus_;
  const bool adapt_;
  std::atomic<int> team_;
  std::atomic<int> shrink_votes_{0};
  std::atomic<int> grow_votes_{0};
  std::atomic<int64_t> next_sample_ns_{0};
};

}  // namespace cagr::cpu

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
// free cores (at least 1, the calling thread: then no region waits at a barrier) - but only while
// this process's threads themselves wait for cores: runnable threads of lower priority (a build at
// nice 19 in another session) yield to ours, and shrinking beside them cost 1.75x (docs/PERF.md,
// "Shared cores"). Threads of this
// process are not other load: they take turns with the plugin's calls (another thread pool in it,
// such as onnxruntime's beside CAGR in bench/onnx_vs_ort.py, spins 20-100 ms after each of its runs
// and then sleeps).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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

// A thread's CPU time and time spent runnable but waiting for a core, in nanoseconds (the first
// two fields of its /proc schedstat).
struct ThreadSchedule {
  int tid;
  int64_t ran_ns, waited_ns;
};

// The ids of this process's threads (/proc/self/task).
std::vector<int> threads_of_this_process();

// The schedule of each of these threads of this process that still runs, sorted by tid; empty
// where the kernel keeps no schedstat.
std::vector<ThreadSchedule> schedule_of_threads(const std::vector<int>& tids);

// The share of their runnable time that the threads present in both readings spent waiting for a
// core between them; negative where they did not run at all.
double waited_share(const std::vector<ThreadSchedule>& before, const std::vector<ThreadSchedule>& after);

// The team for each kernel: `threads` (the configured team) or, when adapting, fewer while other
// threads crowd the calling one out. Sampled at most every kSampleNs; safe to call from several
// threads.
//
// Shrinking needs two things at once: this process's threads waited for cores (kCrowdedShare of
// their runnable time since the last sample, /proc/self/task/*/schedstat; other runnable threads
// of lower priority yield to ours and do not count), and the machine's runnable threads leave
// fewer free cores than the team (the count says how far to shrink). Growing back: as soon as the
// count says the cores are free, or, while runnable threads the count cannot tell from crowding
// ones are there, by trying the whole team after a stretch of uncrowded samples; a try that crowds
// this process's threads is undone and the next one waits twice as long (a failed try costs
// kSamplesToShrink samples of a too-large team).
class TeamSize {
 public:
  static constexpr int64_t kSampleNs = 10'000'000;
  // Samples in a row before the team shrinks or grows on the count, so that a short-lived thread
  // does not make it flip back and forth.
  static constexpr int kSamplesToShrink = 2;
  static constexpr int kSamplesToGrow = 3;
  // Threads of this process that waited for cores this share of their runnable time were crowded.
  static constexpr double kCrowdedShare = 0.2;
  // Uncrowded samples of a shrunk team before it tries the whole team (first, and at most), and
  // uncrowded samples of the whole team after which a try counts as good.
  static constexpr int kFirstTryAfter = 5;
  static constexpr int kLastTryAfter = 100;
  static constexpr int kTryHoldsAfter = 10;

  // The threads whose waits count: those of the calling thread's OpenMP team of n threads (the
  // plugin runs a parallel region to learn them), so that another thread pool of the process
  // waiting while ours runs is not read as ours being crowded out. Asked again when another thread
  // samples, and every kTeamThreadsFor samples (libgomp may replace its workers).
  using TeamThreads = std::function<std::vector<int>(int n)>;
  static constexpr int kTeamThreadsFor = 100;

  TeamSize(int threads, int cpus, bool adapt, TeamThreads team_threads = [](int) { return threads_of_this_process(); })
      : threads_(threads), cpus_(cpus), adapt_(adapt), team_threads_(std::move(team_threads)), team_(threads) {}
  int threads();
  // The team after seeing `others` runnable threads of other processes and whether this process's
  // threads were crowded since the last sample (the decision threads() applies and stores; others
  // negative: unknown, the team stays).
  int next_team(int others, bool crowded);
  // Tests drive next_team as threads() does, storing each answer.
  void set_team_for_test(int team) { team_.store(team, std::memory_order_relaxed); }

 private:
  const int threads_, cpus_;
  const bool adapt_;
  const TeamThreads team_threads_;
  std::atomic<int> team_;
  std::atomic<int> shrink_votes_{0};
  std::atomic<int> grow_votes_{0};
  std::atomic<int> try_after_{kFirstTryAfter};
  std::atomic<int> trying_for_{-1};  // uncrowded samples of the whole team since a try; -1: no try
  std::atomic<int64_t> next_sample_ns_{0};
  std::mutex sampling_;  // held by the one caller that samples; it guards the three below
  std::vector<int> watched_;                   // team_threads_'s answer, sorted
  int watched_for_ = 0, watched_samples_ = 0;  // the thread it was asked on, samples since
  std::vector<ThreadSchedule> last_schedule_;  // the watched threads at the last sample
};

}  // namespace cagr::cpu

// shared_cores.cpp - the CPU plugin's team size on shared cores (shared_cores.hpp says why).
#include "shared_cores.hpp"

#include <dirent.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace cagr::cpu {

bool openmp_waits_sleep(const char* env_wait_policy, const char* env_spincount) {
  // libgomp: GOMP_SPINCOUNT, when set, wins over OMP_WAIT_POLICY; 0 spins means sleeping at once.
  if (env_spincount != nullptr && *env_spincount != '\0') return std::strtoll(env_spincount, nullptr, 10) == 0;
  return env_wait_policy != nullptr && strcasecmp(env_wait_policy, "passive") == 0;
}

WaitPolicy parse_wait_policy(const std::optional<std::string>& value, const char* env_wait_policy,
                             const char* env_spincount) {
  if (!value || *value == "auto") return WaitPolicy::kAuto;
  if (*value == "active") return WaitPolicy::kActive;
  if (*value == "passive") {
    if (!openmp_waits_sleep(env_wait_policy, env_spincount))
      throw std::invalid_argument(
          "option wait_policy='passive': OpenMP was started with spinning waits; libgomp reads "
          "OMP_WAIT_POLICY once, when it is loaded (before any plugin code runs), so set "
          "OMP_WAIT_POLICY=passive in the process's environment");
    return WaitPolicy::kPassive;
  }
  throw std::invalid_argument("option wait_policy='" + *value + "': must be auto, active or passive");
}

int runnable_threads() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return -1;
  double l1, l5, l15;
  int running = -1, total = 0;
  if (std::fscanf(f, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &running, &total) != 5) running = -1;
  std::fclose(f);
  return running;
}

int runnable_threads_of_this_process() {
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return -1;
  int running = 0;
  while (const dirent* task = readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    char path[300], line[512];
    std::snprintf(path, sizeof path, "/proc/self/task/%s/stat", task->d_name);
    FILE* f = std::fopen(path, "r");
    if (f == nullptr) continue;  // the thread ended meanwhile
    const size_t n = std::fread(line, 1, sizeof line - 1, f);
    std::fclose(f);
    line[n] = '\0';
    // "pid (comm) S ...": the state follows the last ')', as comm may hold spaces and parentheses.
    const char* close = std::strrchr(line, ')');
    if (close != nullptr && close[1] == ' ' && close[2] == 'R') ++running;
  }
  closedir(tasks);
  return running;
}

std::vector<int> threads_of_this_process() {
  std::vector<int> tids;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return tids;
  while (const dirent* task = readdir(tasks))
    if (task->d_name[0] != '.') tids.push_back(std::atoi(task->d_name));
  closedir(tasks);
  return tids;
}

std::vector<ThreadSchedule> schedule_of_threads(const std::vector<int>& tids) {
  std::vector<ThreadSchedule> threads;
  for (int tid : tids) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
    FILE* f = std::fopen(path, "r");
    if (f == nullptr) continue;  // the thread ended, or the kernel keeps no schedstat
    long long ran = 0, waited = 0;
    if (std::fscanf(f, "%lld %lld", &ran, &waited) == 2) threads.push_back({tid, ran, waited});
    std::fclose(f);
  }
  std::sort(threads.begin(), threads.end(), [](const ThreadSchedule& a, const ThreadSchedule& b) { return a.tid < b.tid; });
  return threads;
}

double waited_share(const std::vector<ThreadSchedule>& before, const std::vector<ThreadSchedule>& after) {
  int64_t ran = 0, waited = 0;
  auto b = before.begin();
  for (const ThreadSchedule& a : after) {  // both sorted by tid: threads present in both count
    while (b != before.end() && b->tid < a.tid) ++b;
    if (b == before.end() || b->tid != a.tid) continue;
    ran += a.ran_ns - b->ran_ns;
    waited += a.waited_ns - b->waited_ns;
  }
  return ran + waited > 0 ? static_cast<double>(waited) / static_cast<double>(ran + waited) : -1;
}

int TeamSize::next_team(int others, bool crowded) {
  constexpr auto relaxed = std::memory_order_relaxed;
  const int team = team_.load(relaxed);
  if (others < 0) return team;
  const int fits = std::clamp(cpus_ - others, 1, threads_);
  if (crowded && fits < team) {
    // A shrink on one sample followed every transient thread (and the /proc reads, a few
    // microseconds apart, disagree while a worker falls asleep).
    grow_votes_.store(0, relaxed);
    if (shrink_votes_.fetch_add(1, relaxed) + 1 < kSamplesToShrink) return team;
    shrink_votes_.store(0, relaxed);
    if (trying_for_.exchange(-1, relaxed) >= 0) try_after_.store(std::min(2 * try_after_.load(relaxed), kLastTryAfter), relaxed);
    return fits;
  }
  shrink_votes_.store(0, relaxed);
  if (crowded || team >= threads_) {
    grow_votes_.store(0, relaxed);
    if (!crowded && trying_for_.load(relaxed) >= 0 && trying_for_.fetch_add(1, relaxed) + 1 >= kTryHoldsAfter) {
      trying_for_.store(-1, relaxed);
      try_after_.store(kFirstTryAfter, relaxed);
    }
    return team;
  }
  // Uncrowded and short of the whole team: grow when the count has shown free cores for
  // kSamplesToGrow samples, or try the whole team when uncrowded long enough.
  const int votes = grow_votes_.fetch_add(1, relaxed) + 1;
  if (fits > team && votes >= kSamplesToGrow) {
    grow_votes_.store(0, relaxed);
    return fits;
  }
  if (votes >= try_after_.load(relaxed)) {
    grow_votes_.store(0, relaxed);
    trying_for_.store(0, relaxed);
    return threads_;
  }
  return team;
}

int TeamSize::threads() {
  if (!adapt_ || threads_ <= 1) return threads_;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  // One caller samples per period; the others use the team as it stands.
  if (now >= next_sample_ns_.load(std::memory_order_relaxed) && sampling_.try_lock()) {
    std::lock_guard<std::mutex> sampling(sampling_, std::adopt_lock);
    if (now < next_sample_ns_.load(std::memory_order_relaxed)) return team_.load(std::memory_order_relaxed);
    next_sample_ns_.store(now + kSampleNs, std::memory_order_relaxed);
    // This process's runnable threads read before and after the machine's, the larger counting: a
    // worker of ours falling asleep between two reads would otherwise be taken for another
    // process's thread.
    const int ours_before = runnable_threads_of_this_process();
    const int machine = runnable_threads();
    const int ours = std::max(ours_before, runnable_threads_of_this_process());
    const int caller = static_cast<int>(syscall(SYS_gettid));
    const bool fresh = watched_.empty() || caller != watched_for_ || ++watched_samples_ >= kTeamThreadsFor;
    if (fresh) {
      watched_ = team_threads_(threads_);
      watched_.erase(std::remove(watched_.begin(), watched_.end(), 0), watched_.end());
      std::sort(watched_.begin(), watched_.end());
      watched_for_ = caller;
      watched_samples_ = 0;
      last_schedule_.clear();
    }
    std::vector<ThreadSchedule> schedule = schedule_of_threads(watched_);
    const double share = waited_share(last_schedule_, schedule);
    last_schedule_ = std::move(schedule);
    // No schedstat: the count alone decides, as before the check. Freshly watched threads have no
    // baseline yet: the team stands for this sample.
    const bool crowded = last_schedule_.empty() || share >= kCrowdedShare;
    const bool known = machine >= 0 && ours_before >= 0 && (last_schedule_.empty() || share >= 0);
    team_.store(next_team(known ? std::max(0, machine - ours) : -1, crowded), std::memory_order_relaxed);
  }
  return team_.load(std::memory_order_relaxed);
}

}  // namespace cagr::cpu

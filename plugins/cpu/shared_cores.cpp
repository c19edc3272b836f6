// shared_cores.cpp - the CPU plugin's team size on shared cores (shared_cores.hpp says why).
#include "shared_cores.hpp"

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
    char path[64], line[512];
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

int TeamSize::next_team(int others) {
  const int team = team_.load(std::memory_order_relaxed);
  if (others < 0) return team;
  const int fits = std::clamp(cpus_ - others, 1, threads_);
  // Each way takes samples in a row: a shrink on one sample followed every transient thread (and
  // the two /proc reads, a few microseconds apart, disagree while a worker falls asleep), and with
  // growing taking three, the team stayed at 1 on a machine whose other processes used 0-1% of the
  // CPUs (Kaggle DLRM capped, batch 2048, 2 threads: 23 ms a pass against 11.9 ms).
  std::atomic<int>& votes = fits < team ? shrink_votes_ : grow_votes_;
  (fits < team ? grow_votes_ : shrink_votes_).store(0, std::memory_order_relaxed);
  if (fits == team) {
    votes.store(0, std::memory_order_relaxed);
    return team;
  }
  if (votes.fetch_add(1, std::memory_order_relaxed) + 1 < (fits < team ? kSamplesToShrink : kSamplesToGrow)) return team;
  votes.store(0, std::memory_order_relaxed);
  return fits;
}

int TeamSize::threads() {
  if (!adapt_ || threads_ <= 1) return threads_;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  int64_t due = next_sample_ns_.load(std::memory_order_relaxed);
  // One caller samples per period; the others use the team as it stands.
  if (now >= due && next_sample_ns_.compare_exchange_strong(due, now + kSampleNs, std::memory_order_relaxed)) {
    // This process's runnable threads read before and after the machine's, the larger counting: a
    // worker of ours falling asleep between two reads would otherwise be taken for another
    // process's thread.
    const int ours_before = runnable_threads_of_this_process();
    const int machine = runnable_threads();
    const int ours = std::max(ours_before, runnable_threads_of_this_process());
    team_.store(next_team(machine < 0 || ours_before < 0 ? -1 : std::max(0, machine - ours)), std::memory_order_relaxed);
  }
  return team_.load(std::memory_order_relaxed);
}

}  // namespace cagr::cpu

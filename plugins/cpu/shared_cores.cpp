// shared_cores.cpp - the CPU plugin's team size on shared cores (shared_cores.hpp says why).
#include "shared_cores.hpp"

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

int TeamSize::next_team(int runnable) {
  const int team = team_.load(std::memory_order_relaxed);
  if (runnable < 1) return team;
  // The reader is runnable, and so are this team's other threads while they spin after a region:
  // count them as ours (a worker already asleep is then counted as free - the safe side).
  const int others = std::max(0, runnable - team);
  const int fits = std::clamp(cpus_ - others, 1, threads_);
  if (fits < team) {
    grow_votes_.store(0, std::memory_order_relaxed);
    return fits;
  }
  if (fits > team && grow_votes_.fetch_add(1, std::memory_order_relaxed) + 1 >= kSamplesToGrow) {
    grow_votes_.store(0, std::memory_order_relaxed);
    return fits;
  }
  if (fits == team) grow_votes_.store(0, std::memory_order_relaxed);
  return team;
}

int TeamSize::threads() {
  if (!adapt_ || threads_ <= 1) return threads_;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  int64_t due = next_sample_ns_.load(std::memory_order_relaxed);
  // One caller samples per period; the others use the team as it stands.
  if (now >= due && next_sample_ns_.compare_exchange_strong(due, now + kSampleNs, std::memory_order_relaxed))
    team_.store(next_team(runnable_threads()), std::memory_order_relaxed);
  return team_.load(std::memory_order_relaxed);
}

}  // namespace cagr::cpu

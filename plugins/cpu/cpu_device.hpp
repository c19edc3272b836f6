// cpu_device.hpp - what the CPU plugin's one device is: read from hwloc (cores, caches, NUMA,
// memory) and measured (peak fp32 GFLOP/s, memory bandwidth), the measurement cached on disk.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cagr_plugin.h"

namespace cagr::cpu {

struct CpuDevice {
  std::string name;           // the CPU model
  int cores = 0;              // physical cores
  int threads = 0;            // OpenMP threads the kernels use
  double peak_gflops_f32 = 0;  // measured: sgemm on all threads
  double bandwidth_gbps = 0;   // measured: stream triad over arrays larger than the LLC
  uint64_t memory_bytes = 0;
  uint64_t llc_bytes = 0;
  int numa_node = -1;
};

using LogFn = std::function<void(cagr_log_level, const std::string&)>;

// Reads the topology and takes the measurements from the cache file
// ($XDG_CACHE_HOME or ~/.cache)/cagr/cpu-<model>-<threads>t.txt, measuring (< 0.2 s) and writing
// it when absent or unreadable.
CpuDevice probe_cpu_device(const LogFn& log);

}  // namespace cagr::cpu

// cpu_device.cpp - hwloc topology plus two short measurements, cached per CPU model.
#include "cpu_device.hpp"

#include "cagr_plugin_support.hpp"

#include <hwloc.h>
#include <omp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

namespace cagr::cpu {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Topology {
  std::string model = "unknown CPU";
  int cores = 0;
  uint64_t memory_bytes = 0;
  uint64_t llc_bytes = 0;
  int numa_node = -1;
};

Topology read_topology() {
  Topology t;
  hwloc_topology_t topo = nullptr;
  if (hwloc_topology_init(&topo) != 0) return t;
  std::unique_ptr<hwloc_topology, void (*)(hwloc_topology_t)> guard(topo, hwloc_topology_destroy);
  if (hwloc_topology_load(topo) != 0) return t;
  t.cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  hwloc_obj_t root = hwloc_get_root_obj(topo);
  t.memory_bytes = root->total_memory;
  if (hwloc_obj_t package = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0)) {
    if (const char* model = hwloc_obj_get_info_by_name(package, "CPUModel")) t.model = model;
  }
  // The last level cache: the first cache level, from L3 down, that exists.
  for (hwloc_obj_type_t level : {HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L1CACHE}) {
    if (hwloc_obj_t cache = hwloc_get_obj_by_type(topo, level, 0)) {
      t.llc_bytes = cache->attr->cache.size;
      break;
    }
  }
  // The NUMA node the process runs on: the first of those its CPU binding covers.
  hwloc_cpuset_t here = hwloc_bitmap_alloc();
  hwloc_nodeset_t nodes = hwloc_bitmap_alloc();
  if (hwloc_get_cpubind(topo, here, HWLOC_CPUBIND_PROCESS) == 0) {
    hwloc_cpuset_to_nodeset(topo, here, nodes);
    t.numa_node = hwloc_bitmap_first(nodes);
  }
  hwloc_bitmap_free(nodes);
  hwloc_bitmap_free(here);
  return t;
}

// Best of a few runs of one sgemm large enough to reach the FMA units' peak, small enough to
// take milliseconds.
double measure_peak_gflops() {
  constexpr dnnl_dim_t n = 512;
  std::vector<float> a(n * n, 1.0f), b(n * n, 0.5f), c(n * n, 0.0f);
  double best = 0;
  for (int rep = 0; rep < 4; ++rep) {
    const auto start = Clock::now();
    if (dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n) != dnnl_success) return 0;
    best = std::max(best, 2.0 * n * n * n / seconds_since(start) * 1e-9);
  }
  return best;
}

// Best of a few stream triads (a = b + s*c: 3 arrays of 24 MiB each, read 2 write 1) on all threads.
double measure_bandwidth_gbps() {
  constexpr size_t n = (24u << 20) / sizeof(float);
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  const int64_t count = static_cast<int64_t>(n);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto start = Clock::now();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) a[i] = b[i] + 0.5f * c[i];
    best = std::max(best, 3.0 * n * sizeof(float) / seconds_since(start) * 1e-9);
  }
  return best;
}

std::filesystem::path cache_file(const std::string& model, int threads) {
  const std::filesystem::path dir = cagr::plugin::cache_dir();
  if (dir.empty()) return {};
  std::string key = cagr::plugin::file_key(model);
#if defined(__SANITIZE_ADDRESS__)
  key += "-asan";  // sanitized code measures slower; keep it out of the real numbers
#endif
  return dir / ("cpu-" + key + "-" + std::to_string(threads) + "t.txt");
}

}  // namespace

CpuDevice probe_cpu_device(const LogFn& log) {
  const Topology topo = read_topology();
  CpuDevice d;
  d.name = topo.model;
  d.threads = omp_get_max_threads();
  d.cores = topo.cores > 0 ? topo.cores : d.threads;
  d.memory_bytes = topo.memory_bytes;
  d.llc_bytes = topo.llc_bytes;
  d.numa_node = topo.numa_node;

  const std::filesystem::path path = cache_file(d.name, d.threads);
  if (!path.empty()) {
    std::ifstream in(path);
    if (in >> d.peak_gflops_f32 >> d.bandwidth_gbps && d.peak_gflops_f32 > 0 && d.bandwidth_gbps > 0) return d;
  }
  const auto start = Clock::now();
  d.peak_gflops_f32 = measure_peak_gflops();
  d.bandwidth_gbps = measure_bandwidth_gbps();
  log(CAGR_LOG_INFO, "measured " + d.name + " with " + std::to_string(d.threads) + " threads: " +
                         std::to_string(d.peak_gflops_f32) + " GFLOP/s fp32, " + std::to_string(d.bandwidth_gbps) +
                         " GB/s, in " + std::to_string(seconds_since(start)) + " s");
  if (!path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    std::ofstream out(path);
    out << d.peak_gflops_f32 << " " << d.bandwidth_gbps << "\n";
    if (!out) log(CAGR_LOG_WARNING, "could not write the measurement cache " + path.string());
  }
  return d;
}

}  // namespace cagr::cpu

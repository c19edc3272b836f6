// device_properties.hpp - what the plugin knows about a device: facts the runtime reports, and
// peaks measured once by a short probe and cached on disk, so cost hints use real numbers.
#pragma once

#include <cstdint>
#include <string>

namespace cagr::gpu {

struct RuntimeFacts {
  std::string name;
  std::string pci_bus_id;
  std::string arch;              // "sm_90", "gfx90a"
  int multiprocessors = 0;
  int registers_per_multiprocessor = 0;
  int max_threads_per_multiprocessor = 0;
  uint64_t memory_bytes = 0;
  uint64_t l2_bytes = 0;
  uint64_t persisting_l2_max_bytes = 0;  // NVIDIA's L2 set-aside limit; 0 where there is none
};

RuntimeFacts query_runtime_facts(int ordinal);

struct MeasuredPeaks {
  double gflops_f32 = 0;   // a dependent-FMA kernel over every multiprocessor
  double gflops_f16 = 0;   // a 16-bit GEMM on the matrix units (NVIDIA, cuBLASLt); 0 where not measured
  double copy_gbps = 0;    // device-to-device copy, bytes read plus bytes written per second
};

// The peaks of device `ordinal`: read from ~/.cache/cagr (or $CAGR_CACHE_DIR) when a probe of the
// same plugin, device name and PCI bus id was cached there, else measured (~0.2 s) and cached.
MeasuredPeaks measured_peaks(int ordinal, const RuntimeFacts& facts);

}  // namespace cagr::gpu

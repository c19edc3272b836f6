// device.hpp - one OpenCL device as the plugin sees it: its properties, its compiled programs
// and its measured speed.
#pragma once

#include <CL/cl.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "cagr_plugin.h"
#include "cl_handle.hpp"
#include "disk_cache.hpp"

namespace cagr::opencl {

// Peak rates measured by the probe kernels (probe.cpp).
struct DeviceSpeed {
  double gflops_f32 = 0;
  double bandwidth_gbps = 0;
};

class Device {
 public:
  // `context` is the platform's context that holds this device (shared, so that events and
  // buffers work across the platform's devices).
  Device(cl_device_id id, cl_context context, const DiskCache& cache);

  cl_device_id id() const { return id_; }
  cl_context context() const { return context_; }
  const std::string& name() const { return name_; }
  // Device name + driver version: what compiled binaries and measured speeds are valid for.
  const std::string& identity() const { return identity_; }
  cagr_device_kind kind() const { return kind_; }
  int compute_units() const { return compute_units_; }
  int clock_mhz() const { return clock_mhz_; }
  uint64_t memory_bytes() const { return memory_bytes_; }
  uint64_t max_alloc_bytes() const { return max_alloc_bytes_; }
  uint64_t last_level_cache_bytes() const { return cache_bytes_; }
  size_t max_work_group_size() const { return max_work_group_; }
  uint64_t local_memory_bytes() const { return local_memory_bytes_; }
  bool has_fp64() const { return fp64_; }
  const std::string& pci_bus_id() const { return pci_bus_id_; }

  // The program built from `source` with `options` (plus the options every program gets);
  // built once per process, and loaded from the disk cache when an earlier process built it.
  // Throws CAGR_ERROR_DEVICE with the compiler's log when the build fails.
  cl_program program(const char* source, const std::string& options);

  // Measured once (then read from the disk cache).
  const DeviceSpeed& speed();

 private:
  cl_device_id id_;
  cl_context context_;
  const DiskCache& cache_;
  std::string name_, identity_, pci_bus_id_;
  cagr_device_kind kind_ = CAGR_DEVICE_OTHER;
  int compute_units_ = 0, clock_mhz_ = 0;
  uint64_t memory_bytes_ = 0, max_alloc_bytes_ = 0, cache_bytes_ = 0, local_memory_bytes_ = 0;
  size_t max_work_group_ = 1;
  bool fp64_ = false;

  std::mutex programs_mutex_;
  std::map<std::pair<const char*, std::string>, ProgramHandle> programs_;
  std::mutex speed_mutex_;  // held while measuring, which builds a program
  std::optional<DeviceSpeed> speed_;
};

}  // namespace cagr::opencl

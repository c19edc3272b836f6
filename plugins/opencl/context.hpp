// context.hpp - one initialised instance of the plugin (cagr_context): the OpenCL platforms found,
// their devices, the disk cache and the host's log callback.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cagr_plugin.h"
#include "cl_handle.hpp"
#include "device.hpp"
#include "disk_cache.hpp"

struct cagr_context {
  // Finds every device of every platform. No platform at all (no ICD installed) is not an error:
  // the context then has zero devices and the reason is logged.
  cagr_context(const std::string& cache_folder, cagr_log_fn log, void* log_user_data);

  void log(cagr_log_level level, const std::string& message) const;
  // The device at `index`; INVALID_ARGUMENT naming the index when there is none.
  cagr::opencl::Device& device(int32_t index) const;
  int32_t device_count() const { return static_cast<int32_t>(devices.size()); }

  // Option table_budget_bytes: device memory an op's constant embedding tables may take before
  // they stay in host memory behind a device cache; unset: per device (plugin.cpp).
  std::optional<uint64_t> table_budget_bytes;
  cagr_log_fn log_fn;
  void* log_user_data;
  cagr::opencl::DiskCache cache;
  std::vector<cagr::opencl::ContextHandle> platform_contexts;  // one per platform, holding its devices
  std::vector<std::unique_ptr<cagr::opencl::Device>> devices;
};

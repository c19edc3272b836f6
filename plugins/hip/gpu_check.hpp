// gpu_check.hpp - runtime status codes turned into the plugin's Error, in one place.
#pragma once

#include <string>

#include "cagr_plugin_support.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

// Throws Error naming `what` and the runtime's message when `status` is a failure. Running out of
// device memory maps to CAGR_ERROR_OUT_OF_MEMORY, everything else to CAGR_ERROR_DEVICE.
inline void check(hipError_t status, const char* what) {
  if (status == hipSuccess) return;
  const cagr_status code = status == hipErrorMemoryAllocation ? CAGR_ERROR_OUT_OF_MEMORY : CAGR_ERROR_DEVICE;
  throw plugin::Error(code, std::string(what) + " failed: " + hipGetErrorName(status) + " (" +
                                hipGetErrorString(status) + ")");
}

// After a kernel launch: a launch that could not start (bad configuration, no image for this
// device) surfaces here rather than at the next synchronisation.
inline void check_launch(const char* kernel) { check(hipGetLastError(), kernel); }

// Makes `device` current on the calling thread: every entry point that touches a device does this
// first, because the host may call us from any thread.
inline void use_device(int device) { check(hipSetDevice(device), "setting the current device"); }

}  // namespace cagr::gpu

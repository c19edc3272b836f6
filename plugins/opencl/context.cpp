// context.cpp - discovering OpenCL platforms and devices.
#include "context.hpp"

#include <dlfcn.h>

#include "cagr_plugin_support.hpp"

using cagr::opencl::check_cl;
using cagr::opencl::cl_status_name;

namespace {

std::string platform_name(cl_platform_id platform) {
  char name[256] = "";
  clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof(name) - 1, name, nullptr);
  return name;
}

// The ICD loader keeps its list of platforms (and the vendor drivers it opened) for the life of the
// process and has no way to free them; unloading it with this plugin would leak them, and loading
// it again would start the drivers a second time. So the loader this plugin linked stays loaded.
void pin_icd_loader() {
  static void* const pinned = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  (void)pinned;
}

}  // namespace

cagr_context::cagr_context(const std::string& cache_folder, cagr_log_fn log_callback, void* log_user)
    : log_fn(log_callback), log_user_data(log_user), cache(cache_folder) {
  pin_icd_loader();
  cl_uint count = 0;
  const cl_int status = clGetPlatformIDs(0, nullptr, &count);
  if (status != CL_SUCCESS || count == 0) {
    log(CAGR_LOG_WARNING, "no OpenCL platform found (" + cl_status_name(status) +
                              "): no ICD installed, or OCL_ICD_VENDORS names a folder without one; the plugin has no devices");
    return;
  }
  std::vector<cl_platform_id> platforms(count);
  check_cl(clGetPlatformIDs(count, platforms.data(), nullptr), "clGetPlatformIDs");
  for (cl_platform_id platform : platforms) {
    const std::string name = platform_name(platform);
    cl_uint num_devices = 0;
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &num_devices) != CL_SUCCESS || num_devices == 0) {
      log(CAGR_LOG_INFO, "OpenCL platform '" + name + "' has no devices");
      continue;
    }
    std::vector<cl_device_id> ids(num_devices);
    check_cl(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, num_devices, ids.data(), nullptr), "clGetDeviceIDs");
    const cl_context_properties properties[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(platform), 0};
    cl_int created = CL_SUCCESS;
    cagr::opencl::ContextHandle context(clCreateContext(properties, num_devices, ids.data(), nullptr, nullptr, &created));
    if (created != CL_SUCCESS) {
      log(CAGR_LOG_WARNING, "OpenCL platform '" + name + "': clCreateContext failed (" + cl_status_name(created) + "), skipped");
      continue;
    }
    for (cl_device_id id : ids) {
      devices.push_back(std::make_unique<cagr::opencl::Device>(id, context.get(), cache));
      const cagr::opencl::Device& d = *devices.back();
      log(CAGR_LOG_INFO, "device " + std::to_string(devices.size() - 1) + ": " + d.identity() + " (platform '" + name +
                             "'), " + std::to_string(d.compute_units()) + " compute units at " +
                             std::to_string(d.clock_mhz()) + " MHz, " + std::to_string(d.memory_bytes() >> 20) +
                             " MiB, cache " + std::to_string(d.last_level_cache_bytes() >> 10) + " KiB");
    }
    platform_contexts.push_back(std::move(context));
  }
}

void cagr_context::log(cagr_log_level level, const std::string& message) const {
  if (log_fn != nullptr) log_fn(log_user_data, level, message.c_str());
}

cagr::opencl::Device& cagr_context::device(int32_t index) const {
  if (index < 0 || index >= device_count())
    cagr::plugin::invalid("opencl: no device " + std::to_string(index) + " (the plugin has " +
                          std::to_string(device_count()) + ")");
  return *devices[static_cast<size_t>(index)];
}

// device.cpp - properties of one OpenCL device, its programs and its measured speed.
#include "device.hpp"

#include <cstdio>
#include <sstream>

#include "common_cl.hpp"
#include "probe.hpp"
#include "program.hpp"

namespace cagr::opencl {

namespace {

template <class T>
T info(cl_device_id id, cl_device_info what) {
  T value{};
  check_cl(clGetDeviceInfo(id, what, sizeof(T), &value, nullptr), "clGetDeviceInfo");
  return value;
}

std::string info_string(cl_device_id id, cl_device_info what) {
  size_t size = 0;
  check_cl(clGetDeviceInfo(id, what, 0, nullptr, &size), "clGetDeviceInfo");
  std::string text(size, '\0');
  check_cl(clGetDeviceInfo(id, what, size, text.data(), nullptr), "clGetDeviceInfo");
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

bool has_extension(const std::string& extensions, const char* name) {
  std::istringstream words(extensions);
  for (std::string word; words >> word;)
    if (word == name) return true;
  return false;
}

// "dddd:bb:dd.f" from whichever PCI query extension the driver offers; "" when none.
std::string query_pci_bus_id(cl_device_id id, const std::string& extensions) {
  char text[32] = "";
  if (has_extension(extensions, "cl_khr_pci_bus_info")) {
    struct { cl_uint domain, bus, device, function; } pci{};
    constexpr cl_device_info kPciBusInfoKhr = 0x410F;
    if (clGetDeviceInfo(id, kPciBusInfoKhr, sizeof(pci), &pci, nullptr) == CL_SUCCESS)
      std::snprintf(text, sizeof(text), "%04x:%02x:%02x.%x", pci.domain, pci.bus, pci.device, pci.function);
  } else if (has_extension(extensions, "cl_nv_device_attribute_query")) {
    constexpr cl_device_info kPciBusIdNv = 0x4008, kPciSlotIdNv = 0x4009;
    cl_uint bus = 0, slot = 0;
    if (clGetDeviceInfo(id, kPciBusIdNv, sizeof(bus), &bus, nullptr) == CL_SUCCESS &&
        clGetDeviceInfo(id, kPciSlotIdNv, sizeof(slot), &slot, nullptr) == CL_SUCCESS)
      std::snprintf(text, sizeof(text), "0000:%02x:%02x.%x", bus, slot >> 3, slot & 7);
  }
  return text;
}

}  // namespace

Device::Device(cl_device_id id, cl_context context, const DiskCache& cache)
    : id_(id), context_(context), cache_(cache) {
  name_ = info_string(id, CL_DEVICE_NAME);
  identity_ = name_ + " / " + info_string(id, CL_DRIVER_VERSION) + " / " + info_string(id, CL_DEVICE_VERSION);
  const auto type = info<cl_device_type>(id, CL_DEVICE_TYPE);
  kind_ = (type & CL_DEVICE_TYPE_GPU) ? CAGR_DEVICE_GPU : (type & CL_DEVICE_TYPE_CPU) ? CAGR_DEVICE_CPU : CAGR_DEVICE_OTHER;
  compute_units_ = static_cast<int>(info<cl_uint>(id, CL_DEVICE_MAX_COMPUTE_UNITS));
  clock_mhz_ = static_cast<int>(info<cl_uint>(id, CL_DEVICE_MAX_CLOCK_FREQUENCY));
  memory_bytes_ = info<cl_ulong>(id, CL_DEVICE_GLOBAL_MEM_SIZE);
  max_alloc_bytes_ = info<cl_ulong>(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  cache_bytes_ = info<cl_ulong>(id, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE);
  local_memory_bytes_ = info<cl_ulong>(id, CL_DEVICE_LOCAL_MEM_SIZE);
  max_work_group_ = info<size_t>(id, CL_DEVICE_MAX_WORK_GROUP_SIZE);
  const std::string extensions = info_string(id, CL_DEVICE_EXTENSIONS);
  fp64_ = has_extension(extensions, "cl_khr_fp64");
  pci_bus_id_ = query_pci_bus_id(id, extensions);
}

cl_program Device::program(const char* source, const std::string& options) {
  std::lock_guard lock(programs_mutex_);
  auto key = std::make_pair(source, options);
  auto found = programs_.find(key);
  if (found != programs_.end()) return found->second.get();
  // Sums accumulate in double where the device has it, so results match the reference (which
  // accumulates in double) closely even for long reductions.
  const std::string all_options =
      "-cl-std=CL1.2 " + std::string(fp64_ ? "-DCAGR_HAS_FP64=1 " : "") + options;
  ProgramHandle program = build_program(*this, std::string(source::common) + source, all_options, cache_);
  cl_program raw = program.get();
  programs_.emplace(std::move(key), std::move(program));
  return raw;
}

const DeviceSpeed& Device::speed() {
  std::lock_guard lock(speed_mutex_);
  if (speed_) return *speed_;
  const std::string file = "speed-" + hex(stable_hash(identity_)) + ".txt";
  if (auto text = cache_.read(file)) {
    std::istringstream in(*text);
    DeviceSpeed cached;
    if (in >> cached.gflops_f32 >> cached.bandwidth_gbps && cached.gflops_f32 > 0 && cached.bandwidth_gbps > 0) {
      speed_ = cached;
      return *speed_;
    }
  }
  speed_ = measure_speed(*this);
  std::ostringstream out;
  out << speed_->gflops_f32 << ' ' << speed_->bandwidth_gbps << '\n';
  cache_.write(file, out.str());
  return *speed_;
}

}  // namespace cagr::opencl

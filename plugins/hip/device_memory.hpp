// device_memory.hpp - an owned device allocation (RAII over hipMalloc / hipFree).
#pragma once

#include <cstddef>
#include <utility>

#include "gpu_check.hpp"

namespace cagr::gpu {

class DeviceMemory {
 public:
  DeviceMemory() = default;
  explicit DeviceMemory(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) check(hipMalloc(&ptr_, bytes), "device allocation");
  }
  DeviceMemory(DeviceMemory&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  DeviceMemory& operator=(DeviceMemory&& other) noexcept {
    std::swap(ptr_, other.ptr_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }
  ~DeviceMemory() {
    if (ptr_ != nullptr) (void)hipFree(ptr_);
  }

  // Copies `bytes` of host memory into the allocation and returns once they are on the device.
  // A plain hipMemcpy from pageable memory may return while its last DMA is still in flight, and
  // kernels on the plugin's non-blocking streams do not wait for the default stream that carries
  // it: a kernel launched right after kernel_create could read a constant half-written (a whole
  // embedding table read as zeros). So the copy is followed by a wait on that stream.
  void upload(const void* host, size_t bytes, const char* what) {
    if (bytes == 0) return;
    check(hipMemcpyAsync(ptr_, host, bytes, hipMemcpyHostToDevice, nullptr), what);
    check(hipStreamSynchronize(nullptr), what);
  }

  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace cagr::gpu

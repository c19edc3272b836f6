// cl_handle.hpp - owning handles for OpenCL objects (released once, when the handle goes), and
// the small launch helpers every op uses.
#pragma once

#include <CL/cl.h>

#include <cstddef>
#include <utility>

#include "cl_error.hpp"

namespace cagr::opencl {

template <class T, cl_int (*Release)(T)>
class ClHandle {
 public:
  ClHandle() = default;
  explicit ClHandle(T object) : object_(object) {}
  ClHandle(ClHandle&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  ClHandle& operator=(ClHandle&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  ClHandle(const ClHandle&) = delete;
  ClHandle& operator=(const ClHandle&) = delete;
  ~ClHandle() { reset(); }

  T get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }
  void reset() {
    if (object_ != nullptr) Release(object_);
    object_ = nullptr;
  }

 private:
  T object_ = nullptr;
};

using ContextHandle = ClHandle<cl_context, clReleaseContext>;
using QueueHandle = ClHandle<cl_command_queue, clReleaseCommandQueue>;
using MemHandle = ClHandle<cl_mem, clReleaseMemObject>;
using ProgramHandle = ClHandle<cl_program, clReleaseProgram>;
using KernelHandle = ClHandle<cl_kernel, clReleaseKernel>;
using EventHandle = ClHandle<cl_event, clReleaseEvent>;

// A __local buffer argument of `bytes` bytes.
struct LocalBytes {
  size_t bytes;
};

inline void set_arg(cl_kernel kernel, cl_uint index, LocalBytes local) {
  check_cl(clSetKernelArg(kernel, index, local.bytes, nullptr), "clSetKernelArg (local memory)");
}
template <class T>
void set_arg(cl_kernel kernel, cl_uint index, const T& value) {
  check_cl(clSetKernelArg(kernel, index, sizeof(T), &value), "clSetKernelArg");
}

// Sets every argument of `kernel` in order.
template <class... Args>
void set_args(cl_kernel kernel, const Args&... args) {
  cl_uint index = 0;
  (set_arg(kernel, index++, args), ...);
}

inline size_t round_up(size_t value, size_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// Enqueues a 1-D launch of at least `items` work-items in groups of `group`; nothing when empty.
inline void launch_1d(cl_command_queue queue, cl_kernel kernel, size_t items, size_t group) {
  if (items == 0) return;
  const size_t global = round_up(items, group);
  check_cl(clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &global, &group, 0, nullptr, nullptr),
           "clEnqueueNDRangeKernel");
}

}  // namespace cagr::opencl

// probe.cpp - peak rates of a device measured by a copy kernel and a multiply-add kernel.
#include "probe.hpp"

#include <algorithm>
#include <vector>

#include "device.hpp"
#include "probe_cl.hpp"

namespace cagr::opencl {

namespace {

// Seconds the kernel ran, from the queue's profiling timestamps.
double timed_launch(cl_command_queue queue, cl_kernel kernel, size_t items, size_t group) {
  cl_event raw = nullptr;
  check_cl(clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &items, &group, 0, nullptr, &raw), "probe launch");
  EventHandle event(raw);
  check_cl(clWaitForEvents(1, &raw), "probe wait");
  cl_ulong start = 0, end = 0;
  check_cl(clGetEventProfilingInfo(raw, CL_PROFILING_COMMAND_START, sizeof(start), &start, nullptr), "probe timing");
  check_cl(clGetEventProfilingInfo(raw, CL_PROFILING_COMMAND_END, sizeof(end), &end, nullptr), "probe timing");
  return std::max(1e-9, static_cast<double>(end - start) * 1e-9);
}

// The fastest of `runs` timed launches after one untimed (first-use compilation, page faults).
double best_time(cl_command_queue queue, cl_kernel kernel, size_t items, size_t group, int runs) {
  timed_launch(queue, kernel, items, group);
  double best = 1e30;
  for (int i = 0; i < runs; ++i) best = std::min(best, timed_launch(queue, kernel, items, group));
  return best;
}

}  // namespace

DeviceSpeed measure_speed(Device& device) {
  cl_int status = CL_SUCCESS;
  QueueHandle queue(clCreateCommandQueue(device.context(), device.id(), CL_QUEUE_PROFILING_ENABLE, &status));
  check_cl(status, "clCreateCommandQueue (probe)");
  cl_program program = device.program(source::probe, "");
  const size_t group = std::min<size_t>(256, device.max_work_group_size());

  // Bandwidth: a copy big enough to leave the caches (64 MiB each way, less where allocations
  // are capped), small enough to take milliseconds.
  const size_t bytes = round_up(std::min<uint64_t>(64ull << 20, device.max_alloc_bytes() / 4), 16 * group) ;
  MemHandle src(clCreateBuffer(device.context(), CL_MEM_READ_ONLY, bytes, nullptr, &status));
  check_cl(status, "clCreateBuffer (probe)");
  MemHandle dst(clCreateBuffer(device.context(), CL_MEM_WRITE_ONLY, bytes, nullptr, &status));
  check_cl(status, "clCreateBuffer (probe)");
  const float zero = 0;
  check_cl(clEnqueueFillBuffer(queue.get(), src.get(), &zero, sizeof(zero), 0, bytes, 0, nullptr, nullptr), "probe fill");
  KernelHandle copy(clCreateKernel(program, "probe_copy", &status));
  check_cl(status, "clCreateKernel probe_copy");
  set_args(copy.get(), src.get(), dst.get());
  const double copy_s = best_time(queue.get(), copy.get(), bytes / 16, group, 3);

  // Arithmetic: 2048 work-items per compute unit, 1024 iterations of 8 float4 multiply-adds.
  const size_t items = static_cast<size_t>(std::max(1, device.compute_units())) * 2048;
  const cl_int iterations = 1024;
  MemHandle out(clCreateBuffer(device.context(), CL_MEM_WRITE_ONLY, items * sizeof(float), nullptr, &status));
  check_cl(status, "clCreateBuffer (probe)");
  KernelHandle fma(clCreateKernel(program, "probe_fma", &status));
  check_cl(status, "clCreateKernel probe_fma");
  set_args(fma.get(), out.get(), 1e-3f, iterations);
  const double fma_s = best_time(queue.get(), fma.get(), items, group, 3);

  DeviceSpeed speed;
  speed.bandwidth_gbps = 2.0 * static_cast<double>(bytes) / copy_s * 1e-9;
  speed.gflops_f32 = static_cast<double>(items) * iterations * 8 * 4 * 2 / fma_s * 1e-9;
  return speed;
}

}  // namespace cagr::opencl

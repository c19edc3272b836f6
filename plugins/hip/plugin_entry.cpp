// plugin_entry.cpp - the GPU plugin's hooks for the plugin kit (abi/cagr_plugin_kit.hpp), which makes
// its table of entry points, checks their arguments and turns every failure into a status and a
// message (built as cagr_hip by hipcc and as cagr_cuda by nvcc from the same sources).
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cagr_plugin_kit.hpp"
#include "context.hpp"
#include "device_memory.hpp"
#include "gpu_check.hpp"
#include "gpu_op.hpp"

using cagr::plugin::invalid;
using namespace cagr::gpu;
namespace kit = cagr::plugin::kit;

namespace {

constexpr double kLaunchOverheadNs = 3000;  // one launch plus its tail, measured on H100-class parts

// Why the runtime found no device, in words a user can act on: no driver, no GPU, a driver too old.
// `status`: what hipGetDeviceCount returned (hipSuccess with a count of 0 means no device).
std::string no_device_reason(hipError_t status) {
  const std::string runtime_error =
      status == hipSuccess ? std::string() : std::string(" (") + hipGetErrorName(status) + ": " + hipGetErrorString(status) + ")";
  const auto visible_note = [](const char* variable) {
    const char* value = std::getenv(variable);
    return value == nullptr ? std::string() : std::string("; ") + variable + "='" + value + "' hides the others";
  };
#if defined(CAGR_GPU_VENDOR_NVIDIA)
  const auto cuda_version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  if (void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    dlclose(driver);
  } else {
    const char* error = dlerror();
    return std::string("no NVIDIA driver: libcuda.so.1 cannot be loaded (") + (error ? error : "not found") + ")";
  }
  if (status == hipErrorInsufficientDriver) {
    int driver = 0, runtime = 0;
    (void)hipDriverGetVersion(&driver);
    (void)hipRuntimeGetVersion(&runtime);
    return "the NVIDIA driver is too old: it supports CUDA " + cuda_version(driver) + ", this plugin needs CUDA " +
           cuda_version(runtime) + " (update the driver)";
  }
  if (status == hipSuccess || status == hipErrorNoDevice)
    return "no NVIDIA GPU: the driver is installed but sees no device" + visible_note("CUDA_VISIBLE_DEVICES");
  return "the CUDA runtime found no usable device" + runtime_error;
#else
  if (access("/dev/kfd", F_OK) != 0)
    return "no AMD GPU driver: /dev/kfd does not exist (the amdgpu kernel driver is not loaded, or there is no AMD GPU)";
  if (access("/dev/kfd", R_OK | W_OK) != 0)
    return "no access to the AMD GPU driver: /dev/kfd is not readable and writable by this user (add it to the 'render' group)";
  if (status == hipErrorInsufficientDriver) return "the AMD GPU driver is too old for this HIP runtime" + runtime_error;
  if (status == hipSuccess || status == hipErrorNoDevice)
    return "no AMD GPU: the driver is loaded but sees no device" + visible_note("HIP_VISIBLE_DEVICES") +
           visible_note("ROCR_VISIBLE_DEVICES");
  return "the HIP runtime found no usable device" + runtime_error;
#endif
}

// A prepared op: the device copies of its constants and the op's kernel. Released on its device.
struct HipKernel {
  int device;
  std::vector<DeviceMemory> constant_memory;
  std::vector<const void*> constants;  // per op input: device copy of its constant, or nullptr
  std::unique_ptr<GpuKernel> impl;
  ~HipKernel() { (void)hipSetDevice(device); }  // runs before the members are freed
};

const GpuOp& op_for(const OpView& view) {
  const GpuOp* op = find_op(view.type());
  if (op == nullptr) cagr::plugin::unsupported("op '" + view.type() + "' has no kernel in this plugin");
  return *op;
}

#if defined(CAGR_GPU_VENDOR_NVIDIA)
constexpr const char* kVendor = "CAGR GPU plugin (HIP sources compiled by nvcc for NVIDIA)";
#else
constexpr const char* kVendor = "CAGR GPU plugin (HIP sources compiled by hipcc for AMD)";
#endif

struct GpuPlugin {
  static constexpr kit::Identity kIdentity = {CAGR_GPU_PLUGIN_NAME, "0.1.0", kVendor};
  using Kernel = HipKernel;

  static cagr_context* init(const kit::InitArgs& args) {
    auto context = std::make_unique<cagr_context>();
    const auto enabled = [&](const char* key) {
      const std::string value = args.option(key).value_or("");
      return value == "1" || value == "true";
    };
    context->allow_tf32 = enabled("allow_tf32");
    context->allow_bf16 = enabled("allow_bf16");
    int count = 0;
    const hipError_t status = hipGetDeviceCount(&count);
    if (status != hipSuccess) {
      count = 0;
      (void)hipGetLastError();  // clear the sticky error so later calls see their own status
    }
    if (count == 0) {
      // The host shows a "no device: " message as the reason this plugin is skipped (loader/plugin.hpp).
      context->no_device_reason = no_device_reason(status);
      args.log(CAGR_LOG_INFO, "no device: " + context->no_device_reason);
    }
    for (int i = 0; i < count; ++i) context->devices.push_back(std::make_unique<DeviceState>(i));
    return context.release();
  }

  static int32_t device_count(cagr_context& context) { return static_cast<int32_t>(context.devices.size()); }

  static void device_properties(cagr_context& context, int32_t device, cagr_device_properties& p) {
    DeviceState& d = context.device(device);
    const MeasuredPeaks& peaks = d.peaks();
    p.name = d.facts().name.c_str();
    p.kind = CAGR_DEVICE_GPU;
    p.compute_units = d.facts().multiprocessors;
    p.peak_gflops_f32 = peaks.gflops_f32;
    p.peak_gflops_f16 = peaks.gflops_f16;
    p.memory_bandwidth_gbps = peaks.copy_gbps;
    p.memory_bytes = d.facts().memory_bytes;
    p.last_level_cache_bytes = d.facts().l2_bytes;
    p.numa_node = -1;
    p.pci_bus_id = d.facts().pci_bus_id.c_str();
    p.host_accessible = 0;
  }

  // Each variant's time: the slower of compute at the f32 peak and memory at its share of the copy
  // bandwidth, plus a launch.
  static kit::Offer offer(cagr_context& context, int32_t device, const OpView& op) {
    DeviceState& d = context.device(device);
    const OpVariants v = op_for(op).variants(op, d, context);
    const MeasuredPeaks& peaks = d.peaks();
    kit::Offer offer{{}, v.note};
    for (const VariantInfo& info : v.variants) {
      const double compute_ns = peaks.gflops_f32 > 0 ? info.flops / peaks.gflops_f32 : 0;
      const double memory_ns = peaks.copy_gbps > 0 ? info.bytes / (peaks.copy_gbps * info.bandwidth_share) : 0;
      offer.variants.push_back(
          {info.name, info.flops, info.bytes, std::max(compute_ns, memory_ns) + kLaunchOverheadNs, info.precision});
    }
    return offer;
  }

  static std::unique_ptr<HipKernel> create_kernel(cagr_context& context, const kit::KernelSetup& setup) {
    DeviceState& d = context.device(setup.device);
    use_device(setup.device);
    auto kernel = std::make_unique<HipKernel>();
    kernel->device = setup.device;
    kernel->constants.assign(setup.op.num_inputs(), nullptr);
    for (size_t i = 0; i < setup.op.num_inputs(); ++i) {
      if (setup.constants[i] == nullptr) continue;
      const size_t bytes = setup.op.input(i).bytes();
      DeviceMemory memory(bytes);
      if (bytes > 0) memory.upload(setup.constants[i], bytes, "uploading a constant");
      kernel->constants[i] = memory.get();
      kernel->constant_memory.push_back(std::move(memory));
    }
    kernel->impl = op_for(setup.op).create(cagr::gpu::KernelSetup{setup.op, setup.variant, d, context, kernel->constants});
    return kernel;
  }

  static void run_kernel(cagr_context&, HipKernel& kernel, const kit::Run& run) {
    use_device(kernel.device);
    RunTensors tensors{run.stream.stream, kernel.constants, input_shapes(run.op), {}, output_shapes(run.op)};
    for (size_t i = 0; i < run.inputs.size(); ++i)
      if (run.inputs[i] != nullptr) tensors.inputs[i] = run.inputs[i]->ptr;
    for (cagr_buffer* buffer : run.outputs) tensors.outputs.push_back(buffer->ptr);
    kernel.impl->run(tensors);
  }

  static cagr_buffer* buffer_alloc(cagr_context&, int32_t device, uint64_t bytes) {
    use_device(device);
    void* ptr = nullptr;
    if (bytes > 0) check(hipMalloc(&ptr, bytes), "allocating a device buffer");
    return new cagr_buffer{device, ptr, bytes};
  }
  static uint64_t buffer_bytes(const cagr_buffer& buffer) { return buffer.bytes; }
  static void* buffer_host_pointer(cagr_buffer&) { return nullptr; }

  static void copy(cagr_context&, cagr_stream& stream, const cagr_copy_args& a) {
    use_device(stream.device);
    char* src = a.src_buffer != nullptr ? static_cast<char*>(a.src_buffer->ptr) + a.src_offset : nullptr;
    char* dst = a.dst_buffer != nullptr ? static_cast<char*>(a.dst_buffer->ptr) + a.dst_offset : nullptr;
    switch (a.kind) {
      case CAGR_COPY_HOST_TO_DEVICE:
        check(hipMemcpyAsync(dst, a.src_host, a.bytes, hipMemcpyHostToDevice, stream.stream), "copy host to device");
        break;
      case CAGR_COPY_DEVICE_TO_HOST:
        check(hipMemcpyAsync(a.dst_host, src, a.bytes, hipMemcpyDeviceToHost, stream.stream), "copy device to host");
        break;
      case CAGR_COPY_DEVICE_TO_DEVICE:
        check(hipMemcpyAsync(dst, src, a.bytes, hipMemcpyDeviceToDevice, stream.stream), "copy device to device");
        break;
    }
  }

  static cagr_stream* stream_create(cagr_context&, int32_t device) {
    use_device(device);
    hipStream_t s;
    check(hipStreamCreateWithFlags(&s, hipStreamNonBlocking), "creating a stream");
    return new cagr_stream{device, s};
  }

  static void stream_synchronize(cagr_context& context, cagr_stream& stream) {
    use_device(stream.device);
    check(hipStreamSynchronize(stream.stream), "synchronising a stream");
    context.device(stream.device).raise_recorded_error();
  }

  static cagr_event* event_create(cagr_context&, int32_t device) {
    use_device(device);
    hipEvent_t e;
    check(hipEventCreateWithFlags(&e, hipEventDefault), "creating an event");  // timed: event_elapsed
    return new cagr_event{device, e};
  }

  static void event_record(cagr_context&, cagr_event& event, cagr_stream& stream) {
    use_device(stream.device);
    check(hipEventRecord(event.event, stream.stream), "recording an event");
  }

  static void stream_wait_event(cagr_context&, cagr_stream& stream, cagr_event& event) {
    use_device(stream.device);
    check(hipStreamWaitEvent(stream.stream, event.event, 0), "making a stream wait for an event");
  }

  static void event_synchronize(cagr_context&, cagr_event& event) {
    use_device(event.device);
    check(hipEventSynchronize(event.event), "waiting for an event");
  }

  static double event_elapsed(cagr_context&, cagr_event& start, cagr_event& end) {
    use_device(end.device);
    float ms = 0;
    check(hipEventElapsedTime(&ms, start.event, end.event), "timing two events");
    return double(ms) * 1000.0;
  }

  static void begin_capture(cagr_context&, cagr_stream& stream) {
    use_device(stream.device);
    check(hipStreamBeginCapture(stream.stream, hipStreamCaptureModeThreadLocal), "beginning a stream capture");
  }

  static cagr_graph* end_capture(cagr_context&, cagr_stream& stream) {
    use_device(stream.device);
    hipGraph_t g;
    check(hipStreamEndCapture(stream.stream, &g), "ending a stream capture");
    hipGraphExec_t exec;
    const hipError_t status = hipGraphInstantiateWithFlags(&exec, g, 0);
    if (status != hipSuccess) (void)hipGraphDestroy(g);
    check(status, "instantiating a captured graph");
    return new cagr_graph{stream.device, g, exec};
  }

  static void graph_launch(cagr_context&, cagr_graph& graph, cagr_stream& stream) {
    use_device(stream.device);
    check(hipGraphLaunch(graph.exec, stream.stream), "launching a graph");
  }

  // Objects are released on their device, and a runtime failure while releasing is reported.
  static void destroy(cagr_context* context) { delete context; }
  static void destroy(cagr_buffer* buffer) {
    if (buffer == nullptr) return;
    if (buffer->ptr != nullptr) {
      use_device(buffer->device);
      check(hipFree(buffer->ptr), "freeing a device buffer");
    }
    delete buffer;
  }
  static void destroy(cagr_stream* stream) {
    if (stream == nullptr) return;
    use_device(stream->device);
    check(hipStreamDestroy(stream->stream), "destroying a stream");
    delete stream;
  }
  static void destroy(cagr_event* event) {
    if (event == nullptr) return;
    use_device(event->device);
    check(hipEventDestroy(event->event), "destroying an event");
    delete event;
  }
  static void destroy(cagr_graph* graph) {
    if (graph == nullptr) return;
    use_device(graph->device);
    check(hipGraphExecDestroy(graph->exec), "destroying a graph");
    check(hipGraphDestroy(graph->graph), "destroying a graph");
    delete graph;
  }
};

}  // namespace

CAGR_PLUGIN_KIT_ENTRY(GpuPlugin)

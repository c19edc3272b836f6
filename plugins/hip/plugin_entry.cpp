// plugin_entry.cpp - the ABI table of the GPU plugin (built as cagr_hip by hipcc and as cagr_cuda
// by nvcc from the same sources). Every entry point runs under plugin::guarded, so neither a C++
// exception nor a runtime failure reaches the host as anything but a status and a message.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cagr_plugin.h"
#include "cagr_plugin_support.hpp"
#include "context.hpp"
#include "device_memory.hpp"
#include "gpu_check.hpp"
#include "gpu_op.hpp"

using cagr::plugin::guarded;
using cagr::plugin::invalid;
using namespace cagr::gpu;

struct cagr_kernel {
  int device;
  std::vector<DeviceMemory> constant_memory;
  std::vector<const void*> constants;           // per op input: device copy of its constant, or nullptr
  std::vector<cagr::plugin::Shape> input_shapes;  // as at kernel_create
  size_t output_count = 0;
  std::unique_ptr<GpuKernel> impl;
};

namespace {

constexpr double kLaunchOverheadNs = 3000;  // one launch plus its tail, measured on H100-class parts

thread_local std::string query_reason;
thread_local std::string variant_name;

template <class T>
T* require(T* object, const char* what) {
  if (object == nullptr) invalid(std::string(what) + " is null");
  return object;
}

std::string option_value(const cagr_init_args& args, const char* key) {
  for (size_t i = 0; i < args.num_options; ++i) {
    const cagr_option o = cagr::abi::read_struct(args.options[i]);
    if (o.key != nullptr && o.value != nullptr && std::strcmp(o.key, key) == 0) return o.value;
  }
  return {};
}

void log(const cagr_init_args& args, cagr_log_level level, const std::string& message) {
  if (args.log != nullptr) args.log(args.log_user_data, level, message.c_str());
}

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

cagr_status init(cagr_init_args* args) {
  return guarded([&] {
    cagr_init_args a = cagr::abi::read_struct(require(args, "init args"));
    auto context = std::make_unique<cagr_context>();
    const auto enabled = [&](const char* key) {
      const std::string value = option_value(a, key);
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
      log(a, CAGR_LOG_INFO, "no device: " + context->no_device_reason);
    }
    for (int i = 0; i < count; ++i) context->devices.push_back(std::make_unique<DeviceState>(i));
    a.context = context.release();
    cagr::abi::write_struct(args, a);
  });
}

cagr_status shutdown(cagr_context* context) {
  return guarded([&] { delete context; });
}

cagr_status get_info(cagr_context*, cagr_plugin_info* info) {
  return guarded([&] {
    cagr_plugin_info i = cagr::abi::read_struct(require(info, "info"));
    i.name = CAGR_GPU_PLUGIN_NAME;
    i.version = "0.1.0";
#if defined(CAGR_GPU_VENDOR_NVIDIA)
    i.vendor = "CAGR GPU plugin (HIP sources compiled by nvcc for NVIDIA)";
#else
    i.vendor = "CAGR GPU plugin (HIP sources compiled by hipcc for AMD)";
#endif
    i.abi_major = CAGR_ABI_VERSION_MAJOR;
    i.abi_minor = CAGR_ABI_VERSION_MINOR;
    cagr::abi::write_struct(info, i);
  });
}

cagr_status device_count(cagr_context* context, int32_t* count) {
  return guarded([&] { *require(count, "count") = static_cast<int32_t>(require(context, "context")->devices.size()); });
}

cagr_status device_properties(cagr_context* context, int32_t device, cagr_device_properties* properties) {
  return guarded([&] {
    DeviceState& d = require(context, "context")->device(device);
    const MeasuredPeaks& peaks = d.peaks();
    cagr_device_properties p = cagr::abi::read_struct(require(properties, "properties"));
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
    cagr::abi::write_struct(properties, p);
  });
}

const GpuOp& op_for(const OpView& view) {
  const GpuOp* op = find_op(view.type());
  if (op == nullptr) cagr::plugin::unsupported("op '" + view.type() + "' has no kernel in this plugin");
  return *op;
}

cagr_status op_query(cagr_context* context, cagr_op_query_args* args) {
  return guarded([&] {
    cagr_op_query_args a = cagr::abi::read_struct(require(args, "op_query args"));
    DeviceState& d = require(context, "context")->device(a.device);
    a.supported = 0;
    a.num_variants = 0;
    try {
      const OpView view(a.op);
      const OpVariants v = op_for(view).variants(view, d, *context);
      a.supported = 1;
      a.num_variants = static_cast<int32_t>(v.variants.size());
      query_reason = v.note;
    } catch (const cagr::plugin::Error& e) {
      query_reason = e.what();  // an op we cannot run is an answer, not a failure of the query
    }
    a.reason = query_reason.c_str();
    cagr::abi::write_struct(args, a);
  });
}

cagr_status op_variant(cagr_context* context, cagr_variant_args* args) {
  return guarded([&] {
    cagr_variant_args a = cagr::abi::read_struct(require(args, "op_variant args"));
    DeviceState& d = require(context, "context")->device(a.device);
    const OpView view(a.op);
    const OpVariants v = op_for(view).variants(view, d, *context);
    if (a.variant < 0 || a.variant >= static_cast<int32_t>(v.variants.size()))
      invalid(view.type() + ": variant " + std::to_string(a.variant) + " out of range [0, " +
              std::to_string(v.variants.size()) + ")");
    const VariantInfo& info = v.variants[static_cast<size_t>(a.variant)];
    const MeasuredPeaks& peaks = d.peaks();
    variant_name = info.name;
    a.name = variant_name.c_str();
    a.flops = info.flops;
    a.bytes = info.bytes;
    a.math_precision = info.precision;
    const double compute_ns = peaks.gflops_f32 > 0 ? info.flops / peaks.gflops_f32 : 0;
    const double memory_ns = peaks.copy_gbps > 0 ? info.bytes / (peaks.copy_gbps * info.bandwidth_share) : 0;
    a.estimated_ns = std::max(compute_ns, memory_ns) + kLaunchOverheadNs;
    cagr::abi::write_struct(args, a);
  });
}

cagr_status buffer_alloc(cagr_context* context, cagr_buffer_alloc_args* args) {
  return guarded([&] {
    cagr_buffer_alloc_args a = cagr::abi::read_struct(require(args, "buffer_alloc args"));
    require(context, "context")->device(a.device);
    use_device(a.device);
    void* ptr = nullptr;
    if (a.bytes > 0) check(hipMalloc(&ptr, a.bytes), "allocating a device buffer");
    a.buffer = new cagr_buffer{a.device, ptr, a.bytes};
    cagr::abi::write_struct(args, a);
  });
}

cagr_status buffer_destroy(cagr_context*, cagr_buffer* buffer) {
  return guarded([&] {
    if (buffer == nullptr) return;
    if (buffer->ptr != nullptr) {
      use_device(buffer->device);
      check(hipFree(buffer->ptr), "freeing a device buffer");
    }
    delete buffer;
  });
}

void* buffer_host_pointer(cagr_context*, cagr_buffer*) { return nullptr; }

void check_range(const cagr_buffer* buffer, uint64_t offset, uint64_t bytes, const char* side) {
  if (offset > buffer->bytes || bytes > buffer->bytes - offset)
    invalid(std::string("copy: ") + side + " range [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
            ") exceeds its buffer of " + std::to_string(buffer->bytes) + " bytes");
}

cagr_status copy(cagr_context*, cagr_copy_args* args) {
  return guarded([&] {
    const cagr_copy_args a = cagr::abi::read_struct(require(args, "copy args"));
    const cagr_stream* stream = require(a.stream, "copy stream");
    use_device(stream->device);
    if (a.bytes == 0) return;
    switch (a.kind) {
      case CAGR_COPY_HOST_TO_DEVICE:
        check_range(require(a.dst_buffer, "copy destination"), a.dst_offset, a.bytes, "destination");
        check(hipMemcpyAsync(static_cast<char*>(a.dst_buffer->ptr) + a.dst_offset, require(a.src_host, "copy source"),
                             a.bytes, hipMemcpyHostToDevice, stream->stream), "copy host to device");
        break;
      case CAGR_COPY_DEVICE_TO_HOST:
        check_range(require(a.src_buffer, "copy source"), a.src_offset, a.bytes, "source");
        check(hipMemcpyAsync(require(a.dst_host, "copy destination"), static_cast<char*>(a.src_buffer->ptr) + a.src_offset,
                             a.bytes, hipMemcpyDeviceToHost, stream->stream), "copy device to host");
        break;
      case CAGR_COPY_DEVICE_TO_DEVICE:
        check_range(require(a.src_buffer, "copy source"), a.src_offset, a.bytes, "source");
        check_range(require(a.dst_buffer, "copy destination"), a.dst_offset, a.bytes, "destination");
        check(hipMemcpyAsync(static_cast<char*>(a.dst_buffer->ptr) + a.dst_offset,
                             static_cast<char*>(a.src_buffer->ptr) + a.src_offset, a.bytes, hipMemcpyDeviceToDevice,
                             stream->stream), "copy device to device");
        break;
      default:
        invalid("copy: unknown copy kind " + std::to_string(static_cast<int>(a.kind)));
    }
  });
}

cagr_status stream_create(cagr_context* context, int32_t device, cagr_stream** stream) {
  return guarded([&] {
    require(context, "context")->device(device);
    use_device(device);
    hipStream_t s;
    check(hipStreamCreateWithFlags(&s, hipStreamNonBlocking), "creating a stream");
    *require(stream, "stream") = new cagr_stream{device, s};
  });
}

cagr_status stream_destroy(cagr_context*, cagr_stream* stream) {
  return guarded([&] {
    if (stream == nullptr) return;
    use_device(stream->device);
    check(hipStreamDestroy(stream->stream), "destroying a stream");
    delete stream;
  });
}

cagr_status stream_synchronize(cagr_context* context, cagr_stream* stream) {
  return guarded([&] {
    require(stream, "stream");
    use_device(stream->device);
    check(hipStreamSynchronize(stream->stream), "synchronising a stream");
    require(context, "context")->device(stream->device).raise_recorded_error();
  });
}

cagr_status event_create(cagr_context* context, int32_t device, cagr_event** event) {
  return guarded([&] {
    require(context, "context")->device(device);
    use_device(device);
    hipEvent_t e;
    check(hipEventCreateWithFlags(&e, hipEventDefault), "creating an event");  // timed: event_elapsed
    *require(event, "event") = new cagr_event{device, e};
  });
}

cagr_status event_destroy(cagr_context*, cagr_event* event) {
  return guarded([&] {
    if (event == nullptr) return;
    use_device(event->device);
    check(hipEventDestroy(event->event), "destroying an event");
    delete event;
  });
}

cagr_status event_record(cagr_context*, cagr_event* event, cagr_stream* stream) {
  return guarded([&] {
    use_device(require(stream, "stream")->device);
    check(hipEventRecord(require(event, "event")->event, stream->stream), "recording an event");
  });
}

cagr_status stream_wait_event(cagr_context*, cagr_stream* stream, cagr_event* event) {
  return guarded([&] {
    use_device(require(stream, "stream")->device);
    check(hipStreamWaitEvent(stream->stream, require(event, "event")->event, 0), "making a stream wait for an event");
  });
}

cagr_status event_synchronize(cagr_context*, cagr_event* event) {
  return guarded([&] {
    use_device(require(event, "event")->device);
    check(hipEventSynchronize(event->event), "waiting for an event");
  });
}

cagr_status event_elapsed(cagr_context*, cagr_event* start, cagr_event* end, double* microseconds) {
  return guarded([&] {
    use_device(require(end, "end event")->device);
    float ms = 0;
    check(hipEventElapsedTime(&ms, require(start, "start event")->event, end->event), "timing two events");
    *require(microseconds, "microseconds") = double(ms) * 1000.0;
  });
}

cagr_status kernel_create(cagr_context* context, cagr_kernel_create_args* args) {
  return guarded([&] {
    cagr_kernel_create_args a = cagr::abi::read_struct(require(args, "kernel_create args"));
    const cagr_context& ctx = *require(context, "context");
    DeviceState& d = ctx.device(a.device);
    use_device(a.device);
    const OpView view(a.op);
    const GpuOp& op = op_for(view);
    auto kernel = std::make_unique<cagr_kernel>();
    kernel->device = a.device;
    kernel->constants.assign(view.num_inputs(), nullptr);
    for (size_t i = 0; i < view.num_inputs(); ++i) kernel->input_shapes.push_back(view.input(i));
    kernel->output_count = view.num_outputs();
    for (size_t c = 0; c < a.num_constants; ++c) {
      const cagr_constant constant = cagr::abi::read_struct(require(a.constants[c], "constant"));
      if (constant.input_index >= view.num_inputs())
        invalid(view.type() + ": constant for input " + std::to_string(constant.input_index) + ", the op has " +
                std::to_string(view.num_inputs()) + " inputs");
      const size_t bytes = view.input(constant.input_index).bytes();
      DeviceMemory memory(bytes);
      if (bytes > 0) memory.upload(require(constant.data, "constant data"), bytes, "uploading a constant");
      kernel->constants[constant.input_index] = memory.get();
      kernel->constant_memory.push_back(std::move(memory));
    }
    kernel->impl = op.create(KernelSetup{view, a.variant, d, ctx, kernel->constants});
    a.kernel = kernel.release();
    cagr::abi::write_struct(args, a);
  });
}

cagr_status kernel_destroy(cagr_context*, cagr_kernel* kernel) {
  return guarded([&] {
    if (kernel == nullptr) return;
    use_device(kernel->device);
    delete kernel;
  });
}

// The run's buffer for one tensor, checked to hold the run's shape.
void* run_buffer(cagr_buffer* buffer, const cagr::plugin::Shape& shape, const std::string& what) {
  if (buffer == nullptr) invalid("kernel_run: " + what + " buffer is null");
  if (shape.bytes() > buffer->bytes)
    invalid("kernel_run: " + what + " needs " + std::to_string(shape.bytes()) + " bytes, its buffer has " +
            std::to_string(buffer->bytes));
  return buffer->ptr;
}

cagr_status kernel_run(cagr_context*, cagr_kernel_run_args* args) {
  return guarded([&] {
    const cagr_kernel_run_args a = cagr::abi::read_struct(require(args, "kernel_run args"));
    cagr_kernel& kernel = *require(a.kernel, "kernel");
    use_device(kernel.device);
    RunTensors tensors{require(a.stream, "stream")->stream, kernel.constants, kernel.input_shapes, {}, {}};
    std::vector<bool> is_constant(kernel.constants.size());
    for (size_t i = 0; i < is_constant.size(); ++i) is_constant[i] = kernel.constants[i] != nullptr;
    const std::vector<size_t> slots = cagr::plugin::run_input_slots(is_constant, a, kernel.output_count, "kernel_run");
    for (size_t r = 0; r < slots.size(); ++r) {
      const size_t i = slots[r];
      const cagr::plugin::Shape shape(a.input_descs[r]);
      tensors.inputs[i] = run_buffer(a.inputs[r], shape, "input " + std::to_string(i));
      tensors.input_shapes[i] = shape;
    }
    for (size_t o = 0; o < a.num_outputs; ++o) {
      const cagr::plugin::Shape shape(a.output_descs[o]);
      tensors.outputs.push_back(run_buffer(a.outputs[o], shape, "output " + std::to_string(o)));
      tensors.output_shapes.push_back(shape);
    }
    kernel.impl->run(tensors);
  });
}

cagr_status stream_begin_capture(cagr_context*, cagr_stream* stream) {
  return guarded([&] {
    use_device(require(stream, "stream")->device);
    check(hipStreamBeginCapture(stream->stream, hipStreamCaptureModeThreadLocal), "beginning a stream capture");
  });
}

cagr_status stream_end_capture(cagr_context*, cagr_stream* stream, cagr_graph** graph) {
  return guarded([&] {
    use_device(require(stream, "stream")->device);
    require(graph, "graph");
    hipGraph_t g;
    check(hipStreamEndCapture(stream->stream, &g), "ending a stream capture");
    hipGraphExec_t exec;
    const hipError_t status = hipGraphInstantiateWithFlags(&exec, g, 0);
    if (status != hipSuccess) (void)hipGraphDestroy(g);
    check(status, "instantiating a captured graph");
    *graph = new cagr_graph{stream->device, g, exec};
  });
}

cagr_status graph_launch(cagr_context*, cagr_graph* graph, cagr_stream* stream) {
  return guarded([&] {
    use_device(require(stream, "stream")->device);
    check(hipGraphLaunch(require(graph, "graph")->exec, stream->stream), "launching a graph");
  });
}

cagr_status graph_destroy(cagr_context*, cagr_graph* graph) {
  return guarded([&] {
    if (graph == nullptr) return;
    use_device(graph->device);
    check(hipGraphExecDestroy(graph->exec), "destroying a graph");
    check(hipGraphDestroy(graph->graph), "destroying a graph");
    delete graph;
  });
}

const cagr_plugin_api kApi = {
    sizeof(cagr_plugin_api),
    CAGR_ABI_VERSION_MAJOR,
    CAGR_ABI_VERSION_MINOR,
    cagr::plugin::last_error_message,
    init,
    shutdown,
    get_info,
    device_count,
    device_properties,
    op_query,
    op_variant,
    buffer_alloc,
    buffer_destroy,
    buffer_host_pointer,
    copy,
    stream_create,
    stream_destroy,
    stream_synchronize,
    event_create,
    event_destroy,
    event_record,
    stream_wait_event,
    event_synchronize,
    kernel_create,
    kernel_destroy,
    kernel_run,
    stream_begin_capture,
    stream_end_capture,
    graph_launch,
    graph_destroy,
    event_elapsed,
};

}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return cagr::plugin::negotiate_entry(args, &kApi);
}

// plugin.cpp - the OpenCL plugin's hooks for the plugin kit (abi/cagr_plugin_kit.hpp), which makes
// its table of entry points and checks their arguments: every device of every OpenCL platform,
// buffers in device memory, a stream per in-order command queue.
#include <algorithm>
#include <mutex>
#include <optional>

#include "cagr_plugin_kit.hpp"
#include "context.hpp"
#include "error_record.hpp"
#include "op_registry.hpp"

using cagr::plugin::invalid;
using namespace cagr::opencl;
namespace kit = cagr::plugin::kit;

struct cagr_buffer {
  Device* device;
  MemHandle mem;
  uint64_t bytes;
};

struct cagr_stream {
  Device* device;
  QueueHandle queue;
  MemHandle errors;  // ErrorRecord written by kernels that find bad input
};

struct cagr_event {
  Device* device;
  EventHandle marker;  // empty until recorded
};

namespace {

// Typical launch latency of a GPU queue: the floor of every estimate.
constexpr double kLaunchOverheadNs = 5000;

void require_same_context(const Device& a, const Device& b, const char* what) {
  if (a.context() != b.context()) invalid(std::string("opencl: ") + what + " belong to different OpenCL platforms");
}

MemHandle create_buffer(const Device& device, uint64_t bytes, cl_mem_flags flags, const void* data) {
  cl_int status = CL_SUCCESS;
  // OpenCL refuses empty buffers; an empty tensor still gets a valid (tiny) one, never filled.
  MemHandle mem(clCreateBuffer(device.context(), bytes > 0 ? flags : flags & ~cl_mem_flags{CL_MEM_COPY_HOST_PTR},
                               bytes > 0 ? bytes : 4, bytes > 0 ? const_cast<void*>(data) : nullptr, &status));
  check_cl(status, "clCreateBuffer");
  return mem;
}

uint64_t parse_bytes(const std::string& key, const std::string& value) {
  size_t used = 0;
  unsigned long long bytes = 0;
  try {
    bytes = std::stoull(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || value[0] == '-')
    invalid("opencl: option " + key + "='" + value + "' is not a number of bytes");
  return bytes;
}

// Device memory that an op's constant embedding tables may take before they are kept in host
// memory behind a device cache (docs/EMBEDDING_CACHE.md): the option, else three quarters of the
// device's memory (OpenCL cannot say how much is free; the rest is the margin for activations and
// other kernels), and never more than one allocation, since a launch reads all tables from one.
uint64_t table_budget(const cagr_context& context, const Device& device) {
  if (context.table_budget_bytes) return *context.table_budget_bytes;
  return std::min(device.memory_bytes() / 4 * 3, device.max_alloc_bytes());
}

void zero_error_record(cagr_stream& stream) {
  const cl_int zero = 0;
  check_cl(clEnqueueFillBuffer(stream.queue.get(), stream.errors.get(), &zero, sizeof(zero), 0, sizeof(ErrorRecord), 0,
                               nullptr, nullptr),
           "clEnqueueFillBuffer (error record)");
}

// The plugin's definition of `op`, which the shared contract (OPS.md) has checked.
const OpDefinition& definition_of(const cagr::plugin::OpView& op) {
  const OpDefinition* definition = find_op(op.type());
  if (definition == nullptr) cagr::plugin::unsupported("opencl: op '" + op.type() + "' has no kernel in this plugin");
  return *definition;
}

// A prepared op: the device copies of its constants and the op's kernel.
struct OpenclKernel {
  Device* device;
  std::vector<std::shared_ptr<const MemHandle>> constants;  // per input: its device copy when given as a constant
  std::unique_ptr<OpKernel> impl;
  std::mutex mutex;  // an OpenCL kernel's arguments are shared state: one run at a time
};

struct OpenclPlugin : kit::DeleteObjects {
  static constexpr kit::Identity kIdentity = {"opencl", "0.1.0", "CAGR"};
  using Kernel = OpenclKernel;

  static cagr_context* init(const kit::InitArgs& args) {
    std::string cache_folder;
    std::optional<uint64_t> table_budget;
    for (const auto& [key, value] : args.options) {
      if (key == "cache_dir") cache_folder = value;
      else if (key == "table_budget_bytes") table_budget = parse_bytes(key, value);
      else invalid("opencl: unknown option '" + key + "' (known: cache_dir, table_budget_bytes)");
    }
    auto context = std::make_unique<cagr_context>(cache_folder, args.log.fn, args.log.user_data);
    context->table_budget_bytes = table_budget;
    return context.release();
  }

  static int32_t device_count(cagr_context& context) { return context.device_count(); }

  static void device_properties(cagr_context& context, int32_t index, cagr_device_properties& p) {
    Device& device = context.device(index);
    p.name = device.name().c_str();
    p.kind = device.kind();
    p.compute_units = device.compute_units();
    try {
      p.peak_gflops_f32 = device.speed().gflops_f32;
      p.memory_bandwidth_gbps = device.speed().bandwidth_gbps;
    } catch (const std::exception& e) {
      context.log(CAGR_LOG_WARNING, "measuring " + device.name() + " failed, its speed is reported unknown: " + e.what());
    }
    p.peak_gflops_f16 = 0;
    p.memory_bytes = device.memory_bytes();
    p.last_level_cache_bytes = device.last_level_cache_bytes();
    p.numa_node = -1;
    p.pci_bus_id = device.pci_bus_id().c_str();
    p.host_accessible = 0;
  }

  // Each variant's time from its flops and bytes at the device's measured peak rates, scaled by
  // the fraction of peak it reaches; none when the device could not be measured.
  static kit::Offer offer(cagr_context& context, int32_t index, const cagr::plugin::OpView& op) {
    Device& device = context.device(index);
    const cagr::contract::Checked sizes = cagr::contract::check(op);
    const OpDefinition& definition = definition_of(op);
    kit::Offer offer;
    for (const VariantCost& v : definition.variants(sizes, device)) {
      double ns = 0;
      try {
        const DeviceSpeed& speed = device.speed();
        ns = kLaunchOverheadNs + std::max(v.flops / (speed.gflops_f32 * v.efficiency), v.bytes / (speed.bandwidth_gbps * v.efficiency));
      } catch (const std::exception& e) {
        context.log(CAGR_LOG_WARNING, "no cost estimate on " + device.name() + ": " + e.what());
      }
      offer.variants.push_back({v.name, v.flops, v.bytes, ns, CAGR_MATH_F32});
    }
    if (offer.variants.empty()) offer.note = "opencl: " + op.type() + ": no variant fits device " + device.name();
    return offer;
  }

  static std::unique_ptr<OpenclKernel> create_kernel(cagr_context& context, const kit::KernelSetup& setup) {
    Device& device = context.device(setup.device);
    auto kernel = std::make_unique<OpenclKernel>();
    kernel->device = &device;
    kernel->constants.resize(setup.op.num_inputs());
    const OpDefinition& definition = definition_of(setup.op);
    if (definition.create_from_host != nullptr) {
      kernel->impl = definition.create_from_host(device, cagr::contract::check(setup.op), setup.chosen.name, setup.constants,
                                                 table_budget(context, device), setup.extensions);
      if (kernel->impl) return kernel;  // its constants stay in host memory: none is uploaded
    }
    std::vector<cl_mem> constants(setup.op.num_inputs(), nullptr);
    for (size_t i = 0; i < constants.size(); ++i) {
      if (setup.constants[i] == nullptr) continue;
      const size_t bytes = setup.op.input(i).bytes();
      kernel->constants[i] = kit::shared_constant<MemHandle>(&device, setup.constants[i], bytes, setup.borrowed[i], [&] {
        return std::make_shared<const MemHandle>(create_buffer(device, bytes, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, setup.constants[i]));
      });
      constants[i] = kernel->constants[i]->get();
    }
    kernel->impl = definition.create(device, cagr::contract::check(setup.op), setup.chosen.name, constants);
    return kernel;
  }

  // ABI 1.4: what a kernel counted (the embedding cache's hits and times; most kernels count nothing).
  static std::vector<std::pair<std::string, double>> kernel_statistics(cagr_context&, OpenclKernel& kernel) {
    std::lock_guard lock(kernel.mutex);
    return kernel.impl->statistics();
  }

  static void run_kernel(cagr_context&, OpenclKernel& kernel, const kit::Run& run) {
    require_same_context(*kernel.device, *run.stream.device, "kernel and stream");
    std::vector<cl_mem> inputs, outputs;
    for (size_t i = 0; i < run.inputs.size(); ++i) {
      if (run.inputs[i] != nullptr) require_same_context(*kernel.device, *run.inputs[i]->device, "kernel and buffer");
      inputs.push_back(run.inputs[i] != nullptr ? run.inputs[i]->mem.get() : kernel.constants[i] ? kernel.constants[i]->get() : nullptr);
    }
    for (cagr_buffer* buffer : run.outputs) {
      require_same_context(*kernel.device, *buffer->device, "kernel and buffer");
      outputs.push_back(buffer->mem.get());
    }
    const cagr::contract::Checked sizes = cagr::contract::check(run.op);
    std::lock_guard lock(kernel.mutex);
    kernel.impl->run(Launch{run.stream.queue.get(), run.stream.errors.get(), std::move(inputs), std::move(outputs), sizes});
  }

  static cagr_buffer* buffer_alloc(cagr_context& context, int32_t index, uint64_t bytes) {
    Device& device = context.device(index);
    if (bytes > device.max_alloc_bytes())
      throw cagr::plugin::Error(CAGR_ERROR_OUT_OF_MEMORY, "opencl: " + std::to_string(bytes) + " bytes exceed " +
                                                              device.name() + "'s largest allocation, " +
                                                              std::to_string(device.max_alloc_bytes()));
    return new cagr_buffer{&device, create_buffer(device, bytes, CL_MEM_READ_WRITE, nullptr), bytes};
  }
  static uint64_t buffer_bytes(const cagr_buffer& buffer) { return buffer.bytes; }
  static void* buffer_host_pointer(cagr_buffer&) { return nullptr; }

  static void copy(cagr_context&, cagr_stream& stream, const cagr_copy_args& a) {
    const cl_command_queue queue = stream.queue.get();
    switch (a.kind) {
      case CAGR_COPY_HOST_TO_DEVICE:
        check_cl(clEnqueueWriteBuffer(queue, a.dst_buffer->mem.get(), CL_FALSE, a.dst_offset, a.bytes, a.src_host, 0,
                                      nullptr, nullptr),
                 "clEnqueueWriteBuffer");
        return;
      case CAGR_COPY_DEVICE_TO_HOST:
        check_cl(clEnqueueReadBuffer(queue, a.src_buffer->mem.get(), CL_FALSE, a.src_offset, a.bytes, a.dst_host, 0,
                                     nullptr, nullptr),
                 "clEnqueueReadBuffer");
        return;
      case CAGR_COPY_DEVICE_TO_DEVICE:
        require_same_context(*a.src_buffer->device, *a.dst_buffer->device, "copy source and destination");
        if (a.src_buffer == a.dst_buffer && a.src_offset < a.dst_offset + a.bytes && a.dst_offset < a.src_offset + a.bytes)
          invalid("opencl: copy: source and destination ranges overlap in one buffer");
        check_cl(clEnqueueCopyBuffer(queue, a.src_buffer->mem.get(), a.dst_buffer->mem.get(), a.src_offset,
                                     a.dst_offset, a.bytes, 0, nullptr, nullptr),
                 "clEnqueueCopyBuffer");
        return;
    }
  }

  static cagr_stream* stream_create(cagr_context& context, int32_t index) {
    Device& device = context.device(index);
    cl_int status = CL_SUCCESS;
    QueueHandle queue(clCreateCommandQueue(device.context(), device.id(), 0, &status));  // in order
    check_cl(status, "clCreateCommandQueue");
    auto created = std::make_unique<cagr_stream>(
        cagr_stream{&device, std::move(queue), create_buffer(device, sizeof(ErrorRecord), CL_MEM_READ_WRITE, nullptr)});
    zero_error_record(*created);
    return created.release();
  }

  // Work still queued finishes before its queue goes.
  static void destroy(cagr_stream* stream) {
    if (stream != nullptr) clFinish(stream->queue.get());
    delete stream;
  }
  using kit::DeleteObjects::destroy;

  // Waits for the stream, then reports the first fault its kernels recorded (and clears it).
  static void stream_synchronize(cagr_context&, cagr_stream& stream) {
    check_cl(clFinish(stream.queue.get()), "clFinish");
    ErrorRecord record{};
    check_cl(clEnqueueReadBuffer(stream.queue.get(), stream.errors.get(), CL_TRUE, 0, sizeof(record), &record, 0,
                                 nullptr, nullptr),
             "reading the error record");
    if (record.flag != 0) {
      zero_error_record(stream);
      check_cl(clFinish(stream.queue.get()), "clFinish");
      invalid(describe(record));
    }
  }

  static cagr_event* event_create(cagr_context& context, int32_t index) {
    return new cagr_event{&context.device(index), EventHandle()};
  }

  static void event_record(cagr_context&, cagr_event& event, cagr_stream& stream) {
    require_same_context(*event.device, *stream.device, "event and stream");
    cl_event marker = nullptr;
    check_cl(clEnqueueMarkerWithWaitList(stream.queue.get(), 0, nullptr, &marker), "clEnqueueMarkerWithWaitList");
    event.marker = EventHandle(marker);
  }

  static void stream_wait_event(cagr_context&, cagr_stream& stream, cagr_event& event) {
    require_same_context(*stream.device, *event.device, "stream and event");
    if (!event.marker) return;  // never recorded: nothing to wait for
    const cl_event marker = event.marker.get();
    check_cl(clEnqueueBarrierWithWaitList(stream.queue.get(), 1, &marker, nullptr), "clEnqueueBarrierWithWaitList");
  }

  static void event_synchronize(cagr_context&, cagr_event& event) {
    if (!event.marker) return;
    const cl_event marker = event.marker.get();
    check_cl(clWaitForEvents(1, &marker), "clWaitForEvents");
  }
  // No event_elapsed: its queues are made without profiling; the host synchronises instead. No
  // graph capture: OpenCL has none.
};

}  // namespace

CAGR_PLUGIN_KIT_ENTRY(OpenclPlugin)

// plugin.cpp - the OpenCL plugin's table of entry points (abi/cagr_plugin.h). Each entry point
// checks its arguments and goes through cagr::plugin::guarded, so nothing ever throws into the host.
#include <algorithm>
#include <mutex>

#include "cagr_plugin_support.hpp"
#include "context.hpp"
#include "error_record.hpp"
#include "owned_op_desc.hpp"
#include "op_registry.hpp"

using cagr::abi::read_struct;
using cagr::abi::write_struct;
using cagr::plugin::guarded;
using cagr::plugin::invalid;
using namespace cagr::opencl;

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

struct cagr_kernel {
  cagr_kernel(Device* d, cagr::abi::OwnedOpDesc created) : device(d), op(std::move(created)) {}
  Device* device;
  cagr::abi::OwnedOpDesc op;        // as created; a run's descs replace the non-constant ones
  std::vector<MemHandle> constants;  // per input: its device copy when given as a constant
  std::unique_ptr<OpKernel> impl;
  std::mutex mutex;  // an OpenCL kernel's arguments are shared state: one run at a time
};

namespace {

constexpr const char* kPluginName = "opencl";

// Typical launch latency of a GPU queue: the floor of every estimate.
constexpr double kLaunchOverheadNs = 5000;

template <class T>
T* require_object(T* object, const char* what) {
  if (object == nullptr) invalid(std::string("opencl: ") + what + " is NULL");
  return object;
}

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

void zero_error_record(cagr_stream* stream) {
  const cl_int zero = 0;
  check_cl(clEnqueueFillBuffer(stream->queue.get(), stream->errors.get(), &zero, sizeof(zero), 0, sizeof(ErrorRecord), 0,
                               nullptr, nullptr),
           "clEnqueueFillBuffer (error record)");
}

// `op` checked against OPS.md (the shared contract), with the plugin's definition of it.
std::pair<const OpDefinition&, cagr::contract::Checked> checked_op(const cagr_op_desc* desc) {
  const cagr::plugin::OpView op(desc);
  cagr::contract::Checked sizes = cagr::contract::check(op);
  const OpDefinition* definition = find_op(op.type());
  if (definition == nullptr) cagr::plugin::unsupported("opencl: op '" + op.type() + "' has no kernel in this plugin");
  return {*definition, std::move(sizes)};
}

std::string& thread_text() {
  thread_local std::string text;
  return text;
}

cagr_status init(cagr_init_args* args) {
  return guarded([&] {
    require_object(args, "init args");
    cagr_init_args a = read_struct(args);
    std::string cache_folder;
    for (size_t i = 0; i < a.num_options; ++i) {
      const cagr_option o = read_struct(a.options[i]);
      if (o.key == nullptr || o.value == nullptr) invalid("opencl: option with a NULL key or value");
      if (std::string(o.key) == "cache_dir") cache_folder = o.value;
      else invalid(std::string("opencl: unknown option '") + o.key + "' (known: cache_dir)");
    }
    a.context = new cagr_context(cache_folder, a.log, a.log_user_data);
    write_struct(args, a);
  });
}

cagr_status shutdown(cagr_context* context) {
  return guarded([&] { delete context; });
}

cagr_status get_info(cagr_context*, cagr_plugin_info* info) {
  return guarded([&] {
    cagr_plugin_info i = read_struct(require_object(info, "info"));
    i.name = kPluginName;
    i.version = "0.1.0";
    i.vendor = "CAGR";
    i.abi_major = CAGR_ABI_VERSION_MAJOR;
    i.abi_minor = CAGR_ABI_VERSION_MINOR;
    write_struct(info, i);
  });
}

cagr_status device_count(cagr_context* context, int32_t* count) {
  return guarded([&] { *require_object(count, "count") = require_object(context, "context")->device_count(); });
}

cagr_status device_properties(cagr_context* context, int32_t index, cagr_device_properties* properties) {
  return guarded([&] {
    Device& device = require_object(context, "context")->device(index);
    cagr_device_properties p = read_struct(require_object(properties, "properties"));
    p.name = device.name().c_str();
    p.kind = device.kind();
    p.compute_units = device.compute_units();
    try {
      p.peak_gflops_f32 = device.speed().gflops_f32;
      p.memory_bandwidth_gbps = device.speed().bandwidth_gbps;
    } catch (const std::exception& e) {
      context->log(CAGR_LOG_WARNING, "measuring " + device.name() + " failed, its speed is reported unknown: " + e.what());
    }
    p.peak_gflops_f16 = 0;
    p.memory_bytes = device.memory_bytes();
    p.last_level_cache_bytes = device.last_level_cache_bytes();
    p.numa_node = -1;
    p.pci_bus_id = device.pci_bus_id().c_str();
    p.host_accessible = 0;
    write_struct(properties, p);
  });
}

cagr_status op_query(cagr_context* context, cagr_op_query_args* args) {
  return guarded([&] {
    cagr_op_query_args a = read_struct(require_object(args, "op_query args"));
    Device& device = require_object(context, "context")->device(a.device);
    a.supported = 0;
    a.num_variants = 0;
    a.reason = nullptr;
    try {
      const auto [definition, sizes] = checked_op(a.op);
      const auto variants = definition.variants(sizes, device);
      a.num_variants = static_cast<int32_t>(variants.size());
      a.supported = variants.empty() ? 0 : 1;
      if (variants.empty()) thread_text() = std::string("opencl: ") + definition.type + ": no variant fits device " + device.name();
    } catch (const cagr::plugin::Error& e) {
      thread_text() = e.what();
    }
    if (!a.supported) a.reason = thread_text().c_str();
    write_struct(args, a);
  });
}

cagr_status op_variant(cagr_context* context, cagr_variant_args* args) {
  return guarded([&] {
    cagr_variant_args a = read_struct(require_object(args, "op_variant args"));
    Device& device = require_object(context, "context")->device(a.device);
    const auto [definition, sizes] = checked_op(a.op);
    const auto variants = definition.variants(sizes, device);
    if (a.variant < 0 || a.variant >= static_cast<int32_t>(variants.size()))
      invalid(std::string("opencl: ") + definition.type + " has no variant " + std::to_string(a.variant));
    const VariantCost& v = variants[static_cast<size_t>(a.variant)];
    thread_text() = v.name;
    a.name = thread_text().c_str();
    a.flops = v.flops;
    a.bytes = v.bytes;
    a.estimated_ns = 0;
    try {
      const DeviceSpeed& speed = device.speed();
      const double compute_ns = v.flops / (speed.gflops_f32 * v.efficiency);
      const double memory_ns = v.bytes / (speed.bandwidth_gbps * v.efficiency);
      a.estimated_ns = kLaunchOverheadNs + std::max(compute_ns, memory_ns);
    } catch (const std::exception& e) {
      context->log(CAGR_LOG_WARNING, "no cost estimate on " + device.name() + ": " + e.what());
    }
    write_struct(args, a);
  });
}

cagr_status buffer_alloc(cagr_context* context, cagr_buffer_alloc_args* args) {
  return guarded([&] {
    cagr_buffer_alloc_args a = read_struct(require_object(args, "buffer_alloc args"));
    Device& device = require_object(context, "context")->device(a.device);
    if (a.bytes > device.max_alloc_bytes())
      throw cagr::plugin::Error(CAGR_ERROR_OUT_OF_MEMORY, "opencl: " + std::to_string(a.bytes) + " bytes exceed " +
                                                              device.name() + "'s largest allocation, " +
                                                              std::to_string(device.max_alloc_bytes()));
    a.buffer = new cagr_buffer{&device, create_buffer(device, a.bytes, CL_MEM_READ_WRITE, nullptr), a.bytes};
    write_struct(args, a);
  });
}

cagr_status buffer_destroy(cagr_context*, cagr_buffer* buffer) {
  return guarded([&] { delete buffer; });
}

void* buffer_host_pointer(cagr_context*, cagr_buffer*) { return nullptr; }

void require_range(const cagr_buffer* buffer, uint64_t offset, uint64_t bytes, const char* which) {
  if (offset > buffer->bytes || bytes > buffer->bytes - offset)
    invalid(std::string("opencl: copy: ") + which + " range [" + std::to_string(offset) + ", " +
            std::to_string(offset + bytes) + ") is outside its buffer of " + std::to_string(buffer->bytes) + " bytes");
}

cagr_status copy(cagr_context*, cagr_copy_args* args) {
  return guarded([&] {
    const cagr_copy_args a = read_struct(require_object(args, "copy args"));
    cagr_stream* stream = require_object(a.stream, "copy stream");
    const cl_command_queue queue = stream->queue.get();
    // Copying nothing succeeds whatever the pointers (an empty batch's tensors have none: OPS.md).
    if (a.bytes == 0) return;
    switch (a.kind) {
      case CAGR_COPY_HOST_TO_DEVICE:
        require_object(a.src_host, "copy source");
        require_range(require_object(a.dst_buffer, "copy destination"), a.dst_offset, a.bytes, "destination");
        check_cl(clEnqueueWriteBuffer(queue, a.dst_buffer->mem.get(), CL_FALSE, a.dst_offset, a.bytes, a.src_host, 0,
                                      nullptr, nullptr),
                 "clEnqueueWriteBuffer");
        return;
      case CAGR_COPY_DEVICE_TO_HOST:
        require_object(a.dst_host, "copy destination");
        require_range(require_object(a.src_buffer, "copy source"), a.src_offset, a.bytes, "source");
        check_cl(clEnqueueReadBuffer(queue, a.src_buffer->mem.get(), CL_FALSE, a.src_offset, a.bytes, a.dst_host, 0,
                                     nullptr, nullptr),
                 "clEnqueueReadBuffer");
        return;
      case CAGR_COPY_DEVICE_TO_DEVICE:
        require_range(require_object(a.src_buffer, "copy source"), a.src_offset, a.bytes, "source");
        require_range(require_object(a.dst_buffer, "copy destination"), a.dst_offset, a.bytes, "destination");
        require_same_context(*a.src_buffer->device, *a.dst_buffer->device, "copy source and destination");
        if (a.src_buffer == a.dst_buffer && a.src_offset < a.dst_offset + a.bytes && a.dst_offset < a.src_offset + a.bytes)
          invalid("opencl: copy: source and destination ranges overlap in one buffer");
        check_cl(clEnqueueCopyBuffer(queue, a.src_buffer->mem.get(), a.dst_buffer->mem.get(), a.src_offset,
                                     a.dst_offset, a.bytes, 0, nullptr, nullptr),
                 "clEnqueueCopyBuffer");
        return;
    }
    invalid("opencl: copy: unknown copy kind " + std::to_string(static_cast<int>(a.kind)));
  });
}

cagr_status stream_create(cagr_context* context, int32_t index, cagr_stream** stream) {
  return guarded([&] {
    require_object(stream, "stream output");
    Device& device = require_object(context, "context")->device(index);
    cl_int status = CL_SUCCESS;
    QueueHandle queue(clCreateCommandQueue(device.context(), device.id(), 0, &status));  // in order
    check_cl(status, "clCreateCommandQueue");
    auto created = std::make_unique<cagr_stream>(
        cagr_stream{&device, std::move(queue), create_buffer(device, sizeof(ErrorRecord), CL_MEM_READ_WRITE, nullptr)});
    zero_error_record(created.get());
    *stream = created.release();
  });
}

cagr_status stream_destroy(cagr_context*, cagr_stream* stream) {
  return guarded([&] {
    if (stream != nullptr) clFinish(stream->queue.get());
    delete stream;
  });
}

// Waits for the stream, then reports the first fault its kernels recorded (and clears it).
cagr_status stream_synchronize(cagr_context*, cagr_stream* stream) {
  return guarded([&] {
    require_object(stream, "stream");
    check_cl(clFinish(stream->queue.get()), "clFinish");
    ErrorRecord record{};
    check_cl(clEnqueueReadBuffer(stream->queue.get(), stream->errors.get(), CL_TRUE, 0, sizeof(record), &record, 0,
                                 nullptr, nullptr),
             "reading the error record");
    if (record.flag != 0) {
      zero_error_record(stream);
      check_cl(clFinish(stream->queue.get()), "clFinish");
      invalid(describe(record));
    }
  });
}

cagr_status event_create(cagr_context* context, int32_t index, cagr_event** event) {
  return guarded([&] {
    Device& device = require_object(context, "context")->device(index);
    *require_object(event, "event output") = new cagr_event{&device, EventHandle()};
  });
}

cagr_status event_destroy(cagr_context*, cagr_event* event) {
  return guarded([&] { delete event; });
}

cagr_status event_record(cagr_context*, cagr_event* event, cagr_stream* stream) {
  return guarded([&] {
    require_object(event, "event");
    require_same_context(*event->device, *require_object(stream, "stream")->device, "event and stream");
    cl_event marker = nullptr;
    check_cl(clEnqueueMarkerWithWaitList(stream->queue.get(), 0, nullptr, &marker), "clEnqueueMarkerWithWaitList");
    event->marker = EventHandle(marker);
  });
}

cagr_status stream_wait_event(cagr_context*, cagr_stream* stream, cagr_event* event) {
  return guarded([&] {
    require_object(stream, "stream");
    require_same_context(*stream->device, *require_object(event, "event")->device, "stream and event");
    if (!event->marker) return;  // never recorded: nothing to wait for
    const cl_event marker = event->marker.get();
    check_cl(clEnqueueBarrierWithWaitList(stream->queue.get(), 1, &marker, nullptr), "clEnqueueBarrierWithWaitList");
  });
}

cagr_status event_synchronize(cagr_context*, cagr_event* event) {
  return guarded([&] {
    if (!require_object(event, "event")->marker) return;
    const cl_event marker = event->marker.get();
    check_cl(clWaitForEvents(1, &marker), "clWaitForEvents");
  });
}

cagr_status kernel_create(cagr_context* context, cagr_kernel_create_args* args) {
  return guarded([&] {
    cagr_kernel_create_args a = read_struct(require_object(args, "kernel_create args"));
    Device& device = require_object(context, "context")->device(a.device);
    const auto [definition, sizes] = checked_op(a.op);
    const auto variants = definition.variants(sizes, device);
    if (a.variant < 0 || a.variant >= static_cast<int32_t>(variants.size()))
      invalid(std::string("opencl: ") + definition.type + " has no variant " + std::to_string(a.variant));

    auto kernel = std::make_unique<cagr_kernel>(&device, cagr::abi::OwnedOpDesc::copy_of(*a.op));
    const size_t num_inputs = kernel->op.inputs().size();
    kernel->constants.resize(num_inputs);
    std::vector<cl_mem> constants(num_inputs, nullptr);
    for (size_t i = 0; i < a.num_constants; ++i) {
      const cagr_constant c = read_struct(require_object(a.constants[i], "constant"));
      if (c.input_index >= num_inputs)
        invalid(std::string("opencl: ") + definition.type + ": constant for input " + std::to_string(c.input_index) +
                ", which does not exist");
      const size_t bytes = cagr::plugin::Shape(&kernel->op.inputs()[c.input_index]).bytes();
      if (c.data == nullptr && bytes > 0)
        invalid(std::string("opencl: ") + definition.type + ": constant input " + std::to_string(c.input_index) + " has no data");
      kernel->constants[c.input_index] = create_buffer(device, bytes, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, c.data);
      constants[c.input_index] = kernel->constants[c.input_index].get();
    }
    kernel->impl = definition.create(device, sizes, variants[static_cast<size_t>(a.variant)].name, constants);
    a.kernel = kernel.release();
    write_struct(args, a);
  });
}

cagr_status kernel_destroy(cagr_context*, cagr_kernel* kernel) {
  return guarded([&] { delete kernel; });
}

// The run's desc of a tensor that was `created` at kernel_create, checked to fit its buffer: shapes
// may change between runs (OPS.md's contract checks how), element types may not.
cagr_tensor_desc run_desc(const cagr_kernel& kernel, const cagr_buffer* buffer, const cagr_tensor_desc* given,
                          const cagr_tensor_desc& created, const std::string& what) {
  const std::string op = kernel.op.type();
  if (buffer == nullptr) invalid("opencl: " + op + ": " + what + " buffer is NULL");
  require_same_context(*kernel.device, *buffer->device, "kernel and buffer");
  const cagr_tensor_desc desc = read_struct(require_object(given, "tensor desc"));
  const cagr::plugin::Shape shape(&desc);
  if (shape.dtype != created.dtype)
    invalid("opencl: " + op + ": " + what + " is " + cagr::plugin::dtype_name(shape.dtype) + ", the kernel was created for " +
            cagr::plugin::dtype_name(created.dtype));
  for (int64_t d : shape.dims)
    if (d < 0) invalid("opencl: " + op + ": " + what + " has a negative dimension " + cagr::contract::dims_string(shape.dims));
  if (shape.bytes() > buffer->bytes)
    invalid("opencl: " + op + ": " + what + " of shape " + cagr::contract::dims_string(shape.dims) + " needs " +
            std::to_string(shape.bytes()) + " bytes, its buffer has " + std::to_string(buffer->bytes));
  return desc;
}

cagr_status kernel_run(cagr_context*, cagr_kernel_run_args* args) {
  return guarded([&] {
    const cagr_kernel_run_args a = read_struct(require_object(args, "kernel_run args"));
    cagr_kernel& kernel = *require_object(a.kernel, "kernel");
    cagr_stream& stream = *require_object(a.stream, "stream");
    require_same_context(*kernel.device, *stream.device, "kernel and stream");
    const std::string op = kernel.op.type();
    cagr::abi::OwnedOpDesc run_op = kernel.op;
    std::vector<cl_mem> inputs(kernel.constants.size()), outputs;
    std::vector<bool> is_constant(kernel.constants.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      is_constant[i] = static_cast<bool>(kernel.constants[i]);
      if (is_constant[i]) inputs[i] = kernel.constants[i].get();
    }
    const std::vector<size_t> slots = cagr::plugin::run_input_slots(is_constant, a, kernel.op.outputs().size(), "opencl: " + op);
    for (size_t r = 0; r < slots.size(); ++r) {
      const size_t i = slots[r];
      run_op.inputs()[i] = run_desc(kernel, a.inputs[r], a.input_descs[r], kernel.op.inputs()[i], "input " + std::to_string(i));
      inputs[i] = a.inputs[r]->mem.get();
    }
    for (size_t o = 0; o < a.num_outputs; ++o) {
      run_op.outputs()[o] = run_desc(kernel, a.outputs[o], a.output_descs[o], kernel.op.outputs()[o], "output " + std::to_string(o));
      outputs.push_back(a.outputs[o]->mem.get());
    }
    const cagr::contract::Checked sizes = cagr::contract::check(cagr::plugin::OpView(&run_op.desc()));
    std::lock_guard lock(kernel.mutex);
    kernel.impl->run(Launch{stream.queue.get(), stream.errors.get(), std::move(inputs), std::move(outputs), sizes});
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
    nullptr,  // stream_begin_capture: OpenCL has no graph capture
    nullptr,  // stream_end_capture
    nullptr,  // graph_launch
    nullptr,  // graph_destroy
    nullptr,  // event_elapsed: its queues are made without profiling; the host synchronises instead
};

}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return cagr::plugin::negotiate_entry(args, &kApi);
}

// plugin_entry.cpp - the CPU plugin's ABI table: one device (the host CPU), buffers that are
// aligned host memory, and streams that run their work at once, in order, on the calling thread.
//
// Why synchronous streams: on the CPU the "device" is the executor's own threads. A queue with a
// worker thread behind it would only add a hand-off per op; parallelism comes from inside the
// kernels (OpenMP over bags, rows, samples). So every stream is always idle, events are complete
// as soon as they are recorded, and there is nothing to capture into a graph (those entries are
// NULL).
#include <omp.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cagr_plugin_support.hpp"
#include "cpu_device.hpp"
#include "cpu_kernel.hpp"
#include "math_precision.hpp"
#include "host_memory.hpp"
#include "op_contract.hpp"
#include "owned_op_desc.hpp"

using cagr::plugin::guarded;
using cagr::plugin::invalid;
using cagr::plugin::OpView;
using cagr::plugin::Shape;
namespace abi = cagr::abi;
namespace contract = cagr::contract;

struct cagr_context {
  cagr::cpu::CpuDevice device;
  int threads = 0;  // option "threads": OpenMP threads for the kernels; 0: OpenMP's default
  cagr_log_fn log = nullptr;
  void* log_user_data = nullptr;
};

struct cagr_buffer {
  cagr::cpu::HostMemory memory;
};

struct cagr_stream {};
// Work has run by the time it is queued, so an event's time is when it was recorded.
struct cagr_event {
  std::chrono::steady_clock::time_point recorded{};
};

struct cagr_kernel {
  cagr::abi::OwnedOpDesc op;                  // as created: the run's descs replace the non-constant ones
  std::vector<cagr::cpu::HostMemory> constants;  // per input; empty when the input comes at run
  std::vector<bool> is_constant;
  std::unique_ptr<cagr::cpu::Kernel> impl;
};

namespace {

void check_device(int32_t device) {
  if (device != 0) invalid("device " + std::to_string(device) + " does not exist (the CPU plugin has one device, 0)");
}

template <class T>
T* non_null(T* p, const char* what) {
  if (p == nullptr) invalid(std::string(what) + " is NULL");
  return p;
}

// Option "threads": a whole number of threads, 1 or more.
int threads_option(const cagr_init_args& a) {
  for (size_t i = 0; i < a.num_options; ++i) {
    const auto o = abi::read_struct(non_null(a.options[i], "option"));
    if (o.key == nullptr || std::strcmp(o.key, "threads") != 0) continue;
    const std::string value = o.value != nullptr ? o.value : "";
    char* end = nullptr;
    const long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || n < 1 || n > 4096)
      invalid("option threads='" + value + "': must be a whole number of threads, 1 to 4096");
    return static_cast<int>(n);
  }
  return 0;
}

// The kernels' thread count is OpenMP's per-thread setting: set it on whichever thread calls.
void use_threads(const cagr_context* context) {
  if (context != nullptr && context->threads > 0 && omp_get_max_threads() != context->threads)
    omp_set_num_threads(context->threads);
}

cagr_status init(cagr_init_args* args) {
  return guarded([&] {
    auto a = abi::read_struct(non_null(args, "init args"));
    auto context = std::make_unique<cagr_context>();
    context->threads = threads_option(a);
    use_threads(context.get());  // the device is measured, and its cache file named, with these threads
    context->log = a.log;
    context->log_user_data = a.log_user_data;
    const cagr_context* c = context.get();
    context->device = cagr::cpu::probe_cpu_device([c](cagr_log_level level, const std::string& message) {
      if (c->log != nullptr) c->log(c->log_user_data, level, message.c_str());
    });
    a.context = context.release();
    abi::write_struct(args, a);
  });
}

cagr_status shutdown(cagr_context* context) {
  return guarded([&] { delete context; });
}

cagr_status get_info(cagr_context*, cagr_plugin_info* info) {
  return guarded([&] {
    auto i = abi::read_struct(non_null(info, "info"));
    i.name = "cpu";
    i.version = "0.1.0";
    i.vendor = "CAGR";
    i.abi_major = CAGR_ABI_VERSION_MAJOR;
    i.abi_minor = CAGR_ABI_VERSION_MINOR;
    abi::write_struct(info, i);
  });
}

cagr_status device_count(cagr_context*, int32_t* count) {
  return guarded([&] { *non_null(count, "count") = 1; });
}

// bf16 dot products (vdpbf16ps) do twice the multiply-adds of an f32 FMA per instruction: the
// peak from the instruction's width, not measured; 0 where the CPU has none.
double bf16_peak_gflops(const cagr::cpu::CpuDevice& d) { return cagr::cpu::has_bf16_dot_products() ? 2 * d.peak_gflops_f32 : 0; }

cagr_status device_properties(cagr_context* context, int32_t device, cagr_device_properties* properties) {
  return guarded([&] {
    check_device(device);
    const auto& d = non_null(context, "context")->device;
    auto p = abi::read_struct(non_null(properties, "properties"));
    p.name = d.name.c_str();
    p.kind = CAGR_DEVICE_CPU;
    p.compute_units = d.cores;
    p.peak_gflops_f32 = d.peak_gflops_f32;
    p.peak_gflops_f16 = bf16_peak_gflops(d);
    p.memory_bandwidth_gbps = d.bandwidth_gbps;
    p.memory_bytes = d.memory_bytes;
    p.last_level_cache_bytes = d.llc_bytes;
    p.numa_node = d.numa_node;
    p.pci_bus_id = "";
    p.host_accessible = 1;
    abi::write_struct(properties, p);
  });
}

std::string& query_reason() {
  thread_local std::string reason;
  return reason;
}

// How many of the op's variants its allowed math precision admits (cpu_kernel.hpp: f32 ones first).
size_t offered(const contract::Checked& checked, const cagr_op_desc& op) {
  return cagr::cpu::offered_variants(cagr::cpu::op_impl(checked), cagr::abi::allowed_math_precision(op));
}

cagr_status op_query(cagr_context*, cagr_op_query_args* args) {
  return guarded([&] {
    auto q = abi::read_struct(non_null(args, "op_query args"));
    check_device(q.device);
    try {
      const auto checked = contract::check(OpView(non_null(q.op, "op")));
      q.supported = 1;
      q.num_variants = static_cast<int32_t>(offered(checked, *q.op));
      q.reason = nullptr;
    } catch (const cagr::plugin::Error& e) {
      query_reason() = e.what();
      q.supported = 0;
      q.num_variants = 0;
      q.reason = query_reason().c_str();
    }
    abi::write_struct(args, q);
  });
}

cagr_status op_variant(cagr_context* context, cagr_variant_args* args) {
  return guarded([&] {
    auto v = abi::read_struct(non_null(args, "op_variant args"));
    check_device(v.device);
    const auto checked = contract::check(OpView(non_null(v.op, "op")));
    const auto& impl = cagr::cpu::op_impl(checked);
    const size_t count = offered(checked, *v.op);
    if (v.variant < 0 || static_cast<size_t>(v.variant) >= count)
      invalid("variant " + std::to_string(v.variant) + " out of range (" + std::to_string(count) + " variants)");
    const auto& variant = impl.variants[v.variant];
    const auto cost = impl.cost(checked);
    // Roofline: the slower of compute and memory, on one thread's share when the variant uses one.
    const auto& d = non_null(context, "context")->device;
    const double share = variant.parallel ? 1.0 : 1.0 / d.threads;
    const double peak = variant.precision == CAGR_MATH_BF16 ? bf16_peak_gflops(d) : d.peak_gflops_f32;
    v.name = variant.name;
    v.flops = cost.flops;
    v.bytes = cost.bytes;
    v.math_precision = variant.precision;
    v.estimated_ns = (peak > 0 && d.bandwidth_gbps > 0)
                         ? std::max(cost.flops / (peak * share), cost.bytes / (d.bandwidth_gbps * share)) +
                               (variant.parallel ? cagr::cpu::kParallelRegionNs : 0.0)
                         : 0;
    abi::write_struct(args, v);
  });
}

cagr_status buffer_alloc(cagr_context*, cagr_buffer_alloc_args* args) {
  return guarded([&] {
    auto a = abi::read_struct(non_null(args, "buffer_alloc args"));
    check_device(a.device);
    auto buffer = std::make_unique<cagr_buffer>();
    buffer->memory = cagr::cpu::HostMemory(a.bytes);
    a.buffer = buffer.release();
    abi::write_struct(args, a);
  });
}

cagr_status buffer_destroy(cagr_context*, cagr_buffer* buffer) {
  return guarded([&] { delete buffer; });
}

void* buffer_host_pointer(cagr_context*, cagr_buffer* buffer) { return buffer != nullptr ? buffer->memory.data() : nullptr; }

std::byte* range(cagr_buffer* buffer, uint64_t offset, uint64_t bytes, const char* what) {
  non_null(buffer, what);
  const uint64_t size = buffer->memory.size();
  if (offset > size || bytes > size - offset)
    invalid(std::string(what) + ": " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
            " overrun a buffer of " + std::to_string(size));
  return buffer->memory.data() + offset;
}

cagr_status copy(cagr_context*, cagr_copy_args* args) {
  return guarded([&] {
    const auto c = abi::read_struct(non_null(args, "copy args"));
    if (c.bytes == 0) return;
    switch (c.kind) {
      case CAGR_COPY_HOST_TO_DEVICE:
        std::memcpy(range(c.dst_buffer, c.dst_offset, c.bytes, "copy destination"), non_null(c.src_host, "src_host"), c.bytes);
        break;
      case CAGR_COPY_DEVICE_TO_HOST:
        std::memcpy(non_null(c.dst_host, "dst_host"), range(c.src_buffer, c.src_offset, c.bytes, "copy source"), c.bytes);
        break;
      case CAGR_COPY_DEVICE_TO_DEVICE:
        std::memmove(range(c.dst_buffer, c.dst_offset, c.bytes, "copy destination"),
                     range(c.src_buffer, c.src_offset, c.bytes, "copy source"), c.bytes);
        break;
      default:
        invalid("copy kind " + std::to_string(static_cast<int>(c.kind)) + " is not a cagr_copy_kind");
    }
  });
}

cagr_status stream_create(cagr_context*, int32_t device, cagr_stream** stream) {
  return guarded([&] {
    check_device(device);
    *non_null(stream, "stream") = new cagr_stream();
  });
}
cagr_status stream_destroy(cagr_context*, cagr_stream* stream) {
  return guarded([&] { delete stream; });
}
cagr_status stream_synchronize(cagr_context*, cagr_stream* stream) {
  return guarded([&] { non_null(stream, "stream"); });  // work ran when it was queued
}
cagr_status event_create(cagr_context*, int32_t device, cagr_event** event) {
  return guarded([&] {
    check_device(device);
    *non_null(event, "event") = new cagr_event();
  });
}
cagr_status event_destroy(cagr_context*, cagr_event* event) {
  return guarded([&] { delete event; });
}
cagr_status event_record(cagr_context*, cagr_event* event, cagr_stream* stream) {
  return guarded([&] {
    non_null(stream, "stream");
    non_null(event, "event")->recorded = std::chrono::steady_clock::now();
  });
}
cagr_status event_elapsed(cagr_context*, cagr_event* start, cagr_event* end, double* microseconds) {
  return guarded([&] {
    *non_null(microseconds, "microseconds") = std::chrono::duration<double, std::micro>(
        non_null(end, "end event")->recorded - non_null(start, "start event")->recorded).count();
  });
}
cagr_status stream_wait_event(cagr_context*, cagr_stream* stream, cagr_event* event) {
  return guarded([&] {
    non_null(event, "event");
    non_null(stream, "stream");
  });
}
cagr_status event_synchronize(cagr_context*, cagr_event* event) {
  return guarded([&] { non_null(event, "event"); });
}

cagr_status kernel_create(cagr_context* context, cagr_kernel_create_args* args) {
  return guarded([&] {
    use_threads(context);
    auto a = abi::read_struct(non_null(args, "kernel_create args"));
    check_device(a.device);
    const OpView view(non_null(a.op, "op"));
    const auto checked = contract::check(view);
    const auto& impl = cagr::cpu::op_impl(checked);
    const size_t count = offered(checked, *a.op);
    if (a.variant < 0 || static_cast<size_t>(a.variant) >= count)
      invalid(view.type() + ": variant " + std::to_string(a.variant) + " out of range (" + std::to_string(count) + " variants)");

    auto kernel = std::make_unique<cagr_kernel>(cagr_kernel{cagr::abi::OwnedOpDesc::copy_of(*a.op), {}, {}, nullptr});
    kernel->constants.resize(view.num_inputs());
    kernel->is_constant.assign(view.num_inputs(), false);
    for (size_t c = 0; c < a.num_constants; ++c) {
      const auto k = abi::read_struct(non_null(a.constants[c], "constant"));
      if (k.input_index >= view.num_inputs())
        invalid(view.type() + ": constant for input " + std::to_string(k.input_index) + " of " +
                std::to_string(view.num_inputs()));
      const size_t bytes = view.input(k.input_index).bytes();
      const auto* data = static_cast<const std::byte*>(bytes > 0 ? non_null(k.data, "constant data") : k.data);
      kernel->constants[k.input_index] = cagr::cpu::HostMemory(bytes);
      if (bytes > 0) std::memcpy(kernel->constants[k.input_index].data(), data, bytes);
      kernel->is_constant[k.input_index] = true;
    }
    std::vector<const void*> constant_ptrs;
    for (size_t i = 0; i < view.num_inputs(); ++i)
      constant_ptrs.push_back(kernel->is_constant[i] ? kernel->constants[i].data() : nullptr);
    kernel->impl = impl.variants[a.variant].create(cagr::cpu::KernelInit{checked, constant_ptrs});
    a.kernel = kernel.release();
    abi::write_struct(args, a);
  });
}

cagr_status kernel_destroy(cagr_context*, cagr_kernel* kernel) {
  return guarded([&] { delete kernel; });
}

// A run's desc may differ from the created one only in the dims that vary per run: the first dim
// (batch, number of indices), for gather the whole index shape, and for the general tensor ops
// (stateless loops over the run's checked shapes) any dim.
void check_run_desc(const cagr_kernel& k, const cagr_tensor_desc& created, const cagr_tensor_desc& run,
                    const std::string& what, bool any_leading_dims) {
  const std::string op = k.op.type();
  if (run.dtype != created.dtype)
    invalid(op + ": " + what + " is " + abi::dtype_name(run.dtype) + " at run, " + abi::dtype_name(created.dtype) + " at kernel_create");
  const Shape c(&created), r(&run);
  if (any_leading_dims) return;
  bool same = r.rank() == c.rank();
  for (int d = 1; same && d < r.rank(); ++d) same = r.dims[d] == c.dims[d];
  if (!same)
    invalid(op + ": " + what + " has shape " + contract::dims_string(r.dims) + " at run, " + contract::dims_string(c.dims) +
            " at kernel_create; only the first dim may change");
}

cagr_status kernel_run(cagr_context* context, cagr_kernel_run_args* args) {
  return guarded([&] {
    use_threads(context);
    const auto a = abi::read_struct(non_null(args, "kernel_run args"));
    cagr_kernel& k = *non_null(a.kernel, "kernel");
    cagr::abi::OwnedOpDesc run_op = k.op;
    const std::string op = run_op.type();
    const bool gather = op == "gather";
    const bool any_dims = contract::is_tensor_op(op);
    std::vector<const void*> inputs(k.is_constant.size());
    for (size_t i = 0; i < inputs.size(); ++i)
      if (k.is_constant[i]) inputs[i] = k.constants[i].data();
    const std::vector<size_t> slots = cagr::plugin::run_input_slots(k.is_constant, a, run_op.outputs().size(), op);
    for (size_t r = 0; r < slots.size(); ++r) {
      const size_t i = slots[r];
      const auto desc = abi::read_struct(non_null(a.input_descs[r], "input desc"));
      check_run_desc(k, run_op.inputs()[i], desc, "input " + std::to_string(i), any_dims || (gather && i == 1));
      run_op.inputs()[i] = desc;
      inputs[i] = range(a.inputs[r], 0, Shape(&desc).bytes(), ("input " + std::to_string(i)).c_str());
    }
    std::vector<void*> outputs;
    for (size_t o = 0; o < a.num_outputs; ++o) {
      const auto desc = abi::read_struct(non_null(a.output_descs[o], "output desc"));
      check_run_desc(k, run_op.outputs()[o], desc, "output " + std::to_string(o), any_dims || gather);
      run_op.outputs()[o] = desc;
      outputs.push_back(range(a.outputs[o], 0, Shape(&desc).bytes(), ("output " + std::to_string(o)).c_str()));
    }
    const auto checked = contract::check(OpView(&run_op.desc()));
    k.impl->run(checked, inputs.data(), outputs.data());
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
    nullptr,  // stream_begin_capture: streams run work at once, there is nothing to record
    nullptr,  // stream_end_capture
    nullptr,  // graph_launch
    nullptr,  // graph_destroy
    event_elapsed,
};

}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return cagr::plugin::negotiate_entry(args, &kApi);
}

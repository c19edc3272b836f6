// minimal_plugin.hpp - a complete, small plugin for the loader's and the ABI's tests: one device of
// plain host memory and one op, relu. Each test plugin is this table with at most one thing changed
// (a crashing init, a missing entry, an older struct...), so it shows exactly one behaviour.
//
// Options: "device_name" becomes the device's name, so a test can see that options reach init.
// The plugin's name is TEST_PLUGIN_NAME, set by the build to the plugin file's name.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cagr_plugin.h"
#include "cagr_plugin_support.hpp"

#ifndef TEST_PLUGIN_NAME
#error "TEST_PLUGIN_NAME must name the plugin"
#endif

namespace test_plugin {

using cagr::plugin::guarded;
using cagr::plugin::invalid;

struct Context {
  std::string device_name = "test device";
  cagr_log_fn log = nullptr;
  void* log_user_data = nullptr;
};
struct Buffer {
  std::vector<unsigned char> bytes;
};
struct Stream {};
struct Event {};
struct Kernel {};

inline Context* context_of(cagr_context* c) {
  if (c == nullptr) invalid("null context");
  return reinterpret_cast<Context*>(c);
}
inline Buffer* buffer_of(cagr_buffer* b) {
  if (b == nullptr) invalid("null buffer");
  return reinterpret_cast<Buffer*>(b);
}
inline void check_device(int32_t device) {
  if (device != 0) invalid("device " + std::to_string(device) + " out of range (one device)");
}

inline cagr_status init(cagr_init_args* args) {
  return guarded([&] {
    cagr_init_args a = cagr::abi::read_struct(args);
    auto* ctx = new Context();
    for (size_t i = 0; i < a.num_options; ++i) {
      const cagr_option o = cagr::abi::read_struct(a.options[i]);
      if (o.key != nullptr && std::string(o.key) == "device_name" && o.value != nullptr) ctx->device_name = o.value;
    }
    ctx->log = a.log;
    ctx->log_user_data = a.log_user_data;
    if (ctx->log != nullptr) {
      const std::string message = "initialised with " + std::to_string(a.num_options) + " option(s)";
      ctx->log(ctx->log_user_data, CAGR_LOG_INFO, message.c_str());
    }
    a.context = reinterpret_cast<cagr_context*>(ctx);
    cagr::abi::write_struct(args, a);
  });
}

inline cagr_status shutdown(cagr_context* c) {
  return guarded([&] { delete context_of(c); });
}

inline cagr_status get_info(cagr_context*, cagr_plugin_info* info) {
  return guarded([&] {
    auto i = cagr::abi::make_struct<cagr_plugin_info>();
    i.name = TEST_PLUGIN_NAME;
    i.version = "1.2.3";
    i.vendor = "CAGR tests";
    i.abi_major = CAGR_ABI_VERSION_MAJOR;
    i.abi_minor = CAGR_ABI_VERSION_MINOR;
    cagr::abi::write_struct(info, i);
  });
}

inline cagr_status device_count(cagr_context*, int32_t* count) {
  return guarded([&] { *count = 1; });
}

// The device's properties as this plugin knows them; entries that write them differently reuse it.
inline cagr_device_properties properties(cagr_context* c) {
  auto p = cagr::abi::make_struct<cagr_device_properties>();
  p.name = context_of(c)->device_name.c_str();
  p.kind = CAGR_DEVICE_CPU;
  p.compute_units = 3;
  p.peak_gflops_f32 = 12.5;
  p.peak_gflops_f16 = 0;
  p.memory_bandwidth_gbps = 7.25;
  p.memory_bytes = uint64_t{3} << 30;
  p.last_level_cache_bytes = uint64_t{6} << 20;
  p.numa_node = 0;
  p.pci_bus_id = "";
  p.host_accessible = 1;
  return p;
}

inline cagr_status device_properties(cagr_context* c, int32_t device, cagr_device_properties* out) {
  return guarded([&] {
    check_device(device);
    cagr::abi::write_struct(out, properties(c));
  });
}

// relu on f32 tensors of equal shape; anything else is refused with a reason.
inline const char* relu_refusal(const cagr_op_desc* op) {
  cagr::plugin::OpView v(op);
  if (v.type() != "relu") return "only relu";
  if (v.num_inputs() != 1 || v.num_outputs() != 1) return "relu takes one input and one output";
  if (v.input(0).dtype != CAGR_DTYPE_F32 || v.output(0).dtype != CAGR_DTYPE_F32) return "relu here is f32 only";
  if (v.input(0).dims != v.output(0).dims) return "relu output shape differs from input shape";
  return nullptr;
}

inline cagr_status op_query(cagr_context*, cagr_op_query_args* args) {
  return guarded([&] {
    cagr_op_query_args q = cagr::abi::read_struct(args);
    check_device(q.device);
    q.reason = relu_refusal(q.op);
    q.supported = q.reason == nullptr;
    q.num_variants = q.supported ? 1 : 0;
    cagr::abi::write_struct(args, q);
  });
}

inline cagr_status op_variant(cagr_context*, cagr_variant_args* args) {
  return guarded([&] {
    cagr_variant_args v = cagr::abi::read_struct(args);
    check_device(v.device);
    if (v.variant != 0) invalid("variant " + std::to_string(v.variant) + " out of range (one variant)");
    const double n = static_cast<double>(cagr::plugin::OpView(v.op).input(0).numel());
    v.name = "loop";
    v.flops = n;
    v.bytes = 8 * n;
    v.estimated_ns = n;
    cagr::abi::write_struct(args, v);
  });
}

inline cagr_status buffer_alloc(cagr_context*, cagr_buffer_alloc_args* args) {
  return guarded([&] {
    cagr_buffer_alloc_args a = cagr::abi::read_struct(args);
    check_device(a.device);
    auto* b = new Buffer();
    b->bytes.resize(a.bytes);
    a.buffer = reinterpret_cast<cagr_buffer*>(b);
    cagr::abi::write_struct(args, a);
  });
}

inline cagr_status buffer_destroy(cagr_context*, cagr_buffer* b) {
  return guarded([&] { delete buffer_of(b); });
}

inline void* buffer_host_pointer(cagr_context*, cagr_buffer* b) {
  return b == nullptr ? nullptr : reinterpret_cast<Buffer*>(b)->bytes.data();
}

inline unsigned char* range(cagr_buffer* b, uint64_t offset, uint64_t bytes) {
  Buffer* buf = buffer_of(b);
  if (offset > buf->bytes.size() || bytes > buf->bytes.size() - offset) invalid("copy outside the buffer");
  return buf->bytes.data() + offset;
}

inline cagr_status copy(cagr_context*, cagr_copy_args* args) {
  return guarded([&] {
    const cagr_copy_args c = cagr::abi::read_struct(args);
    if (c.bytes == 0) return;
    switch (c.kind) {
      case CAGR_COPY_HOST_TO_DEVICE: std::memcpy(range(c.dst_buffer, c.dst_offset, c.bytes), c.src_host, c.bytes); break;
      case CAGR_COPY_DEVICE_TO_HOST: std::memcpy(c.dst_host, range(c.src_buffer, c.src_offset, c.bytes), c.bytes); break;
      case CAGR_COPY_DEVICE_TO_DEVICE:
        std::memmove(range(c.dst_buffer, c.dst_offset, c.bytes), range(c.src_buffer, c.src_offset, c.bytes), c.bytes);
        break;
      default: invalid("unknown copy kind " + std::to_string(c.kind));
    }
  });
}

// Work runs at once, so streams and events only have to exist.
inline cagr_status stream_create(cagr_context*, int32_t device, cagr_stream** s) {
  return guarded([&] {
    check_device(device);
    *s = reinterpret_cast<cagr_stream*>(new Stream());
  });
}
inline cagr_status stream_destroy(cagr_context*, cagr_stream* s) {
  return guarded([&] { delete reinterpret_cast<Stream*>(s); });
}
inline cagr_status stream_synchronize(cagr_context*, cagr_stream*) { return CAGR_OK; }
inline cagr_status event_create(cagr_context*, int32_t device, cagr_event** e) {
  return guarded([&] {
    check_device(device);
    *e = reinterpret_cast<cagr_event*>(new Event());
  });
}
inline cagr_status event_destroy(cagr_context*, cagr_event* e) {
  return guarded([&] { delete reinterpret_cast<Event*>(e); });
}
inline cagr_status event_record(cagr_context*, cagr_event*, cagr_stream*) { return CAGR_OK; }
inline cagr_status stream_wait_event(cagr_context*, cagr_stream*, cagr_event*) { return CAGR_OK; }
inline cagr_status event_synchronize(cagr_context*, cagr_event*) { return CAGR_OK; }

inline cagr_status kernel_create(cagr_context*, cagr_kernel_create_args* args) {
  return guarded([&] {
    cagr_kernel_create_args k = cagr::abi::read_struct(args);
    check_device(k.device);
    if (const char* why = relu_refusal(k.op)) invalid(why);
    if (k.variant != 0) invalid("variant " + std::to_string(k.variant) + " out of range (one variant)");
    if (k.num_constants != 0) invalid("relu takes no constants");
    k.kernel = reinterpret_cast<cagr_kernel*>(new Kernel());
    cagr::abi::write_struct(args, k);
  });
}
inline cagr_status kernel_destroy(cagr_context*, cagr_kernel* k) {
  return guarded([&] { delete reinterpret_cast<Kernel*>(k); });
}

inline cagr_status kernel_run(cagr_context*, cagr_kernel_run_args* args) {
  return guarded([&] {
    const cagr_kernel_run_args r = cagr::abi::read_struct(args);
    if (r.kernel == nullptr) invalid("relu: null kernel");
    if (r.num_inputs != 1 || r.num_outputs != 1 || r.inputs == nullptr || r.outputs == nullptr ||
        r.input_descs == nullptr || r.output_descs == nullptr)
      invalid("relu: expects one input and one output buffer with descriptions");
    const cagr::plugin::Shape in(r.input_descs[0]);
    const cagr::plugin::Shape out(r.output_descs[0]);
    if (in.dims != out.dims || in.dtype != CAGR_DTYPE_F32 || out.dtype != CAGR_DTYPE_F32)
      invalid("relu: run shapes differ or are not f32");
    const float* x = reinterpret_cast<const float*>(range(r.inputs[0], 0, in.bytes()));
    float* y = reinterpret_cast<float*>(range(r.outputs[0], 0, out.bytes()));
    for (int64_t i = 0; i < in.numel(); ++i) y[i] = std::max(x[i], 0.0f);
  });
}

// The full 1.0 table; test plugins copy it and change what they are about.
inline cagr_plugin_api api() {
  auto a = cagr::abi::make_struct<cagr_plugin_api>();
  a.abi_major = CAGR_ABI_VERSION_MAJOR;
  a.abi_minor = CAGR_ABI_VERSION_MINOR;
  a.last_error_message = cagr::plugin::last_error_message;
  a.init = init;
  a.shutdown = shutdown;
  a.get_info = get_info;
  a.device_count = device_count;
  a.device_properties = device_properties;
  a.op_query = op_query;
  a.op_variant = op_variant;
  a.buffer_alloc = buffer_alloc;
  a.buffer_destroy = buffer_destroy;
  a.buffer_host_pointer = buffer_host_pointer;
  a.copy = copy;
  a.stream_create = stream_create;
  a.stream_destroy = stream_destroy;
  a.stream_synchronize = stream_synchronize;
  a.event_create = event_create;
  a.event_destroy = event_destroy;
  a.event_record = event_record;
  a.stream_wait_event = stream_wait_event;
  a.event_synchronize = event_synchronize;
  a.kernel_create = kernel_create;
  a.kernel_destroy = kernel_destroy;
  a.kernel_run = kernel_run;
  return a;
}

// Answers the host's entry call with the full table as `change` alters it (once per plugin).
template <class Change>
cagr_status negotiate_changed(cagr_plugin_entry_args* args, Change change) {
  static const cagr_plugin_api table = [&] {
    cagr_plugin_api a = api();
    change(a);
    return a;
  }();
  return cagr::plugin::negotiate_entry(args, &table);
}

}  // namespace test_plugin

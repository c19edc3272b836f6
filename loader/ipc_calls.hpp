// ipc_calls.hpp - what the host asks a plugin's worker and how each answer comes back
// (isolated_plugin.cpp is the host's side, plugin_worker.cpp the worker's).
//
// A request is a Call, then its arguments. The worker answers with Frame::reply: the plugin's
// status, its outputs and, where the status is not OK, the plugin's error message. Before the
// reply it may send Frame::log messages: what the plugin logged meanwhile, from any of its threads.
// Handles (context, buffers, streams, events, kernels, graphs) travel as the worker's pointer
// values: the host never dereferences them, it only hands them back.
#pragma once

#include <cstdint>

#include "cagr_plugin.h"
#include "cagr_struct.hpp"
#include "ipc_message.hpp"
#include "math_precision.hpp"
#include "owned_op_desc.hpp"

namespace cagr::ipc {

enum class Call : uint32_t {
  open,          // path, host ABI -> entry status, versions, refusal, which entries the table has
  map_shared,    // size: the shared area was grown to it
  init,          // options -> context
  shutdown,
  get_info,
  device_count,
  device_properties,
  op_query,
  op_variant,
  buffer_alloc,
  buffer_destroy,
  copy,          // host data in, or out, through the shared area's first bytes
  stream_create,
  stream_destroy,
  stream_synchronize,
  event_create,
  event_destroy,
  event_record,
  stream_wait_event,
  event_synchronize,
  kernel_create,  // constants in the shared area
  kernel_destroy,
  kernel_run,
  stream_begin_capture,
  stream_end_capture,
  graph_launch,
  graph_destroy,
  event_elapsed,
};

// The entry point a call is made for, as the host's messages name it.
inline const char* entry_name(Call call) {
  switch (call) {
    case Call::open: return CAGR_PLUGIN_ENTRY_SYMBOL;
    case Call::map_shared: return "map_shared";
    case Call::init: return "init";
    case Call::shutdown: return "shutdown";
    case Call::get_info: return "get_info";
    case Call::device_count: return "device_count";
    case Call::device_properties: return "device_properties";
    case Call::op_query: return "op_query";
    case Call::op_variant: return "op_variant";
    case Call::buffer_alloc: return "buffer_alloc";
    case Call::buffer_destroy: return "buffer_destroy";
    case Call::copy: return "copy";
    case Call::stream_create: return "stream_create";
    case Call::stream_destroy: return "stream_destroy";
    case Call::stream_synchronize: return "stream_synchronize";
    case Call::event_create: return "event_create";
    case Call::event_destroy: return "event_destroy";
    case Call::event_record: return "event_record";
    case Call::stream_wait_event: return "stream_wait_event";
    case Call::event_synchronize: return "event_synchronize";
    case Call::kernel_create: return "kernel_create";
    case Call::kernel_destroy: return "kernel_destroy";
    case Call::kernel_run: return "kernel_run";
    case Call::stream_begin_capture: return "stream_begin_capture";
    case Call::stream_end_capture: return "stream_end_capture";
    case Call::graph_launch: return "graph_launch";
    case Call::graph_destroy: return "graph_destroy";
    case Call::event_elapsed: return "event_elapsed";
  }
  return "an unknown entry";
}

enum class Frame : uint32_t { reply, log };

// The optional entries of a table, as bits of the open call's answer.
enum OptionalEntry : uint32_t {
  kCaptureEntries = 1u << 0,  // stream_begin_capture, stream_end_capture, graph_launch, graph_destroy
  kEventElapsed = 1u << 1,
};

template <class Handle>
uint64_t handle_value(Handle* handle) {
  return reinterpret_cast<uintptr_t>(handle);
}
template <class Handle>
Handle* handle_of(uint64_t value) {
  return reinterpret_cast<Handle*>(static_cast<uintptr_t>(value));
}

inline void put_tensor_desc(MessageWriter& w, const cagr_tensor_desc* t) {
  const cagr_tensor_desc d = abi::read_struct(t);
  w.put(d.dtype).put(d.rank);
  for (int64_t dim : d.dims) w.put(dim);
}

inline cagr_tensor_desc get_tensor_desc(MessageReader& r) {
  auto d = abi::make_struct<cagr_tensor_desc>();
  d.dtype = r.get<cagr_dtype>();
  d.rank = r.get<int32_t>();
  for (int64_t& dim : d.dims) dim = r.get<int64_t>();
  return d;
}

// An op description as the host got it (read within its struct sizes), with the extensions of its
// chain that the ABI defines (1.2: the math precision allowed).
inline void put_op_desc(MessageWriter& w, const cagr_op_desc* op) {
  const cagr_op_desc d = abi::read_struct(op);
  w.put<int32_t>(abi::allowed_math_precision(*op));
  w.put_string(d.op_type);
  w.put<uint64_t>(d.num_inputs);
  for (size_t i = 0; i < d.num_inputs; ++i) put_tensor_desc(w, d.inputs[i]);
  w.put<uint64_t>(d.num_outputs);
  for (size_t i = 0; i < d.num_outputs; ++i) put_tensor_desc(w, d.outputs[i]);
  uint64_t attrs = 0;
  for (size_t i = 0; i < d.num_attrs; ++i) attrs += d.attrs[i] != nullptr;
  w.put(attrs);
  for (size_t i = 0; i < d.num_attrs; ++i) {
    if (d.attrs[i] == nullptr) continue;
    const cagr_attr a = abi::read_struct(d.attrs[i]);
    w.put_string(a.name ? a.name : "").put(a.kind).put(a.i).put(a.f).put_string(a.s ? a.s : "");
    const bool ints = a.kind == CAGR_ATTR_INTS && a.ints != nullptr;
    const bool floats = a.kind == CAGR_ATTR_FLOATS && a.floats != nullptr;
    w.put_bytes(a.ints, ints ? a.count * sizeof(int64_t) : 0).put_bytes(a.floats, floats ? a.count * sizeof(double) : 0);
  }
}

inline abi::OwnedOpDesc get_op_desc(MessageReader& r) {
  const auto precision = static_cast<cagr_math_precision>(r.get<int32_t>());
  const std::optional<std::string> type = r.get_optional_string();
  abi::OwnedOpDesc op(type.value_or(""));
  op.allow_math_precision(precision);
  for (auto n = r.get<uint64_t>(); n > 0; --n) op.inputs().push_back(get_tensor_desc(r));
  for (auto n = r.get<uint64_t>(); n > 0; --n) op.outputs().push_back(get_tensor_desc(r));
  for (auto n = r.get<uint64_t>(); n > 0; --n) {
    const std::string name = r.get_optional_string().value_or("");
    const auto kind = r.get<cagr_attr_kind>();
    const auto i = r.get<int64_t>();
    const auto f = r.get<double>();
    const std::string s = r.get_optional_string().value_or("");
    const std::string ints = r.get_string();
    const std::string floats = r.get_string();
    switch (kind) {
      case CAGR_ATTR_INT: op.attr(name, i); break;
      case CAGR_ATTR_FLOAT: op.attr(name, f); break;
      case CAGR_ATTR_STRING: op.attr(name, s); break;
      case CAGR_ATTR_INTS: {
        std::vector<int64_t> v(ints.size() / sizeof(int64_t));
        if (!v.empty()) std::memcpy(v.data(), ints.data(), v.size() * sizeof(int64_t));
        op.attr(name, v);
        break;
      }
      case CAGR_ATTR_FLOATS: {
        std::vector<double> v(floats.size() / sizeof(double));
        if (!v.empty()) std::memcpy(v.data(), floats.data(), v.size() * sizeof(double));
        op.attr(name, v);
        break;
      }
    }
  }
  return op;
}

}  // namespace cagr::ipc

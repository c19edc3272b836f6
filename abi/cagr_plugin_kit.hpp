// cagr_plugin_kit.hpp - a plugin written as a C++ class of hooks; the kit makes its table of entry
// points (abi/cagr_plugin.h) and does, once for every plugin, what each entry point must do before
// the plugin's own code runs: read the host's structs within their struct_size and write results
// back within it, check handles, device indices, variant indices, constants, copy ranges and every
// argument of kernel_run, answer op_query and op_variant from one list of variants, keep the
// strings the host reads until its next call, and turn every exception into a status and message.
//
// A plugin defines its opaque objects (struct cagr_context, cagr_buffer, cagr_stream, cagr_event and,
// with capture, cagr_graph; cagr_plugin_host_device.hpp has ready ones for host memory), a class with
// the hooks below as static functions, and exports the entry with CAGR_PLUGIN_KIT_ENTRY(Class).
// Hooks throw cagr::plugin::Error (invalid(), unsupported()) for anything they refuse.
//
//   struct P {
//     static constexpr kit::Identity kIdentity = {"name", "version", "vendor"};  // get_info
//     using Kernel = ...;  // the plugin's prepared op
//     static cagr_context* init(const kit::InitArgs&);
//     static int32_t device_count(cagr_context&);
//     static void device_properties(cagr_context&, int32_t device, cagr_device_properties&);
//     static kit::Offer offer(cagr_context&, int32_t device, const OpView&);
//     static std::unique_ptr<Kernel> create_kernel(cagr_context&, const kit::KernelSetup&);
//     static void run_kernel(cagr_context&, Kernel&, const kit::Run&);
//     static cagr_buffer* buffer_alloc(cagr_context&, int32_t device, uint64_t bytes);
//     static uint64_t buffer_bytes(const cagr_buffer&);
//     static void* buffer_host_pointer(cagr_buffer&);  // nullptr unless host_accessible
//     static void copy(cagr_context&, cagr_stream&, const cagr_copy_args&);  // pointers and ranges checked
//     static cagr_stream* stream_create(cagr_context&, int32_t device);
//     static void stream_synchronize(cagr_context&, cagr_stream&);
//     static cagr_event* event_create(cagr_context&, int32_t device);
//     static void event_record(cagr_context&, cagr_event&, cagr_stream&);
//     static void stream_wait_event(cagr_context&, cagr_stream&, cagr_event&);
//     static void event_synchronize(cagr_context&, cagr_event&);
//     template <class T> static void destroy(T* object);  // context, buffer, stream, event, graph
//     // Optional (the table's entry stays NULL without them):
//     static double event_elapsed(cagr_context&, cagr_event& start, cagr_event& end);  // microseconds
//     static std::vector<std::pair<std::string, double>> kernel_statistics(cagr_context&, Kernel&);  // ABI 1.4
//     static void begin_capture(cagr_context&, cagr_stream&);
//     static cagr_graph* end_capture(cagr_context&, cagr_stream&);
//     static void graph_launch(cagr_context&, cagr_graph&, cagr_stream&);
//   };
//
// Header-only C++17; depends on abi/ and, for the per-run shape rule of OPS.md, the op contract
// library (cagr_op_contract, installed as cagr::op_contract).
#ifndef CAGR_PLUGIN_KIT_HPP_
#define CAGR_PLUGIN_KIT_HPP_

#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cagr_plugin.h"
#include "cagr_plugin_support.hpp"
#include "cagr_struct.hpp"
#include "op_contract.hpp"
#include "owned_op_desc.hpp"

namespace cagr::plugin::kit {

// What get_info says: a short unique name ("cpu"), the plugin's own version, its vendor.
struct Identity {
  const char* name;
  const char* version;
  const char* vendor;
};

// One implementation variant of an op on a device, with the cost hint the host places by.
struct Variant {
  std::string name;
  double flops = 0;         // of one run at the description's shapes
  double bytes = 0;         // moved to and from device memory by that run
  double estimated_ns = 0;  // the plugin's estimate of one run; 0 when it has none
  cagr_math_precision precision = CAGR_MATH_F32;  // what it computes in (ABI 1.2)
};

// What a device offers for an op. Variant indices must mean the same at op_variant and
// kernel_create, so a plugin returns them in the same order every time for the same description.
struct Offer {
  std::vector<Variant> variants;  // empty: the op is refused on this device, `note` saying why
  std::string note;               // why the op is refused, or why a variant is missing; may be empty
};

// The host's callback, callable from any thread; does nothing when the host gave none.
struct Log {
  cagr_log_fn fn = nullptr;
  void* user_data = nullptr;
  void operator()(cagr_log_level level, const std::string& message) const {
    if (fn != nullptr) fn(user_data, level, message.c_str());
  }
};

// init's arguments, read.
struct InitArgs {
  std::vector<std::pair<std::string, std::string>> options;  // key, value, in the host's order
  Log log;

  // The value of option `key`, if given.
  std::optional<std::string> option(const std::string& key) const {
    for (const auto& [k, v] : options)
      if (k == key) return v;
    return std::nullopt;
  }
};

// kernel_create's arguments, checked: the device exists, `variant` indexes the device's offer for
// `op`, every constant names an input of the op once and has data for its bytes.
struct KernelSetup {
  int32_t device;
  const OpView& op;
  int32_t variant;
  const Variant& chosen;                // offer.variants[variant]
  std::vector<const void*> constants;   // per op input: the host's data (copy it, or share a copy: shared_constant), or nullptr
  std::vector<bool> borrowed;           // per op input: the data is CAGR_CONSTANT_BORROWED (1.5)
  const cagr_extension* extensions;     // kernel_create's chain (1.4: hot rows), valid for the call
};

// The copy a plugin keeps of a kernel's constant, made by `make` (a std::shared_ptr<const Copy>).
// A copied constant (CAGR_CONSTANT_COPIED) gets a copy of its own. A borrowed one
// (CAGR_CONSTANT_BORROWED, ABI 1.5) is unchanged at its address for as long as a kernel made from
// it lives, so the kernels made from the same address and size for the same `place` (a device, or
// nullptr for host memory) while one of them lives share one copy: a table timed in two variants,
// or run by two plans of a session, is copied once.
template <class Copy, class Make>
std::shared_ptr<const Copy> shared_constant(const void* place, const void* data, size_t bytes, bool borrowed, Make make) {
  if (!borrowed) return make();
  static std::mutex mutex;
  static std::map<std::tuple<const void*, const void*, size_t>, std::weak_ptr<const Copy>> live;
  std::lock_guard<std::mutex> lock(mutex);
  for (auto it = live.begin(); it != live.end();) it = it->second.expired() ? live.erase(it) : std::next(it);
  std::weak_ptr<const Copy>& entry = live[{place, data, bytes}];
  if (auto shared = entry.lock()) return shared;
  std::shared_ptr<const Copy> made = make();
  entry = made;
  return made;
}

// One kernel_run, checked: as many buffers as the op takes, each big enough for its tensor at this
// run's shape; the shapes differ from kernel_create's only in dims OPS.md lets vary per run.
struct Run {
  cagr_stream& stream;
  const OpView& op;                           // the op at this run's shapes (constants keep theirs)
  const std::vector<cagr_buffer*>& inputs;    // per op input: this run's buffer, nullptr for a constant
  const std::vector<cagr_buffer*>& outputs;
};

template <class T>
T& require(T* object, const char* what) {
  if (object == nullptr) invalid(std::string(what) + " is NULL");
  return *object;
}
inline void require_memory(const void* host, const char* what) {
  if (host == nullptr) invalid(std::string(what) + " is NULL");
}

template <class P>
class Table {
 public:
  static const cagr_plugin_api& api() {
    static const cagr_plugin_api table = make();
    return table;
  }

 private:
  // What kernel_create makes; the host holds it as a cagr_kernel*.
  struct KernelState {
    abi::OwnedOpDesc op;           // as created
    std::vector<bool> is_constant;  // per op input
    std::unique_ptr<typename P::Kernel> impl;
    std::vector<size_t> run_slots;  // the op inputs of kernel_run's input buffers
    cagr_op_desc created{};         // op's ABI view, made once
  };

  // What kernel_run builds per run, reused so that a warm run allocates nothing (at batch 1 the
  // allocations were a fifth of a run); per thread, as the host calls from any thread.
  struct RunScratch {
    std::vector<cagr_tensor_desc> inputs, outputs;
    std::vector<const cagr_tensor_desc*> input_descs, output_descs;
    std::vector<cagr_buffer*> input_buffers, output_buffers;
    OpView view;
  };

  template <class Q, class = void>
  struct has_event_elapsed : std::false_type {};
  template <class Q>
  struct has_event_elapsed<Q, std::void_t<decltype(&Q::event_elapsed)>> : std::true_type {};
  template <class Q, class = void>
  struct has_kernel_statistics : std::false_type {};
  template <class Q>
  struct has_kernel_statistics<Q, std::void_t<decltype(&Q::kernel_statistics)>> : std::true_type {};
  template <class Q, class = void>
  struct has_capture : std::false_type {};
  template <class Q>
  struct has_capture<Q, std::void_t<decltype(&Q::begin_capture)>> : std::true_type {};

  static std::string& thread_text() {
    thread_local std::string text;
    return text;
  }

  static int32_t device_index(cagr_context& context, int32_t device) {
    const int32_t count = P::device_count(context);
    if (device < 0 || device >= count)
      invalid(std::string(P::kIdentity.name) + ": device " + std::to_string(device) + " does not exist (" + std::to_string(count) +
              (count == 1 ? " device)" : " devices)"));
    return device;
  }

  // The device's offer for `op`; refuses (unsupported) when it has no variant.
  static Offer offer(cagr_context& context, int32_t device, const OpView& op) {
    Offer o = P::offer(context, device, op);
    if (o.variants.empty())
      unsupported(!o.note.empty() ? o.note : std::string(P::kIdentity.name) + ": " + op.type() + ": no variant on device " + std::to_string(device));
    return o;
  }

  static const Variant& chosen(const Offer& o, int32_t variant, const OpView& op) {
    if (variant < 0 || static_cast<size_t>(variant) >= o.variants.size())
      invalid(op.type() + ": variant " + std::to_string(variant) + " out of range (" + std::to_string(o.variants.size()) +
              " variants)");
    return o.variants[static_cast<size_t>(variant)];
  }

  static cagr_status init(cagr_init_args* args) {
    return guarded([&] {
      auto a = abi::read_struct(&require(args, "init args"));
      InitArgs init{{}, Log{a.log, a.log_user_data}};
      for (size_t i = 0; i < a.num_options; ++i) {
        const auto o = abi::read_struct(&require(a.options[i], "option"));
        if (o.key == nullptr || o.value == nullptr) invalid(std::string(P::kIdentity.name) + ": option with a NULL key or value");
        init.options.emplace_back(o.key, o.value);
      }
      a.context = P::init(init);
      abi::write_struct(args, a);
    });
  }

  static cagr_status shutdown(cagr_context* context) {
    return guarded([&] { P::destroy(context); });
  }

  static cagr_status get_info(cagr_context*, cagr_plugin_info* info) {
    return guarded([&] {
      auto i = abi::read_struct(&require(info, "info"));
      i.name = P::kIdentity.name;
      i.version = P::kIdentity.version;
      i.vendor = P::kIdentity.vendor;
      i.abi_major = CAGR_ABI_VERSION_MAJOR;
      i.abi_minor = CAGR_ABI_VERSION_MINOR;
      abi::write_struct(info, i);
    });
  }

  static cagr_status device_count(cagr_context* context, int32_t* count) {
    return guarded([&] { require(count, "count") = P::device_count(require(context, "context")); });
  }

  static cagr_status device_properties(cagr_context* context, int32_t device, cagr_device_properties* properties) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      auto p = abi::read_struct(&require(properties, "properties"));
      P::device_properties(c, device_index(c, device), p);
      abi::write_struct(properties, p);
    });
  }

  // An op the device cannot run is an answer (supported = 0 and the reason), not a failed query.
  static cagr_status op_query(cagr_context* context, cagr_op_query_args* args) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      auto q = abi::read_struct(&require(args, "op_query args"));
      const int32_t device = device_index(c, q.device);
      try {
        const Offer o = offer(c, device, OpView(q.op));
        q.supported = 1;
        q.num_variants = static_cast<int32_t>(o.variants.size());
        thread_text() = o.note;
      } catch (const Error& e) {
        q.supported = 0;
        q.num_variants = 0;
        thread_text() = e.what();
      }
      q.reason = thread_text().empty() ? nullptr : thread_text().c_str();
      abi::write_struct(args, q);
    });
  }

  static cagr_status op_variant(cagr_context* context, cagr_variant_args* args) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      auto v = abi::read_struct(&require(args, "op_variant args"));
      const OpView op(v.op);
      const Offer o = offer(c, device_index(c, v.device), op);
      const Variant& variant = chosen(o, v.variant, op);
      thread_text() = variant.name;
      v.name = thread_text().c_str();
      v.flops = variant.flops;
      v.bytes = variant.bytes;
      v.estimated_ns = variant.estimated_ns;
      v.math_precision = variant.precision;
      abi::write_struct(args, v);
    });
  }

  static cagr_status buffer_alloc(cagr_context* context, cagr_buffer_alloc_args* args) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      auto a = abi::read_struct(&require(args, "buffer_alloc args"));
      a.buffer = P::buffer_alloc(c, device_index(c, a.device), a.bytes);
      abi::write_struct(args, a);
    });
  }

  static cagr_status buffer_destroy(cagr_context*, cagr_buffer* buffer) {
    return guarded([&] { P::destroy(buffer); });
  }

  static void* buffer_host_pointer(cagr_context*, cagr_buffer* buffer) {
    return buffer != nullptr ? P::buffer_host_pointer(*buffer) : nullptr;
  }

  static void check_range(const cagr_buffer* buffer, uint64_t offset, uint64_t bytes, const char* side) {
    const uint64_t size = P::buffer_bytes(require(buffer, side));
    if (offset > size || bytes > size - offset)
      invalid(std::string("copy: ") + side + " range [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
              ") is outside its buffer of " + std::to_string(size) + " bytes");
  }

  // Copying nothing succeeds whatever the pointers (an empty batch's tensors have none: OPS.md).
  static cagr_status copy(cagr_context* context, cagr_copy_args* args) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      const auto a = abi::read_struct(&require(args, "copy args"));
      cagr_stream& stream = require(a.stream, "copy stream");
      if (a.bytes == 0) return;
      switch (a.kind) {
        case CAGR_COPY_HOST_TO_DEVICE:
          require_memory(a.src_host, "copy source");
          check_range(a.dst_buffer, a.dst_offset, a.bytes, "copy destination");
          break;
        case CAGR_COPY_DEVICE_TO_HOST:
          check_range(a.src_buffer, a.src_offset, a.bytes, "copy source");
          require_memory(a.dst_host, "copy destination");
          break;
        case CAGR_COPY_DEVICE_TO_DEVICE:
          check_range(a.src_buffer, a.src_offset, a.bytes, "copy source");
          check_range(a.dst_buffer, a.dst_offset, a.bytes, "copy destination");
          break;
        default:
          invalid("copy: kind " + std::to_string(static_cast<int>(a.kind)) + " is not a cagr_copy_kind");
      }
      P::copy(c, stream, a);
    });
  }

  static cagr_status stream_create(cagr_context* context, int32_t device, cagr_stream** stream) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      require(stream, "stream output") = P::stream_create(c, device_index(c, device));
    });
  }
  static cagr_status stream_destroy(cagr_context*, cagr_stream* stream) {
    return guarded([&] { P::destroy(stream); });
  }
  static cagr_status stream_synchronize(cagr_context* context, cagr_stream* stream) {
    return guarded([&] { P::stream_synchronize(require(context, "context"), require(stream, "stream")); });
  }
  static cagr_status event_create(cagr_context* context, int32_t device, cagr_event** event) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      require(event, "event output") = P::event_create(c, device_index(c, device));
    });
  }
  static cagr_status event_destroy(cagr_context*, cagr_event* event) {
    return guarded([&] { P::destroy(event); });
  }
  static cagr_status event_record(cagr_context* context, cagr_event* event, cagr_stream* stream) {
    return guarded([&] { P::event_record(require(context, "context"), require(event, "event"), require(stream, "stream")); });
  }
  static cagr_status stream_wait_event(cagr_context* context, cagr_stream* stream, cagr_event* event) {
    return guarded(
        [&] { P::stream_wait_event(require(context, "context"), require(stream, "stream"), require(event, "event")); });
  }
  static cagr_status event_synchronize(cagr_context* context, cagr_event* event) {
    return guarded([&] { P::event_synchronize(require(context, "context"), require(event, "event")); });
  }
  static cagr_status event_elapsed(cagr_context* context, cagr_event* start, cagr_event* end, double* microseconds) {
    return guarded([&] {
      require(microseconds, "microseconds") =
          P::event_elapsed(require(context, "context"), require(start, "start event"), require(end, "end event"));
    });
  }

  static cagr_status kernel_create(cagr_context* context, cagr_kernel_create_args* args) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      auto a = abi::read_struct(&require(args, "kernel_create args"));
      const int32_t device = device_index(c, a.device);
      const OpView op(a.op);
      const Offer o = offer(c, device, op);
      const Variant& variant = chosen(o, a.variant, op);
      std::vector<const void*> constants(op.num_inputs(), nullptr);
      std::vector<bool> is_constant(op.num_inputs(), false);
      std::vector<bool> borrowed(op.num_inputs(), false);
      for (size_t i = 0; i < a.num_constants; ++i) {
        const auto k = abi::read_struct(&require(a.constants[i], "constant"));
        if (k.input_index >= op.num_inputs())
          invalid(op.type() + ": constant for input " + std::to_string(k.input_index) + ", the op has " +
                  std::to_string(op.num_inputs()) + " inputs");
        if (is_constant[k.input_index]) invalid(op.type() + ": two constants for input " + std::to_string(k.input_index));
        if (k.data == nullptr && op.input(k.input_index).bytes() > 0)
          invalid(op.type() + ": constant input " + std::to_string(k.input_index) + " has no data");
        if (k.lifetime != CAGR_CONSTANT_COPIED && k.lifetime != CAGR_CONSTANT_BORROWED)
          invalid(op.type() + ": constant input " + std::to_string(k.input_index) + " has lifetime " +
                  std::to_string(k.lifetime) + ", neither CAGR_CONSTANT_COPIED (0) nor CAGR_CONSTANT_BORROWED (1)");
        constants[k.input_index] = k.data;
        is_constant[k.input_index] = true;
        borrowed[k.input_index] = k.lifetime == CAGR_CONSTANT_BORROWED;
      }
      const std::vector<size_t> run_slots = run_input_slots(is_constant);
      auto kernel = std::make_unique<KernelState>(KernelState{abi::OwnedOpDesc::copy_of(*a.op), std::move(is_constant), nullptr, run_slots});
      kernel->created = kernel->op.desc();
      kernel->impl = P::create_kernel(c, KernelSetup{device, op, a.variant, variant, std::move(constants), std::move(borrowed), a.extensions});
      a.kernel = reinterpret_cast<cagr_kernel*>(kernel.release());
      abi::write_struct(args, a);
    });
  }

  static cagr_status kernel_destroy(cagr_context*, cagr_kernel* kernel) {
    return guarded([&] { delete reinterpret_cast<KernelState*>(kernel); });
  }

  // A tensor of this run: its desc read and checked against kernel_create's, its buffer against
  // the bytes of its shape.
  static cagr_tensor_desc run_tensor(const KernelState& kernel, const cagr_tensor_desc* given, const cagr_tensor_desc& created,
                                     const cagr_buffer* buffer, bool is_output, size_t index) {
    // The messages' names are built only for a message: at batch 1 these strings were a good part
    // of a run's cost.
    const auto what = [&] { return kernel.op.type() + ": " + (is_output ? "output " : "input ") + std::to_string(index); };
    const cagr_tensor_desc run = abi::read_struct(&require(given, "kernel_run tensor desc"));
    if (run.rank < 0 || run.rank > CAGR_MAX_RANK) invalid(what() + " has rank " + std::to_string(run.rank));
    const size_t rank = static_cast<size_t>(run.rank);
    const auto dims = [&] { return contract::dims_string({run.dims, run.dims + rank}); };
    if (run.dtype != created.dtype)
      invalid(what() + " is " + dtype_name(run.dtype) + " at run, " + dtype_name(created.dtype) + " at kernel_create");
    size_t elements = 1;
    for (size_t d = 0; d < rank; ++d) {
      if (run.dims[d] < 0) invalid(what() + " has a negative dimension: " + dims());
      elements *= static_cast<size_t>(run.dims[d]);
    }
    contract::check_run_dims(kernel.op.type(), is_output, index, created.dims, static_cast<size_t>(created.rank), run.dims, rank);
    if (buffer == nullptr) invalid(what() + " buffer is NULL");
    const size_t bytes = elements * dtype_size(run.dtype);
    if (bytes > P::buffer_bytes(*buffer))
      invalid(what() + " of shape " + dims() + " needs " + std::to_string(bytes) + " bytes, its buffer has " +
              std::to_string(P::buffer_bytes(*buffer)));
    return run;
  }

  static cagr_status kernel_run(cagr_context* context, cagr_kernel_run_args* args) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      const auto a = abi::read_struct(&require(args, "kernel_run args"));
      const KernelState& kernel = require(reinterpret_cast<KernelState*>(a.kernel), "kernel");
      cagr_stream& stream = require(a.stream, "stream");
      check_run_counts(kernel.run_slots.size(), kernel.op.outputs().size(), a, kernel.op.type());
      thread_local RunScratch s;
      s.inputs.assign(kernel.op.inputs().begin(), kernel.op.inputs().end());
      s.outputs.resize(a.num_outputs);
      s.input_buffers.assign(kernel.is_constant.size(), nullptr);
      s.output_buffers.assign(a.num_outputs, nullptr);
      for (size_t r = 0; r < kernel.run_slots.size(); ++r) {
        const size_t i = kernel.run_slots[r];
        s.inputs[i] = run_tensor(kernel, a.input_descs[r], kernel.op.inputs()[i], a.inputs[r], false, i);
        s.input_buffers[i] = a.inputs[r];
      }
      for (size_t o = 0; o < a.num_outputs; ++o) {
        s.outputs[o] = run_tensor(kernel, a.output_descs[o], kernel.op.outputs()[o], a.outputs[o], true, o);
        s.output_buffers[o] = a.outputs[o];
      }
      s.input_descs.clear();
      s.output_descs.clear();
      for (const auto& t : s.inputs) s.input_descs.push_back(&t);
      for (const auto& t : s.outputs) s.output_descs.push_back(&t);
      cagr_op_desc desc = kernel.created;
      desc.inputs = s.input_descs.data();
      desc.outputs = s.output_descs.data();
      s.view.assign(&desc);
      P::run_kernel(c, *kernel.impl, Run{stream, s.view, s.input_buffers, s.output_buffers});
    });
  }

  // The answer stays valid until the next call on this thread: kept in thread-local storage.
  static cagr_status kernel_statistics(cagr_context* context, cagr_kernel_statistics_args* args) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      auto a = abi::read_struct(&require(args, "kernel_statistics args"));
      KernelState& kernel = require(reinterpret_cast<KernelState*>(a.kernel), "kernel");
      thread_local std::vector<std::pair<std::string, double>> figures;
      thread_local std::vector<cagr_statistic> structs;
      thread_local std::vector<const cagr_statistic*> pointers;
      figures = P::kernel_statistics(c, *kernel.impl);
      structs.assign(figures.size(), abi::make_struct<cagr_statistic>());
      pointers.clear();
      for (size_t i = 0; i < figures.size(); ++i) {
        structs[i].name = figures[i].first.c_str();
        structs[i].value = figures[i].second;
        pointers.push_back(&structs[i]);
      }
      a.num_statistics = pointers.size();
      a.statistics = pointers.data();
      abi::write_struct(args, a);
    });
  }

  static cagr_status begin_capture(cagr_context* context, cagr_stream* stream) {
    return guarded([&] { P::begin_capture(require(context, "context"), require(stream, "stream")); });
  }
  static cagr_status end_capture(cagr_context* context, cagr_stream* stream, cagr_graph** graph) {
    return guarded([&] {
      cagr_context& c = require(context, "context");
      cagr_stream& s = require(stream, "stream");
      require(graph, "graph output") = P::end_capture(c, s);
    });
  }
  static cagr_status graph_launch(cagr_context* context, cagr_graph* graph, cagr_stream* stream) {
    return guarded([&] { P::graph_launch(require(context, "context"), require(graph, "graph"), require(stream, "stream")); });
  }
  static cagr_status graph_destroy(cagr_context*, cagr_graph* graph) {
    return guarded([&] { P::destroy(graph); });
  }

  static cagr_plugin_api make() {
    cagr_plugin_api t = abi::make_struct<cagr_plugin_api>();
    t.abi_major = CAGR_ABI_VERSION_MAJOR;
    t.abi_minor = CAGR_ABI_VERSION_MINOR;
    t.last_error_message = plugin::last_error_message;
    t.init = init;
    t.shutdown = shutdown;
    t.get_info = get_info;
    t.device_count = device_count;
    t.device_properties = device_properties;
    t.op_query = op_query;
    t.op_variant = op_variant;
    t.buffer_alloc = buffer_alloc;
    t.buffer_destroy = buffer_destroy;
    t.buffer_host_pointer = buffer_host_pointer;
    t.copy = copy;
    t.stream_create = stream_create;
    t.stream_destroy = stream_destroy;
    t.stream_synchronize = stream_synchronize;
    t.event_create = event_create;
    t.event_destroy = event_destroy;
    t.event_record = event_record;
    t.stream_wait_event = stream_wait_event;
    t.event_synchronize = event_synchronize;
    t.kernel_create = kernel_create;
    t.kernel_destroy = kernel_destroy;
    t.kernel_run = kernel_run;
    if constexpr (has_capture<P>::value) {
      t.stream_begin_capture = begin_capture;
      t.stream_end_capture = end_capture;
      t.graph_launch = graph_launch;
      t.graph_destroy = graph_destroy;
    }
    if constexpr (has_event_elapsed<P>::value) t.event_elapsed = event_elapsed;
    if constexpr (has_kernel_statistics<P>::value) t.kernel_statistics = kernel_statistics;
    return t;
  }
};

// `delete`s each object: the default `destroy` for plugins whose objects release what they hold in
// their destructors.
struct DeleteObjects {
  template <class T>
  static void destroy(T* object) {
    delete object;
  }
};

}  // namespace cagr::plugin::kit

// Defines the plugin's one exported symbol for the kit's table of `PluginClass`.
#define CAGR_PLUGIN_KIT_ENTRY(PluginClass)                                                    \
  extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) { \
    return ::cagr::plugin::negotiate_entry(args, &::cagr::plugin::kit::Table<PluginClass>::api()); \
  }

#endif  // CAGR_PLUGIN_KIT_HPP_

// plugin.cpp - loading one plugin library and the RAII wrappers over its table.
#include "plugin.hpp"

#include <dlfcn.h>

#include <algorithm>

#include "abi_rules.hpp"
#include "cagr_struct.hpp"
#include "required_entries.hpp"

namespace cagr {

using abi::make_struct;

std::shared_ptr<Library> Library::open(const std::string& path) {
  // RTLD_LOCAL: plugins never see each other's symbols; RTLD_NOW: a missing symbol fails here,
  // at load, instead of later in the middle of a run.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw Error(CAGR_ERROR_UNSUPPORTED, path + ": dlopen failed: " + (why ? why : "unknown reason"));
  }
  return std::shared_ptr<Library>(new Library(path, handle));
}

Library::~Library() { dlclose(handle_); }

void* Library::symbol(const char* name) const { return dlsym(handle_, name); }

cagr_status Library::call_entry(cagr_plugin_entry_args* args) {
  auto entry = reinterpret_cast<cagr_plugin_entry_fn>(symbol(CAGR_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr)
    throw Error(CAGR_ERROR_UNSUPPORTED, path_ + ": no entry symbol '" CAGR_PLUGIN_ENTRY_SYMBOL "' (not a CAGR plugin?)");
  return entry(args);
}

namespace {

void log_trampoline(void* user_data, cagr_log_level level, const char* message) {
  const auto* fn = static_cast<const std::pair<LogFn, std::string>*>(user_data);
  if (fn->first) fn->first(level, fn->second, message ? message : "");
}

// Whether the table has every entry a 1.0 table must have; the first missing one in `missing`.
bool has_required_entries(cagr_plugin_api api, std::string* missing) {
  for (const RequiredEntry& e : required_entries(api)) {
    if (*e.slot == nullptr) {
      *missing = e.name;
      return false;
    }
  }
  return true;
}

// Calls a plugin's *_destroy or shutdown from a destructor, where nothing can be thrown: a failure
// or an escaping exception leaves nothing for the host to do.
template <class Fn, class... Args>
void release(Fn fn, Args... args) noexcept {
  try {
    fn(args...);
  } catch (...) {
  }
}

}  // namespace

std::shared_ptr<Plugin> Plugin::load(const std::string& path, const Options& options, LogFn log) {
  return load(Library::open(path), options, std::move(log));
}

std::shared_ptr<Plugin> Plugin::load(std::shared_ptr<PluginModule> module, const Options& options, LogFn log) {
  std::shared_ptr<Plugin> plugin(new Plugin());
  plugin->module_ = std::move(module);
  const std::string& path = plugin->module_->path();

  auto args = make_struct<cagr_plugin_entry_args>();
  args.host_abi_major = CAGR_ABI_VERSION_MAJOR;
  args.host_abi_minor = CAGR_ABI_VERSION_MINOR;
  const cagr_status entry_status = [&] {
    try {
      return plugin->module_->call_entry(&args);
    } catch (const Error&) {
      throw;  // the module's own error (no entry symbol, no worker), already naming the file
    } catch (...) {
      plugin->escaped(CAGR_PLUGIN_ENTRY_SYMBOL);
    }
  }();
  if (entry_status != CAGR_OK) {
    const std::string refusal = AnswerRules(path, CAGR_PLUGIN_ENTRY_SYMBOL).string(args.refusal, "refusal", true);
    throw Error(CAGR_ERROR_VERSION, path + ": plugin refused ABI " + std::to_string(CAGR_ABI_VERSION_MAJOR) + "." +
                                        std::to_string(CAGR_ABI_VERSION_MINOR) + (refusal.empty() ? "" : ": " + refusal));
  }
  if (args.plugin_abi_major < CAGR_ABI_OLDEST_SUPPORTED_MAJOR || args.plugin_abi_major > CAGR_ABI_VERSION_MAJOR) {
    throw Error(CAGR_ERROR_VERSION, path + ": plugin speaks ABI major " + std::to_string(args.plugin_abi_major) +
                                        ", host supports " + std::to_string(CAGR_ABI_OLDEST_SUPPORTED_MAJOR) + ".." +
                                        std::to_string(CAGR_ABI_VERSION_MAJOR));
  }
  if (args.api == nullptr || args.api->struct_size < CAGR_STRUCT_SIZE(cagr_plugin_api, abi_minor))
    throw Error(CAGR_ERROR_VERSION, path + ": plugin returned no entry-point table");
  plugin->api_ = abi::read_struct(args.api);
  // Our copy records the version both sides speak: the plugin's answer, capped at the host's minor
  // (a 1.1 plugin talking to a 1.0 host speaks 1.0).
  plugin->api_.abi_major = args.plugin_abi_major;
  plugin->api_.abi_minor = args.plugin_abi_major == CAGR_ABI_VERSION_MAJOR
                               ? std::min<int32_t>(args.plugin_abi_minor, CAGR_ABI_VERSION_MINOR)
                               : args.plugin_abi_minor;
  std::string missing;
  if (!has_required_entries(plugin->api_, &missing))
    throw Error(CAGR_ERROR_VERSION, path + ": entry-point table lacks '" + missing + "'");

  std::vector<cagr_option> option_structs;
  option_structs.reserve(options.size());
  for (const auto& [key, value] : options) {
    auto o = make_struct<cagr_option>();
    o.key = key.c_str();
    o.value = value.c_str();
    option_structs.push_back(o);
  }
  std::vector<const cagr_option*> option_ptrs;
  for (const auto& o : option_structs) option_ptrs.push_back(&o);

  auto init = make_struct<cagr_init_args>();
  init.num_options = option_ptrs.size();
  init.options = option_ptrs.data();
  // Until get_info the plugin is known only by its file name.
  plugin->log_user_ = std::make_unique<std::pair<LogFn, std::string>>(std::move(log), path);
  init.log = log_trampoline;
  init.log_user_data = plugin->log_user_.get();
  const cagr_status init_status = plugin->invoke("init", [&] { return plugin->api_.init(&init); });
  if (init_status != CAGR_OK) plugin->check(init_status, "init");
  AnswerRules(path, "init").handle(init.context, "a context");
  plugin->context_ = init.context;

  auto info = make_struct<cagr_plugin_info>();
  plugin->check_call("get_info", plugin->api_.get_info, plugin->context_, &info);
  const AnswerRules rules(path, "get_info");
  plugin->name_ = rules.name(info.name, "name");
  plugin->version_ = rules.string(info.version, "version", true);
  plugin->vendor_ = rules.string(info.vendor, "vendor", true);
  plugin->built_major_ = info.abi_major;
  plugin->built_minor_ = info.abi_minor;
  plugin->log_user_->second = plugin->name_;
  return plugin;
}

std::optional<std::string> no_device_note(const std::string& message) {
  static const std::string prefix = "no device: ";
  if (message.rfind(prefix, 0) != 0) return std::nullopt;
  return message.substr(prefix.size());
}

Plugin::~Plugin() {
  if (context_ != nullptr) release(api_.shutdown, context_);
}

void Plugin::escaped(const char* what) const {
  std::string why;
  try {
    throw;
  } catch (const std::exception& e) {
    why = e.what();
  } catch (...) {
    why = "an exception of unknown type";
  }
  throw Error(CAGR_ERROR_INTERNAL, module_->path() + ": a C++ exception escaped " + what +
                                       " (the ABI is C: an entry returns a status): " + why);
}

void Plugin::check(cagr_status status, const char* what) const {
  if (status == CAGR_OK) return;
  const std::string who = name_.empty() ? module_->path() : "plugin " + name_ + " (" + module_->path() + ")";
  const std::string message = plugin_message(invoke("last_error_message", [&] { return api_.last_error_message(); }));
  throw Error(status, who + ": " + what + " failed: " + message);
}

int Plugin::device_count() const {
  int32_t count = 0;
  check_call("device_count", api_.device_count, context_, &count);
  return static_cast<int>(AnswerRules(path(), "device_count").count(count, 0, kMaxDevices, "the device count"));
}

DeviceInfo Plugin::device(int index) const {
  auto p = make_struct<cagr_device_properties>();
  check_call("device_properties", api_.device_properties, context_, index, &p);
  const AnswerRules rules(path(), "device_properties of device " + std::to_string(index));
  DeviceInfo d;
  d.index = index;
  d.name = rules.name(p.name, "name");
  d.kind = static_cast<cagr_device_kind>(rules.count(p.kind, CAGR_DEVICE_CPU, CAGR_DEVICE_OTHER, "kind"));
  d.compute_units = static_cast<int>(rules.count(p.compute_units, 0, INT32_MAX, "compute_units"));
  d.peak_gflops_f32 = rules.non_negative(p.peak_gflops_f32, "peak_gflops_f32");
  d.peak_gflops_f16 = rules.non_negative(p.peak_gflops_f16, "peak_gflops_f16");
  d.memory_bandwidth_gbps = rules.non_negative(p.memory_bandwidth_gbps, "memory_bandwidth_gbps");
  d.memory_bytes = p.memory_bytes;
  d.last_level_cache_bytes = p.last_level_cache_bytes;
  d.numa_node = static_cast<int>(rules.count(p.numa_node, -1, INT32_MAX, "numa_node"));
  d.pci_bus_id = rules.string(p.pci_bus_id, "pci_bus_id", true);
  d.host_accessible = rules.count(p.host_accessible, 0, 1, "host_accessible") != 0;
  return d;
}

OpSupport Plugin::query(int device, const cagr_op_desc& op) const {
  auto q = make_struct<cagr_op_query_args>();
  q.device = device;
  q.op = &op;
  check_call("op_query", api_.op_query, context_, &q);
  // An answer that breaks a rule makes this device refuse the op, the rule and the file its reason:
  // the op is then placed on another device, or the refusal is shown with the others.
  const AnswerRules rules(path(), std::string("op_query of ") + (op.op_type ? op.op_type : "?"));
  OpSupport support;
  try {
    support.supported = rules.count(q.supported, 0, 1, "supported") != 0 &&
                        rules.count(q.num_variants, 0, kMaxVariants, "num_variants") > 0;
    if (!support.supported) {
      support.reason = rules.string(q.reason, "reason", true);
      if (support.reason.empty()) support.reason = "no variant";
      return support;
    }
    for (int i = 0; i < q.num_variants; ++i) {
      auto v = make_struct<cagr_variant_args>();
      v.device = device;
      v.op = &op;
      v.variant = i;
      check_call("op_variant", api_.op_variant, context_, &v);
      const AnswerRules variant(path(), "op_variant " + std::to_string(i) + " of " + (op.op_type ? op.op_type : "?"));
      support.variants.push_back(Variant{i, variant.string(v.name, "name", true), variant.non_negative(v.flops, "flops"),
                                         variant.non_negative(v.bytes, "bytes"),
                                         variant.non_negative(v.estimated_ns, "estimated_ns"),
                                         static_cast<cagr_math_precision>(
                                             variant.count(v.math_precision, CAGR_MATH_F32, CAGR_MATH_INT8, "math_precision"))});
    }
  } catch (const AbiViolation& broken) {
    return OpSupport{false, broken.what(), {}};
  }
  return support;
}

bool Plugin::supports_capture() const {
  return api_.stream_begin_capture != nullptr && api_.stream_end_capture != nullptr && api_.graph_launch != nullptr &&
         api_.graph_destroy != nullptr;
}

Buffer Plugin::alloc(int device, uint64_t bytes) {
  auto a = make_struct<cagr_buffer_alloc_args>();
  a.device = device;
  a.bytes = bytes;
  check_call("buffer_alloc", api_.buffer_alloc, context_, &a);
  AnswerRules(path(), "buffer_alloc").handle(a.buffer, "a buffer");
  return Buffer(shared_from_this(), a.buffer, device, bytes);
}

Stream Plugin::create_stream(int device) {
  cagr_stream* s = nullptr;
  check_call("stream_create", api_.stream_create, context_, device, &s);
  AnswerRules(path(), "stream_create").handle(s, "a stream");
  return Stream(shared_from_this(), s, device);
}

Event Plugin::create_event(int device) {
  cagr_event* e = nullptr;
  check_call("event_create", api_.event_create, context_, device, &e);
  AnswerRules(path(), "event_create").handle(e, "an event");
  return Event(shared_from_this(), e);
}

Kernel Plugin::create_kernel(int device, const cagr_op_desc& op, int variant, const std::vector<cagr_constant>& constants,
                             const cagr_extension* extensions, std::vector<std::shared_ptr<const void>> borrowed) {
  std::vector<const cagr_constant*> ptrs;
  for (const auto& c : constants) {
    if (c.lifetime == CAGR_CONSTANT_BORROWED && borrowed.empty())
      throw std::invalid_argument("kernel_create: constant input " + std::to_string(c.input_index) +
                                  " is borrowed, but nothing keeps its data alive");
    ptrs.push_back(&c);
  }
  auto k = make_struct<cagr_kernel_create_args>();
  k.device = device;
  k.op = &op;
  k.variant = variant;
  k.num_constants = ptrs.size();
  k.constants = ptrs.data();
  k.extensions = extensions;
  check_call("kernel_create", api_.kernel_create, context_, &k);
  AnswerRules(path(), "kernel_create").handle(k.kernel, "a kernel");
  return Kernel(shared_from_this(), k.kernel, std::move(borrowed));
}

// ---- RAII wrappers ----------------------------------------------------------------------------

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    reset();
    plugin_ = std::move(other.plugin_);
    buffer_ = std::exchange(other.buffer_, nullptr);
    device_ = other.device_;
    bytes_ = other.bytes_;
  }
  return *this;
}

void Buffer::reset() {
  if (buffer_ != nullptr) release(plugin_->api().buffer_destroy, plugin_->context(), buffer_);
  buffer_ = nullptr;
  plugin_.reset();
}

namespace {
void check_range(uint64_t offset, uint64_t bytes, uint64_t size, const char* what) {
  if (offset > size || bytes > size - offset)
    throw Error(CAGR_ERROR_INVALID_ARGUMENT, std::string(what) + ": " + std::to_string(bytes) + " bytes at offset " +
                                                 std::to_string(offset) + " overrun a buffer of " + std::to_string(size));
}
}  // namespace

void Buffer::copy_from_host(Stream& stream, const void* src, uint64_t bytes, uint64_t offset) {
  check_range(offset, bytes, bytes_, "copy to device");
  auto c = make_struct<cagr_copy_args>();
  c.kind = CAGR_COPY_HOST_TO_DEVICE;
  c.stream = stream.get();
  c.src_host = src;
  c.dst_buffer = buffer_;
  c.dst_offset = offset;
  c.bytes = bytes;
  plugin_->check_call("copy host to device", plugin_->api().copy, plugin_->context(), &c);
}

void Buffer::copy_to_host(Stream& stream, void* dst, uint64_t bytes, uint64_t offset) const {
  check_range(offset, bytes, bytes_, "copy to host");
  auto c = make_struct<cagr_copy_args>();
  c.kind = CAGR_COPY_DEVICE_TO_HOST;
  c.stream = stream.get();
  c.src_buffer = buffer_;
  c.src_offset = offset;
  c.dst_host = dst;
  c.bytes = bytes;
  plugin_->check_call("copy device to host", plugin_->api().copy, plugin_->context(), &c);
}

void Buffer::copy_from(Stream& stream, const Buffer& src, uint64_t bytes, uint64_t src_offset, uint64_t dst_offset) {
  check_range(src_offset, bytes, src.bytes_, "device copy source");
  check_range(dst_offset, bytes, bytes_, "device copy destination");
  if (src.plugin_ != plugin_) throw Error(CAGR_ERROR_INVALID_ARGUMENT, "device copy between buffers of different plugins");
  auto c = make_struct<cagr_copy_args>();
  c.kind = CAGR_COPY_DEVICE_TO_DEVICE;
  c.stream = stream.get();
  c.src_buffer = src.buffer_;
  c.src_offset = src_offset;
  c.dst_buffer = buffer_;
  c.dst_offset = dst_offset;
  c.bytes = bytes;
  plugin_->check_call("copy device to device", plugin_->api().copy, plugin_->context(), &c);
}

void* Buffer::host_pointer() const {
  return plugin_->invoke("buffer_host_pointer", [&] { return plugin_->api().buffer_host_pointer(plugin_->context(), buffer_); });
}

Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    reset();
    plugin_ = std::move(other.plugin_);
    event_ = std::exchange(other.event_, nullptr);
  }
  return *this;
}

void Event::reset() {
  if (event_ != nullptr) release(plugin_->api().event_destroy, plugin_->context(), event_);
  event_ = nullptr;
  plugin_.reset();
}

void Event::record(Stream& stream) {
  plugin_->check_call("event_record", plugin_->api().event_record, plugin_->context(), event_, stream.get());
}

double Event::microseconds_since(const Event& start) const {
  if (!plugin_->supports_event_timing()) throw Error(CAGR_ERROR_UNSUPPORTED, "plugin " + plugin_->name() + " cannot time events");
  double us = 0;
  plugin_->check_call("event_elapsed", plugin_->api().event_elapsed, plugin_->context(), start.event_, event_, &us);
  return AnswerRules(plugin_->path(), "event_elapsed").non_negative(us, "the elapsed time");
}

void Event::synchronize() { plugin_->check_call("event_synchronize", plugin_->api().event_synchronize, plugin_->context(), event_); }

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    reset();
    plugin_ = std::move(other.plugin_);
    stream_ = std::exchange(other.stream_, nullptr);
    device_ = other.device_;
  }
  return *this;
}

void Stream::reset() {
  if (stream_ != nullptr) release(plugin_->api().stream_destroy, plugin_->context(), stream_);
  stream_ = nullptr;
  plugin_.reset();
}

void Stream::synchronize() {
  plugin_->check_call("stream_synchronize", plugin_->api().stream_synchronize, plugin_->context(), stream_);
}

void Stream::wait(Event& event) {
  plugin_->check_call("stream_wait_event", plugin_->api().stream_wait_event, plugin_->context(), stream_, event.get());
}

void Stream::begin_capture() {
  if (!plugin_->supports_capture()) throw Error(CAGR_ERROR_UNSUPPORTED, "plugin " + plugin_->name() + " cannot capture streams");
  plugin_->check_call("stream_begin_capture", plugin_->api().stream_begin_capture, plugin_->context(), stream_);
}

CapturedGraph Stream::end_capture() {
  cagr_graph* graph = nullptr;
  plugin_->check_call("stream_end_capture", plugin_->api().stream_end_capture, plugin_->context(), stream_, &graph);
  AnswerRules(plugin_->path(), "stream_end_capture").handle(graph, "a graph");
  return CapturedGraph(plugin_, graph);
}

CapturedGraph& CapturedGraph::operator=(CapturedGraph&& other) noexcept {
  if (this != &other) {
    reset();
    plugin_ = std::move(other.plugin_);
    graph_ = std::exchange(other.graph_, nullptr);
  }
  return *this;
}

void CapturedGraph::reset() {
  if (graph_ != nullptr) release(plugin_->api().graph_destroy, plugin_->context(), graph_);
  graph_ = nullptr;
  plugin_.reset();
}

void CapturedGraph::launch(Stream& stream) {
  plugin_->check_call("graph_launch", plugin_->api().graph_launch, plugin_->context(), graph_, stream.get());
}

Kernel& Kernel::operator=(Kernel&& other) noexcept {
  if (this != &other) {
    reset();
    plugin_ = std::move(other.plugin_);
    kernel_ = std::exchange(other.kernel_, nullptr);
    borrowed_ = std::move(other.borrowed_);
  }
  return *this;
}

void Kernel::reset() {
  if (kernel_ != nullptr) release(plugin_->api().kernel_destroy, plugin_->context(), kernel_);
  kernel_ = nullptr;
  borrowed_.clear();  // after the plugin has let go of the data
  plugin_.reset();
}

void Kernel::run(Stream& stream, const std::vector<cagr_buffer*>& inputs, const std::vector<cagr_tensor_desc>& input_descs,
                 const std::vector<cagr_buffer*>& outputs, const std::vector<cagr_tensor_desc>& output_descs) {
  std::vector<const cagr_tensor_desc*> in_ptrs, out_ptrs;
  for (const auto& d : input_descs) in_ptrs.push_back(&d);
  for (const auto& d : output_descs) out_ptrs.push_back(&d);
  auto r = make_struct<cagr_kernel_run_args>();
  r.kernel = kernel_;
  r.stream = stream.get();
  r.num_inputs = inputs.size();
  r.inputs = inputs.data();
  r.input_descs = in_ptrs.data();
  r.num_outputs = outputs.size();
  r.outputs = outputs.data();
  r.output_descs = out_ptrs.data();
  plugin_->check_call("kernel_run", plugin_->api().kernel_run, plugin_->context(), &r);
}

std::vector<std::pair<std::string, double>> Kernel::statistics() const {
  std::vector<std::pair<std::string, double>> out;
  if (plugin_->api().kernel_statistics == nullptr) return out;
  auto a = make_struct<cagr_kernel_statistics_args>();
  a.kernel = kernel_;
  plugin_->check_call("kernel_statistics", plugin_->api().kernel_statistics, plugin_->context(), &a);
  const AnswerRules rules(plugin_->path(), "kernel_statistics");
  rules.count(static_cast<int64_t>(a.num_statistics), 0, 4096, "the number of statistics");
  if (a.num_statistics > 0) rules.handle(a.statistics, "statistics");
  for (size_t i = 0; i < a.num_statistics; ++i) {
    rules.handle(a.statistics[i], "a statistic");
    const auto figure = abi::read_struct(a.statistics[i]);
    out.emplace_back(rules.name(figure.name, "a statistic's name"), rules.non_negative(figure.value, "a statistic's value"));
  }
  return out;
}

}  // namespace cagr

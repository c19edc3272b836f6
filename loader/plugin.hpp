// plugin.hpp - the host's RAII C++ layer over one plugin's C ABI table.
//
// Every object created through a plugin (buffers, streams, events, kernels) holds a reference to
// the Plugin, which holds a reference to the Library: a shared library is closed only after the
// last object made by it is gone. Statuses from the plugin become cagr::Error exceptions in one
// place (Plugin::check).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cagr_plugin.h"

namespace cagr {

// An error reported by a plugin or by the loader, with the ABI status and the plugin's name.
class Error : public std::runtime_error {
 public:
  Error(cagr_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  cagr_status status() const { return status_; }

 private:
  cagr_status status_;
};

// Where a plugin's table of entry points comes from: its shared library opened in this process
// (Library), or a worker process that opened it (isolated_plugin.hpp). A Plugin holds its module
// until the last object made through it is gone.
class PluginModule {
 public:
  virtual ~PluginModule() = default;
  virtual const std::string& path() const = 0;
  // Calls the plugin's cagr_plugin_entry. Throws Error where the module has none.
  virtual cagr_status call_entry(cagr_plugin_entry_args* args) = 0;
  // Why the plugin can no longer be called (an isolated plugin whose worker crashed or hung), or ""
  // while it can.
  virtual std::string failure() const { return ""; }
};

// A dlopen'ed shared library; dlclose'd when the last reference goes.
class Library : public PluginModule {
 public:
  // Throws Error(CAGR_ERROR_UNSUPPORTED, "<path>: dlopen failed: <dlerror>").
  static std::shared_ptr<Library> open(const std::string& path);
  ~Library() override;
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  void* symbol(const char* name) const;  // nullptr when absent
  const std::string& path() const override { return path_; }
  cagr_status call_entry(cagr_plugin_entry_args* args) override;

 private:
  Library(std::string path, void* handle) : path_(std::move(path)), handle_(handle) {}
  std::string path_;
  void* handle_;
};

using LogFn = std::function<void(cagr_log_level, const std::string& plugin, const std::string& message)>;

// A plugin that finds no device says why in a log message (any level) that starts with
// "no device: " - no driver, no GPU, a driver too old - and the host shows the rest with the skip
// reason ("<file>: reports no device: <why>"). The text after the prefix, or nullopt for any other
// message.
std::optional<std::string> no_device_note(const std::string& message);
using Options = std::vector<std::pair<std::string, std::string>>;

struct DeviceInfo {
  int index = 0;
  std::string name;
  cagr_device_kind kind = CAGR_DEVICE_OTHER;
  int compute_units = 0;
  double peak_gflops_f32 = 0;
  double peak_gflops_f16 = 0;
  double memory_bandwidth_gbps = 0;
  uint64_t memory_bytes = 0;
  uint64_t last_level_cache_bytes = 0;
  int numa_node = -1;
  std::string pci_bus_id;
  bool host_accessible = false;
};

struct Variant {
  int index = 0;
  std::string name;
  double flops = 0;
  double bytes = 0;
  double estimated_ns = 0;
  cagr_math_precision math_precision = CAGR_MATH_F32;  // what it computes in (ABI 1.2; f32 from older plugins)
};

struct OpSupport {
  bool supported = false;
  std::string reason;             // why not, when unsupported
  std::vector<Variant> variants;  // empty when unsupported
};

class Plugin;
class Stream;

class Buffer {
 public:
  Buffer() = default;
  Buffer(std::shared_ptr<Plugin> plugin, cagr_buffer* buffer, int device, uint64_t bytes)
      : plugin_(std::move(plugin)), buffer_(buffer), device_(device), bytes_(bytes) {}
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept;
  ~Buffer() { reset(); }

  void copy_from_host(Stream& stream, const void* src, uint64_t bytes, uint64_t offset = 0);
  void copy_to_host(Stream& stream, void* dst, uint64_t bytes, uint64_t offset = 0) const;
  void copy_from(Stream& stream, const Buffer& src, uint64_t bytes, uint64_t src_offset = 0, uint64_t dst_offset = 0);
  void* host_pointer() const;  // nullptr unless the device is host_accessible

  cagr_buffer* get() const { return buffer_; }
  uint64_t bytes() const { return bytes_; }
  int device() const { return device_; }
  const std::shared_ptr<Plugin>& plugin() const { return plugin_; }
  explicit operator bool() const { return buffer_ != nullptr; }

 private:
  void reset();
  std::shared_ptr<Plugin> plugin_;
  cagr_buffer* buffer_ = nullptr;
  int device_ = 0;
  uint64_t bytes_ = 0;
};

class Event {
 public:
  Event() = default;
  Event(std::shared_ptr<Plugin> plugin, cagr_event* event) : plugin_(std::move(plugin)), event_(event) {}
  Event(Event&& other) noexcept { *this = std::move(other); }
  Event& operator=(Event&& other) noexcept;
  ~Event() { reset(); }

  void record(Stream& stream);
  void synchronize();
  // Device microseconds from `start` to this event, both complete (Plugin::supports_event_timing()).
  double microseconds_since(const Event& start) const;
  cagr_event* get() const { return event_; }

 private:
  void reset();
  std::shared_ptr<Plugin> plugin_;
  cagr_event* event_ = nullptr;
};

class CapturedGraph;

class Stream {
 public:
  Stream() = default;
  Stream(std::shared_ptr<Plugin> plugin, cagr_stream* stream, int device)
      : plugin_(std::move(plugin)), stream_(stream), device_(device) {}
  Stream(Stream&& other) noexcept { *this = std::move(other); }
  Stream& operator=(Stream&& other) noexcept;
  ~Stream() { reset(); }

  void synchronize();
  void wait(Event& event);
  // Record instead of run the work queued from here to end_capture (Plugin::supports_capture()).
  void begin_capture();
  CapturedGraph end_capture();
  cagr_stream* get() const { return stream_; }
  int device() const { return device_; }

 private:
  void reset();
  std::shared_ptr<Plugin> plugin_;
  cagr_stream* stream_ = nullptr;
  int device_ = 0;
};

// Work recorded from a stream, replayed as one launch (CUDA / HIP graphs).
class CapturedGraph {
 public:
  CapturedGraph() = default;
  CapturedGraph(std::shared_ptr<Plugin> plugin, cagr_graph* graph) : plugin_(std::move(plugin)), graph_(graph) {}
  CapturedGraph(CapturedGraph&& other) noexcept { *this = std::move(other); }
  CapturedGraph& operator=(CapturedGraph&& other) noexcept;
  ~CapturedGraph() { reset(); }

  void launch(Stream& stream);
  explicit operator bool() const { return graph_ != nullptr; }

 private:
  void reset();
  std::shared_ptr<Plugin> plugin_;
  cagr_graph* graph_ = nullptr;
};

class Kernel {
 public:
  Kernel() = default;
  // `borrowed`: what keeps the data of the kernel's CAGR_CONSTANT_BORROWED constants alive; held
  // until the plugin has destroyed the kernel.
  Kernel(std::shared_ptr<Plugin> plugin, cagr_kernel* kernel, std::vector<std::shared_ptr<const void>> borrowed = {})
      : plugin_(std::move(plugin)), kernel_(kernel), borrowed_(std::move(borrowed)) {}
  Kernel(Kernel&& other) noexcept { *this = std::move(other); }
  Kernel& operator=(Kernel&& other) noexcept;
  ~Kernel() { reset(); }

  // Inputs: the buffers of the op's non-constant inputs in order; descs give this run's shapes.
  void run(Stream& stream, const std::vector<cagr_buffer*>& inputs, const std::vector<cagr_tensor_desc>& input_descs,
           const std::vector<cagr_buffer*>& outputs, const std::vector<cagr_tensor_desc>& output_descs);
  // The named figures the plugin kept for this kernel since it was made (ABI 1.4
  // kernel_statistics; empty where the plugin keeps none). Call it between runs.
  std::vector<std::pair<std::string, double>> statistics() const;
  explicit operator bool() const { return kernel_ != nullptr; }

 private:
  void reset();
  std::shared_ptr<Plugin> plugin_;
  cagr_kernel* kernel_ = nullptr;
  std::vector<std::shared_ptr<const void>> borrowed_;
};

// One loaded, negotiated and initialised plugin.
class Plugin : public std::enable_shared_from_this<Plugin> {
 public:
  // dlopen, entry symbol, version negotiation, init. Throws Error whose message is one line that
  // names the file and the step that failed.
  static std::shared_ptr<Plugin> load(const std::string& path, const Options& options = {}, LogFn log = nullptr);
  // The same through a module already opened (a worker process: isolated_plugin.hpp).
  static std::shared_ptr<Plugin> load(std::shared_ptr<PluginModule> module, const Options& options = {}, LogFn log = nullptr);
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const std::string& path() const { return module_->path(); }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const std::string& vendor() const { return vendor_; }
  int abi_major() const { return api_.abi_major; }  // the negotiated version
  int abi_minor() const { return api_.abi_minor; }
  int built_abi_major() const { return built_major_; }  // what the plugin was compiled against
  int built_abi_minor() const { return built_minor_; }

  // Why this plugin can no longer be called, or "" (PluginModule::failure).
  std::string failure() const { return module_->failure(); }

  int device_count() const;
  // Whether the plugin's table has the optional capture entries (a device may still refuse).
  bool supports_capture() const;
  bool supports_event_timing() const { return api_.event_elapsed != nullptr; }  // ABI 1.1
  DeviceInfo device(int index) const;
  OpSupport query(int device, const cagr_op_desc& op) const;

  Buffer alloc(int device, uint64_t bytes);
  Stream create_stream(int device);
  Event create_event(int device);
  // `extensions`: chained to kernel_create's args (ABI 1.4: an embedding_bag's hot rows).
  // `borrowed`: the owners of the data of the constants marked CAGR_CONSTANT_BORROWED (ABI 1.5),
  // which the kernel keeps until it is destroyed; required where a constant is so marked.
  Kernel create_kernel(int device, const cagr_op_desc& op, int variant, const std::vector<cagr_constant>& constants,
                       const cagr_extension* extensions = nullptr, std::vector<std::shared_ptr<const void>> borrowed = {});

  // Throws Error naming this plugin and `what`, with the plugin's last error message.
  void check(cagr_status status, const char* what) const;
  // Runs `body`, a call into the plugin's entry `what`. A C++ exception escaping it (the ABI is C:
  // entries return a status) becomes an Error naming the plugin's file and the entry.
  template <class Body>
  auto invoke(const char* what, Body&& body) const -> decltype(body()) {
    try {
      return body();
    } catch (...) {
      escaped(what);
    }
  }
  // invoke() of entry `fn` (called `what`) with `args`, then check() of its status.
  template <class Fn, class... Args>
  void check_call(const char* what, Fn fn, Args... args) const {
    check(invoke(what, [&] { return fn(args...); }), what);
  }
  const cagr_plugin_api& api() const { return api_; }
  cagr_context* context() const { return context_; }

 private:
  Plugin() = default;
  [[noreturn]] void escaped(const char* what) const;  // invoke's handler, inside a catch block
  std::shared_ptr<PluginModule> module_;
  cagr_plugin_api api_{};  // our copy, read within the plugin's struct_size; unknown entries null
  cagr_context* context_ = nullptr;
  std::string name_, version_, vendor_;
  int built_major_ = 0, built_minor_ = 0;
  // The log callback's user data: the host function and the plugin's name; stable address.
  std::unique_ptr<std::pair<LogFn, std::string>> log_user_;
};

}  // namespace cagr

// isolated_plugin.cpp - the proxy table whose entries forward to a plugin's worker process.
#include "isolated_plugin.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>

#include "cagr_dtype.hpp"
#include "cagr_struct.hpp"
#include "ipc_calls.hpp"
#include "ipc_channel.hpp"
#include "plugin_files.hpp"
#include "required_entries.hpp"
#include "shared_area.hpp"
#include "worker_process.hpp"

namespace cagr {

namespace {

namespace fs = std::filesystem;
using abi::make_struct;
using ipc::Call;
using ipc::MessageReader;
using ipc::MessageWriter;

// The proxy's messages, per thread like a plugin's: last_error_message, and the strings an answer
// points to (valid until the next call on the thread, as the host copies them at once).
thread_local std::string last_error;
thread_local std::string answer_strings[2];

class IsolatedModule;
// The module whose entry was called last on this thread: Plugin::load calls init right after the
// entry, on the same thread, and init's arguments do not say which plugin they are for.
thread_local IsolatedModule* entered = nullptr;

class IsolatedModule : public PluginModule {
 public:
  IsolatedModule(std::string path, const IsolationOptions& options, ipc::SharedArea shared, int host_socket, WorkerProcess process)
      : path_(std::move(path)), options_(options), shared_(std::move(shared)), channel_(host_socket), process_(std::move(process)) {}

  ~IsolatedModule() override {
    channel_.close();  // the worker ends when its socket closes
    process_.wait(std::chrono::milliseconds(2000));
  }

  const std::string& path() const override { return path_; }
  cagr_status call_entry(cagr_plugin_entry_args* args) override;
  std::string failure() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return gone_;
  }

  static IsolatedModule& of(cagr_context* context) { return *reinterpret_cast<IsolatedModule*>(context); }

  // Runs `body` holding this plugin's lock: one call at a time goes to the worker, and the shared
  // area is used by one copy at a time.
  template <class Body>
  cagr_status locked(Body&& body) {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      return body();
    } catch (const std::exception& e) {
      return failed(CAGR_ERROR_INTERNAL, std::string("isolated plugin: ") + e.what());
    }
  }

  // Sends `call` (its arguments written by `args`) and waits for the answer, read by `answer` when
  // the plugin answered OK. Hold the lock (locked()).
  cagr_status call(Call call, const std::function<void(MessageWriter&)>& args,
                   const std::function<void(MessageReader&)>& answer = nullptr);

  // The shared area at least `bytes` long, the worker told of any growth. Hold the lock.
  cagr_status reserve_shared(uint64_t bytes) {
    if (bytes <= shared_.size()) return CAGR_OK;
    shared_.reserve(bytes);
    return call(Call::map_shared, [&](MessageWriter& w) { w.put<uint64_t>(shared_.size()); });
  }
  unsigned char* shared() const { return shared_.data(); }

  static cagr_status failed(cagr_status status, std::string message) {
    last_error = std::move(message);
    return status;
  }

  // What init and get_info answered, kept for the table's lifetime.
  cagr_log_fn log = nullptr;
  void* log_user_data = nullptr;
  std::string info_strings[3];

 private:
  cagr_status worker_ended(const std::string& how) {
    gone_ = "the plugin's worker process (pid " + std::to_string(process_.pid()) + ") " + how;
    channel_.close();
    return failed(CAGR_ERROR_DEVICE, gone_);
  }

  std::string path_;
  IsolationOptions options_;
  ipc::SharedArea shared_;
  ipc::Channel channel_;
  WorkerProcess process_;
  mutable std::mutex mutex_;
  std::string gone_;  // why the worker is gone, once it is
  cagr_plugin_api table_{};
  std::string refusal_;
};

cagr_status IsolatedModule::call(Call call, const std::function<void(MessageWriter&)>& args,
                                 const std::function<void(MessageReader&)>& answer) {
  const char* entry = ipc::entry_name(call);
  if (!gone_.empty()) return failed(CAGR_ERROR_DEVICE, gone_ + " earlier; " + entry + " cannot be called");
  MessageWriter request;
  request.put(call);
  args(request);
  // A worker that closed its socket is ending, or a plugin closed it: waited for briefly, then killed.
  const auto ended = [this] { return process_.wait(std::chrono::milliseconds(2000)); };
  if (!channel_.send(request.bytes())) return worker_ended(ended() + " before " + entry);
  const auto deadline = std::chrono::steady_clock::now() + options_.call_timeout;
  for (;;) {
    std::string frame;
    switch (channel_.receive(&frame, deadline)) {
      case ipc::Channel::Received::closed: return worker_ended(ended() + " in " + entry);
      case ipc::Channel::Received::timed_out:
        process_.kill();
        process_.wait();
        return worker_ended("did not answer " + std::string(entry) + " within " + std::to_string(options_.call_timeout.count()) +
                            " ms (a hang?) and was killed");
      case ipc::Channel::Received::message: break;
    }
    MessageReader in(std::move(frame));
    if (in.get<ipc::Frame>() == ipc::Frame::log) {
      const auto level = in.get<cagr_log_level>();
      const std::string message = in.get_optional_string().value_or("");
      if (log != nullptr) log(log_user_data, level, message.c_str());
      continue;
    }
    const auto status = in.get<cagr_status>();
    if (status != CAGR_OK) return failed(status, in.get_string());
    if (answer) {
      MessageReader out(in.get_string());
      answer(out);
    }
    return CAGR_OK;
  }
}

// ---- the proxy's entry points -----------------------------------------------------------------

template <class Handle>
void put_handle(MessageWriter& w, Handle* handle) {
  w.put(ipc::handle_value(handle));
}

// A call whose only argument is one handle and whose answer is the status.
template <Call call, class Handle>
cagr_status forward_handle(cagr_context* c, Handle* handle) {
  IsolatedModule& m = IsolatedModule::of(c);
  return m.locked([&] { return m.call(call, [&](MessageWriter& w) { put_handle(w, handle); }); });
}

// A create call: one int argument (the device), one handle answered.
template <Call call, class Handle>
cagr_status forward_create(cagr_context* c, int32_t device, Handle** made) {
  IsolatedModule& m = IsolatedModule::of(c);
  return m.locked([&] {
    return m.call(call, [&](MessageWriter& w) { w.put(device); },
                  [&](MessageReader& r) { *made = ipc::handle_of<Handle>(r.get<uint64_t>()); });
  });
}

const char* proxy_last_error_message() { return last_error.c_str(); }

cagr_status proxy_init(cagr_init_args* args) {
  IsolatedModule* m = std::exchange(entered, nullptr);
  if (m == nullptr) return IsolatedModule::failed(CAGR_ERROR_INTERNAL, "isolated plugin: init without its entry");
  cagr_init_args a = abi::read_struct(args);
  m->log = a.log;
  m->log_user_data = a.log_user_data;
  uint64_t worker_context = 0;
  const cagr_status s = m->locked([&] {
    return m->call(Call::init, [&](MessageWriter& w) {
                     w.put<uint64_t>(a.num_options);
                     for (size_t i = 0; i < a.num_options; ++i) {
                       const cagr_option o = abi::read_struct(a.options[i]);
                       w.put_string(std::string(o.key ? o.key : "")).put_string(std::string(o.value ? o.value : ""));
                     }
                   },
                   [&](MessageReader& r) { worker_context = r.get<uint64_t>(); });
  });
  // The host's context is the proxy; none where the plugin gave none (the host's rules see it).
  a.context = s == CAGR_OK && worker_context != 0 ? reinterpret_cast<cagr_context*>(m) : nullptr;
  abi::write_struct(args, a);
  return s;
}

cagr_status proxy_shutdown(cagr_context* c) {
  IsolatedModule& m = IsolatedModule::of(c);
  return m.locked([&] { return m.call(Call::shutdown, [](MessageWriter&) {}); });
}

cagr_status proxy_get_info(cagr_context* c, cagr_plugin_info* info) {
  IsolatedModule& m = IsolatedModule::of(c);
  return m.locked([&] {
    return m.call(Call::get_info, [](MessageWriter&) {}, [&](MessageReader& r) {
      auto i = make_struct<cagr_plugin_info>();
      const char** fields[] = {&i.name, &i.version, &i.vendor};
      for (int f = 0; f < 3; ++f) {
        const auto s = r.get_optional_string();
        m.info_strings[f] = s.value_or("");
        *fields[f] = s ? m.info_strings[f].c_str() : nullptr;
      }
      i.abi_major = r.get<int32_t>();
      i.abi_minor = r.get<int32_t>();
      abi::write_struct(info, i);
    });
  });
}

cagr_status proxy_device_count(cagr_context* c, int32_t* count) {
  IsolatedModule& m = IsolatedModule::of(c);
  return m.locked([&] { return m.call(Call::device_count, [](MessageWriter&) {}, [&](MessageReader& r) { *count = r.get<int32_t>(); }); });
}

// The string answered, or NULL, kept in this thread's slot `slot`.
const char* answered_string(MessageReader& r, int slot) {
  const auto s = r.get_optional_string();
  answer_strings[slot] = s.value_or("");
  return s ? answer_strings[slot].c_str() : nullptr;
}

cagr_status proxy_device_properties(cagr_context* c, int32_t device, cagr_device_properties* out) {
  IsolatedModule& m = IsolatedModule::of(c);
  return m.locked([&] {
    return m.call(Call::device_properties, [&](MessageWriter& w) { w.put(device); }, [&](MessageReader& r) {
      auto p = make_struct<cagr_device_properties>();
      p.name = answered_string(r, 0);
      p.kind = r.get<cagr_device_kind>();
      p.compute_units = r.get<int32_t>();
      p.peak_gflops_f32 = r.get<double>();
      p.peak_gflops_f16 = r.get<double>();
      p.memory_bandwidth_gbps = r.get<double>();
      p.memory_bytes = r.get<uint64_t>();
      p.last_level_cache_bytes = r.get<uint64_t>();
      p.numa_node = r.get<int32_t>();
      p.pci_bus_id = answered_string(r, 1);
      r.get<int32_t>();
      p.host_accessible = 0;  // its buffers are in the worker's memory, not this process's
      abi::write_struct(out, p);
    });
  });
}

cagr_status proxy_op_query(cagr_context* c, cagr_op_query_args* args) {
  IsolatedModule& m = IsolatedModule::of(c);
  cagr_op_query_args q = abi::read_struct(args);
  return m.locked([&] {
    return m.call(Call::op_query, [&](MessageWriter& w) { w.put(q.device); ipc::put_op_desc(w, q.op); },
                  [&](MessageReader& r) {
                    q.supported = r.get<int32_t>();
                    q.num_variants = r.get<int32_t>();
                    q.reason = answered_string(r, 0);
                    abi::write_struct(args, q);
                  });
  });
}

cagr_status proxy_op_variant(cagr_context* c, cagr_variant_args* args) {
  IsolatedModule& m = IsolatedModule::of(c);
  cagr_variant_args v = abi::read_struct(args);
  return m.locked([&] {
    return m.call(Call::op_variant, [&](MessageWriter& w) { w.put(v.device).put(v.variant); ipc::put_op_desc(w, v.op); },
                  [&](MessageReader& r) {
                    v.name = answered_string(r, 0);
                    v.flops = r.get<double>();
                    v.bytes = r.get<double>();
                    v.estimated_ns = r.get<double>();
                    v.math_precision = r.get<int32_t>();
                    abi::write_struct(args, v);
                  });
  });
}

cagr_status proxy_buffer_alloc(cagr_context* c, cagr_buffer_alloc_args* args) {
  IsolatedModule& m = IsolatedModule::of(c);
  cagr_buffer_alloc_args b = abi::read_struct(args);
  return m.locked([&] {
    return m.call(Call::buffer_alloc, [&](MessageWriter& w) { w.put(b.device).put(b.bytes); },
                  [&](MessageReader& r) {
                    b.buffer = ipc::handle_of<cagr_buffer>(r.get<uint64_t>());
                    abi::write_struct(args, b);
                  });
  });
}

void* proxy_buffer_host_pointer(cagr_context*, cagr_buffer*) { return nullptr; }  // not host_accessible

// Host data crosses through the shared area: copied in before the call, or out after it.
cagr_status proxy_copy(cagr_context* c, cagr_copy_args* args) {
  IsolatedModule& m = IsolatedModule::of(c);
  const cagr_copy_args a = abi::read_struct(args);
  return m.locked([&] {
    const bool from_host = a.kind == CAGR_COPY_HOST_TO_DEVICE, to_host = a.kind == CAGR_COPY_DEVICE_TO_HOST;
    if (from_host || to_host) {
      if (const cagr_status s = m.reserve_shared(a.bytes); s != CAGR_OK) return s;
    }
    if (from_host && a.bytes > 0) std::memcpy(m.shared(), a.src_host, a.bytes);
    const cagr_status s = m.call(Call::copy, [&](MessageWriter& w) {
      w.put(a.kind);
      put_handle(w, a.stream);
      put_handle(w, a.src_buffer);
      w.put(a.src_offset);
      put_handle(w, a.dst_buffer);
      w.put(a.dst_offset).put(a.bytes);
    });
    if (s == CAGR_OK && to_host && a.bytes > 0) std::memcpy(a.dst_host, m.shared(), a.bytes);
    return s;
  });
}

cagr_status proxy_stream_create(cagr_context* c, int32_t device, cagr_stream** stream) {
  return forward_create<Call::stream_create>(c, device, stream);
}
cagr_status proxy_event_create(cagr_context* c, int32_t device, cagr_event** event) {
  return forward_create<Call::event_create>(c, device, event);
}

// A call of two handles whose answer is the status.
template <class A, class B>
cagr_status forward_pair(cagr_context* c, Call call, A* a, B* b) {
  IsolatedModule& m = IsolatedModule::of(c);
  return m.locked([&] { return m.call(call, [&](MessageWriter& w) { put_handle(w, a); put_handle(w, b); }); });
}

cagr_status proxy_event_record(cagr_context* c, cagr_event* event, cagr_stream* stream) {
  return forward_pair(c, Call::event_record, event, stream);
}
cagr_status proxy_stream_wait_event(cagr_context* c, cagr_stream* stream, cagr_event* event) {
  return forward_pair(c, Call::stream_wait_event, stream, event);
}
cagr_status proxy_graph_launch(cagr_context* c, cagr_graph* graph, cagr_stream* stream) {
  return forward_pair(c, Call::graph_launch, graph, stream);
}

// Constants are laid out in the shared area, each at a 64-byte boundary, at the sizes their
// inputs' descriptions give.
cagr_status proxy_kernel_create(cagr_context* c, cagr_kernel_create_args* args) {
  IsolatedModule& m = IsolatedModule::of(c);
  cagr_kernel_create_args k = abi::read_struct(args);
  const cagr_op_desc op = abi::read_struct(k.op);
  struct Placed {
    cagr_constant constant;
    uint64_t offset, bytes;
  };
  std::vector<Placed> placed;
  uint64_t end = 0;
  for (size_t i = 0; i < k.num_constants; ++i) {
    const cagr_constant constant = abi::read_struct(k.constants[i]);
    if (constant.input_index >= op.num_inputs)
      return IsolatedModule::failed(CAGR_ERROR_INVALID_ARGUMENT, "a constant for input " + std::to_string(constant.input_index) +
                                                                     " of an op with " + std::to_string(op.num_inputs) + " inputs");
    const cagr_tensor_desc t = abi::read_struct(op.inputs[constant.input_index]);
    uint64_t bytes = abi::dtype_size(t.dtype);
    for (int d = 0; d < t.rank && d < CAGR_MAX_RANK; ++d) bytes *= static_cast<uint64_t>(std::max<int64_t>(t.dims[d], 0));
    const uint64_t offset = (end + 63) / 64 * 64;
    placed.push_back({constant, offset, bytes});
    end = offset + bytes;
  }
  return m.locked([&] {
    if (const cagr_status s = m.reserve_shared(end); s != CAGR_OK) return s;
    for (const Placed& p : placed)
      if (p.bytes > 0 && p.constant.data != nullptr) std::memcpy(m.shared() + p.offset, p.constant.data, p.bytes);
    return m.call(Call::kernel_create, [&](MessageWriter& w) {
                    w.put(k.device).put(k.variant);
                    ipc::put_op_desc(w, k.op);
                    w.put<uint64_t>(placed.size());
                    for (const Placed& p : placed) w.put<uint64_t>(p.constant.input_index).put(p.offset);
                  },
                  [&](MessageReader& r) {
                    k.kernel = ipc::handle_of<cagr_kernel>(r.get<uint64_t>());
                    abi::write_struct(args, k);
                  });
  });
}

cagr_status proxy_kernel_run(cagr_context* c, cagr_kernel_run_args* args) {
  IsolatedModule& m = IsolatedModule::of(c);
  const cagr_kernel_run_args a = abi::read_struct(args);
  return m.locked([&] {
    return m.call(Call::kernel_run, [&](MessageWriter& w) {
      put_handle(w, a.kernel);
      put_handle(w, a.stream);
      w.put<uint64_t>(a.num_inputs);
      for (size_t i = 0; i < a.num_inputs; ++i) {
        put_handle(w, a.inputs[i]);
        ipc::put_tensor_desc(w, a.input_descs[i]);
      }
      w.put<uint64_t>(a.num_outputs);
      for (size_t i = 0; i < a.num_outputs; ++i) {
        put_handle(w, a.outputs[i]);
        ipc::put_tensor_desc(w, a.output_descs[i]);
      }
    });
  });
}

cagr_status proxy_stream_end_capture(cagr_context* c, cagr_stream* stream, cagr_graph** graph) {
  IsolatedModule& m = IsolatedModule::of(c);
  return m.locked([&] {
    return m.call(Call::stream_end_capture, [&](MessageWriter& w) { put_handle(w, stream); },
                  [&](MessageReader& r) { *graph = ipc::handle_of<cagr_graph>(r.get<uint64_t>()); });
  });
}

cagr_status proxy_event_elapsed(cagr_context* c, cagr_event* start, cagr_event* end, double* microseconds) {
  IsolatedModule& m = IsolatedModule::of(c);
  return m.locked([&] {
    return m.call(Call::event_elapsed, [&](MessageWriter& w) { put_handle(w, start); put_handle(w, end); },
                  [&](MessageReader& r) { *microseconds = r.get<double>(); });
  });
}

cagr_status IsolatedModule::call_entry(cagr_plugin_entry_args* args) {
  uint8_t has_table = 0;
  uint32_t present = 0, optional = 0;
  cagr_status entry_status = CAGR_OK;
  std::optional<std::string> refusal;
  const cagr_status s = locked([&] {
    return call(Call::open, [&](MessageWriter& w) { w.put_string(path_).put(args->host_abi_major).put(args->host_abi_minor); },
                [&](MessageReader& r) {
                  entry_status = r.get<cagr_status>();
                  args->plugin_abi_major = r.get<int32_t>();
                  args->plugin_abi_minor = r.get<int32_t>();
                  refusal = r.get_optional_string();
                  has_table = r.get<uint8_t>();
                  if (has_table == 0) return;
                  table_ = make_struct<cagr_plugin_api>();
                  table_.abi_major = r.get<int32_t>();
                  table_.abi_minor = r.get<int32_t>();
                  present = r.get<uint32_t>();
                  optional = r.get<uint32_t>();
                });
  });
  if (s != CAGR_OK) throw Error(s, last_error);  // the worker could not open the file, or died opening it
  refusal_ = refusal.value_or("");
  args->refusal = refusal ? refusal_.c_str() : nullptr;
  args->api = nullptr;
  if (has_table != 0) {
    cagr_plugin_api proxy = make_struct<cagr_plugin_api>();
    proxy.last_error_message = proxy_last_error_message;
    proxy.init = proxy_init;
    proxy.shutdown = proxy_shutdown;
    proxy.get_info = proxy_get_info;
    proxy.device_count = proxy_device_count;
    proxy.device_properties = proxy_device_properties;
    proxy.op_query = proxy_op_query;
    proxy.op_variant = proxy_op_variant;
    proxy.buffer_alloc = proxy_buffer_alloc;
    proxy.buffer_destroy = forward_handle<Call::buffer_destroy, cagr_buffer>;
    proxy.buffer_host_pointer = proxy_buffer_host_pointer;
    proxy.copy = proxy_copy;
    proxy.stream_create = proxy_stream_create;
    proxy.stream_destroy = forward_handle<Call::stream_destroy, cagr_stream>;
    proxy.stream_synchronize = forward_handle<Call::stream_synchronize, cagr_stream>;
    proxy.event_create = proxy_event_create;
    proxy.event_destroy = forward_handle<Call::event_destroy, cagr_event>;
    proxy.event_record = proxy_event_record;
    proxy.stream_wait_event = proxy_stream_wait_event;
    proxy.event_synchronize = forward_handle<Call::event_synchronize, cagr_event>;
    proxy.kernel_create = proxy_kernel_create;
    proxy.kernel_destroy = forward_handle<Call::kernel_destroy, cagr_kernel>;
    proxy.kernel_run = proxy_kernel_run;
    // The proxy's entries where the worker reported the plugin's table has them (required_entries.hpp).
    const auto slots = required_entries(table_), proxies = required_entries(proxy);
    for (size_t i = 0; i < slots.size(); ++i) *slots[i].slot = (present & (1u << i)) != 0 ? *proxies[i].slot : nullptr;
    if ((optional & ipc::kCaptureEntries) != 0) {
      table_.stream_begin_capture = forward_handle<Call::stream_begin_capture, cagr_stream>;
      table_.stream_end_capture = proxy_stream_end_capture;
      table_.graph_launch = proxy_graph_launch;
      table_.graph_destroy = forward_handle<Call::graph_destroy, cagr_graph>;
    }
    if ((optional & ipc::kEventElapsed) != 0) table_.event_elapsed = proxy_event_elapsed;
    args->api = &table_;
    entered = this;
  }
  return entry_status;
}

bool lies_below(const fs::path& path, const fs::path& folder) {
  const std::string p = path.lexically_normal().string(), f = folder.lexically_normal().string() + "/";
  return p.rfind(f, 0) == 0;
}

}  // namespace

std::string plugin_worker_program() {
  static const char* const kName = "cagr-plugin-worker";
  if (const char* env = std::getenv("CAGR_PLUGIN_WORKER"); env != nullptr && *env != '\0') {
    if (!fs::exists(env)) throw Error(CAGR_ERROR_UNSUPPORTED, std::string("CAGR_PLUGIN_WORKER=") + env + ": no such file");
    return env;
  }
  const fs::path module = loader_module_path();
  std::vector<fs::path> tried;
  if (!module.empty()) {
    tried.push_back(module.parent_path() / kName);  // a program in <bindir>
    tried.push_back((module.parent_path() / CAGR_BINDIR_FROM_LIBDIR / kName).lexically_normal());  // libcagr.so in <libdir>
    if (lies_below(module, CAGR_BUILD_DIR)) tried.push_back(CAGR_PLUGIN_WORKER_BUILD_PATH);
  }
  std::string looked;
  for (const fs::path& p : tried) {
    if (fs::exists(p)) return p.string();
    looked += (looked.empty() ? "" : ", ") + p.string();
  }
  throw Error(CAGR_ERROR_UNSUPPORTED, std::string("cannot isolate plugins: the worker program ") + kName + " was not found (looked for " +
                                          (looked.empty() ? std::string("nothing: the loader's own file is unknown") : looked) +
                                          "); set CAGR_PLUGIN_WORKER to it");
}

std::shared_ptr<PluginModule> start_isolated_plugin(const std::string& path, const IsolationOptions& options) {
  const std::string program = plugin_worker_program();
  try {
    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0)
      throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
    ipc::SharedArea shared = ipc::SharedArea::create();
    std::optional<WorkerProcess> process;
    try {
      process.emplace(WorkerProcess::start(program, {}, {sockets[1], shared.fd()}));
    } catch (...) {
      close(sockets[0]);
      close(sockets[1]);
      throw;
    }
    close(sockets[1]);
    return std::make_shared<IsolatedModule>(path, options, std::move(shared), sockets[0], std::move(*process));
  } catch (const std::runtime_error& e) {
    throw Error(CAGR_ERROR_UNSUPPORTED, path + ": cannot start its worker process (" + program + "): " + e.what());
  }
}

}  // namespace cagr

// plugin_worker.cpp - cagr-plugin-worker, the program an isolated plugin runs in
// (isolated_plugin.hpp): it opens the plugin, then makes each call the host sends (ipc_calls.hpp)
// and answers with the plugin's status and outputs. A plugin that crashes or hangs takes only this
// process down; the host sees it end, or not answer, and reports it.
//
// Started by the host as: cagr-plugin-worker  (its socket on fd 3, the shared area on fd 4)
#include <dlfcn.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "cagr_plugin.h"
#include "cagr_struct.hpp"
#include "ipc_calls.hpp"
#include "ipc_channel.hpp"
#include "required_entries.hpp"
#include "shared_area.hpp"

namespace {

using namespace cagr::ipc;
using cagr::abi::make_struct;

constexpr int kSocketFd = 3;
constexpr int kSharedFd = 4;
// Longest plugin string sent back; one longer arrives cut there, and the host's rules refuse it.
constexpr size_t kStringLimit = 4097;

class Worker {
 public:
  Worker() : channel_(kSocketFd), shared_(kSharedFd) {}

  // Serves calls until the host closes the socket.
  int serve() {
    std::string request;
    while (channel_.receive(&request) == Channel::Received::message) {
      MessageReader in(std::move(request));
      MessageWriter out;
      const auto call = in.get<Call>();
      cagr_status status = CAGR_ERROR_INTERNAL;
      std::string error;
      try {
        status = dispatch(call, in, out);
        if (status != CAGR_OK) error = own_error_.empty() ? message_of_last_error() : own_error_;
        own_error_.clear();
      } catch (const std::exception& e) {
        status = CAGR_ERROR_INTERNAL;
        error = std::string("a C++ exception escaped the plugin (the ABI is C: an entry returns a status): ") + e.what();
      } catch (...) {
        status = CAGR_ERROR_INTERNAL;
        error = "a C++ exception of unknown type escaped the plugin (the ABI is C: an entry returns a status)";
      }
      MessageWriter reply;
      reply.put(Frame::reply).put(status);
      if (status == CAGR_OK) reply.put_bytes(out.bytes().data(), out.bytes().size());
      else reply.put_string(error);
      if (!send(reply.bytes())) return 1;
    }
    return 0;
  }

 private:
  bool send(const std::string& bytes) {
    std::lock_guard<std::mutex> lock(send_mutex_);
    return channel_.send(bytes);
  }

  // The plugin may log from any thread; each message goes to the host as it comes.
  static void forward_log(void* user_data, cagr_log_level level, const char* message) {
    auto* self = static_cast<Worker*>(user_data);
    MessageWriter frame;
    frame.put(Frame::log).put(level).put_string(message ? message : "", kStringLimit);
    self->send(frame.bytes());
  }

  std::string message_of_last_error() const {
    if (api_ == nullptr || api_->last_error_message == nullptr) return "";
    const char* m = api_->last_error_message();
    return m ? std::string(m, strnlen(m, kStringLimit)) : "";
  }

  cagr_context* context() const { return context_; }

  cagr_status open(MessageReader& in, MessageWriter& out) {
    const std::string path = in.get_string();
    auto args = make_struct<cagr_plugin_entry_args>();
    args.host_abi_major = in.get<int32_t>();
    args.host_abi_minor = in.get<int32_t>();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      own_error_ = path + ": dlopen failed: " + (why ? why : "unknown reason");
      return CAGR_ERROR_UNSUPPORTED;
    }
    auto entry = reinterpret_cast<cagr_plugin_entry_fn>(dlsym(handle, CAGR_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr) {
      own_error_ = path + ": no entry symbol '" CAGR_PLUGIN_ENTRY_SYMBOL "' (not a CAGR plugin?)";
      return CAGR_ERROR_UNSUPPORTED;
    }
    const cagr_status status = entry(&args);
    out.put(status).put(args.plugin_abi_major).put(args.plugin_abi_minor).put_string(args.refusal, kStringLimit);
    if (status != CAGR_OK || args.api == nullptr || args.api->struct_size < CAGR_STRUCT_SIZE(cagr_plugin_api, abi_minor)) {
      out.put<uint8_t>(0);
      return CAGR_OK;  // the entry's answer travels as it is; the host judges it
    }
    table_ = cagr::abi::read_struct(args.api);
    api_ = &table_;
    uint32_t optional = 0;
    if (table_.stream_begin_capture && table_.stream_end_capture && table_.graph_launch && table_.graph_destroy)
      optional |= kCaptureEntries;
    if (table_.event_elapsed) optional |= kEventElapsed;
    // Which required entries the table has (required_entries.hpp); the host refuses a table that
    // lacks one, naming it.
    uint32_t present = 0;
    const auto required = cagr::required_entries(table_);
    for (size_t i = 0; i < required.size(); ++i)
      if (*required[i].slot != nullptr) present |= 1u << i;
    out.put<uint8_t>(1).put(table_.abi_major).put(table_.abi_minor).put(present).put(optional);
    return CAGR_OK;
  }

  cagr_status dispatch(Call call, MessageReader& in, MessageWriter& out) {
    if (call == Call::open) return open(in, out);
    if (call == Call::map_shared) {
      shared_.map(in.get<uint64_t>());
      return CAGR_OK;
    }
    if (api_ == nullptr) {
      own_error_ = "the plugin was not opened";
      return CAGR_ERROR_INTERNAL;
    }
    const cagr_plugin_api& a = *api_;
    switch (call) {
      case Call::open:
      case Call::map_shared: break;
      case Call::init: {
        std::vector<std::string> strings;
        const auto n = in.get<uint64_t>();
        for (uint64_t i = 0; i < 2 * n; ++i) strings.push_back(in.get_string());
        std::vector<cagr_option> options(n);
        std::vector<const cagr_option*> pointers;
        for (uint64_t i = 0; i < n; ++i) {
          options[i] = make_struct<cagr_option>();
          options[i].key = strings[2 * i].c_str();
          options[i].value = strings[2 * i + 1].c_str();
          pointers.push_back(&options[i]);
        }
        auto args = make_struct<cagr_init_args>();
        args.num_options = n;
        args.options = pointers.data();
        args.log = forward_log;
        args.log_user_data = this;
        const cagr_status s = a.init(&args);
        context_ = args.context;
        out.put(handle_value(args.context));
        return s;
      }
      case Call::shutdown: return a.shutdown(context());
      case Call::get_info: {
        auto info = make_struct<cagr_plugin_info>();
        const cagr_status s = a.get_info(context(), &info);
        out.put_string(info.name, kStringLimit).put_string(info.version, kStringLimit).put_string(info.vendor, kStringLimit);
        out.put(info.abi_major).put(info.abi_minor);
        return s;
      }
      case Call::device_count: {
        int32_t count = 0;
        const cagr_status s = a.device_count(context(), &count);
        out.put(count);
        return s;
      }
      case Call::device_properties: {
        auto p = make_struct<cagr_device_properties>();
        const cagr_status s = a.device_properties(context(), in.get<int32_t>(), &p);
        out.put_string(p.name, kStringLimit).put(p.kind).put(p.compute_units).put(p.peak_gflops_f32).put(p.peak_gflops_f16);
        out.put(p.memory_bandwidth_gbps).put(p.memory_bytes).put(p.last_level_cache_bytes).put(p.numa_node);
        out.put_string(p.pci_bus_id, kStringLimit).put(p.host_accessible);
        return s;
      }
      case Call::op_query: {
        auto q = make_struct<cagr_op_query_args>();
        q.device = in.get<int32_t>();
        cagr::abi::OwnedOpDesc op = get_op_desc(in);
        q.op = &op.desc();
        const cagr_status s = a.op_query(context(), &q);
        out.put(q.supported).put(q.num_variants).put_string(q.reason, kStringLimit);
        return s;
      }
      case Call::op_variant: {
        auto v = make_struct<cagr_variant_args>();
        v.math_precision = CAGR_MATH_F32;  // what an older plugin leaves
        v.device = in.get<int32_t>();
        v.variant = in.get<int32_t>();
        cagr::abi::OwnedOpDesc op = get_op_desc(in);
        v.op = &op.desc();
        const cagr_status s = a.op_variant(context(), &v);
        out.put_string(v.name, kStringLimit).put(v.flops).put(v.bytes).put(v.estimated_ns).put(v.math_precision);
        return s;
      }
      case Call::buffer_alloc: {
        auto b = make_struct<cagr_buffer_alloc_args>();
        b.device = in.get<int32_t>();
        b.bytes = in.get<uint64_t>();
        const cagr_status s = a.buffer_alloc(context(), &b);
        out.put(handle_value(b.buffer));
        return s;
      }
      case Call::buffer_destroy: return a.buffer_destroy(context(), handle_of<cagr_buffer>(in.get<uint64_t>()));
      case Call::copy: return copy(in);
      case Call::stream_create: {
        cagr_stream* stream = nullptr;
        const cagr_status s = a.stream_create(context(), in.get<int32_t>(), &stream);
        out.put(handle_value(stream));
        return s;
      }
      case Call::stream_destroy: return a.stream_destroy(context(), handle_of<cagr_stream>(in.get<uint64_t>()));
      case Call::stream_synchronize: return a.stream_synchronize(context(), handle_of<cagr_stream>(in.get<uint64_t>()));
      case Call::event_create: {
        cagr_event* event = nullptr;
        const cagr_status s = a.event_create(context(), in.get<int32_t>(), &event);
        out.put(handle_value(event));
        return s;
      }
      case Call::event_destroy: return a.event_destroy(context(), handle_of<cagr_event>(in.get<uint64_t>()));
      case Call::event_record: {
        auto* event = handle_of<cagr_event>(in.get<uint64_t>());
        return a.event_record(context(), event, handle_of<cagr_stream>(in.get<uint64_t>()));
      }
      case Call::stream_wait_event: {
        auto* stream = handle_of<cagr_stream>(in.get<uint64_t>());
        return a.stream_wait_event(context(), stream, handle_of<cagr_event>(in.get<uint64_t>()));
      }
      case Call::event_synchronize: return a.event_synchronize(context(), handle_of<cagr_event>(in.get<uint64_t>()));
      case Call::kernel_create: return kernel_create(in, out);
      case Call::kernel_destroy: return a.kernel_destroy(context(), handle_of<cagr_kernel>(in.get<uint64_t>()));
      case Call::kernel_run: return kernel_run(in);
      case Call::stream_begin_capture: return a.stream_begin_capture(context(), handle_of<cagr_stream>(in.get<uint64_t>()));
      case Call::stream_end_capture: {
        cagr_graph* graph = nullptr;
        const cagr_status s = a.stream_end_capture(context(), handle_of<cagr_stream>(in.get<uint64_t>()), &graph);
        out.put(handle_value(graph));
        return s;
      }
      case Call::graph_launch: {
        auto* graph = handle_of<cagr_graph>(in.get<uint64_t>());
        return a.graph_launch(context(), graph, handle_of<cagr_stream>(in.get<uint64_t>()));
      }
      case Call::graph_destroy: return a.graph_destroy(context(), handle_of<cagr_graph>(in.get<uint64_t>()));
      case Call::event_elapsed: {
        auto* start = handle_of<cagr_event>(in.get<uint64_t>());
        auto* end = handle_of<cagr_event>(in.get<uint64_t>());
        double us = 0;
        const cagr_status s = a.event_elapsed(context(), start, end, &us);
        out.put(us);
        return s;
      }
    }
    own_error_ = "unknown call " + std::to_string(static_cast<uint32_t>(call));
    return CAGR_ERROR_INTERNAL;
  }

  // Host data comes in through the shared area's first bytes, or goes out there. The copy is
  // finished (its stream synchronised) before the answer, as the area is reused by the next call.
  cagr_status copy(MessageReader& in) {
    auto c = make_struct<cagr_copy_args>();
    c.kind = in.get<cagr_copy_kind>();
    c.stream = handle_of<cagr_stream>(in.get<uint64_t>());
    c.src_buffer = handle_of<cagr_buffer>(in.get<uint64_t>());
    c.src_offset = in.get<uint64_t>();
    c.dst_buffer = handle_of<cagr_buffer>(in.get<uint64_t>());
    c.dst_offset = in.get<uint64_t>();
    c.bytes = in.get<uint64_t>();
    if (c.kind == CAGR_COPY_HOST_TO_DEVICE) c.src_host = shared_.data();
    if (c.kind == CAGR_COPY_DEVICE_TO_HOST) c.dst_host = shared_.data();
    const cagr_status s = api_->copy(context(), &c);
    if (s != CAGR_OK || c.kind == CAGR_COPY_DEVICE_TO_DEVICE) return s;
    return api_->stream_synchronize(context(), c.stream);
  }

  cagr_status kernel_create(MessageReader& in, MessageWriter& out) {
    auto k = make_struct<cagr_kernel_create_args>();
    k.device = in.get<int32_t>();
    k.variant = in.get<int32_t>();
    cagr::abi::OwnedOpDesc op = get_op_desc(in);
    k.op = &op.desc();
    std::vector<cagr_constant> constants(in.get<uint64_t>());
    std::vector<const cagr_constant*> pointers;
    for (cagr_constant& c : constants) {
      c = make_struct<cagr_constant>();
      c.input_index = in.get<uint64_t>();
      c.data = shared_.data() + in.get<uint64_t>();
      pointers.push_back(&c);
    }
    k.num_constants = pointers.size();
    k.constants = pointers.data();
    const cagr_status s = api_->kernel_create(context(), &k);
    out.put(handle_value(k.kernel));
    return s;
  }

  cagr_status kernel_run(MessageReader& in) {
    auto r = make_struct<cagr_kernel_run_args>();
    r.kernel = handle_of<cagr_kernel>(in.get<uint64_t>());
    r.stream = handle_of<cagr_stream>(in.get<uint64_t>());
    std::vector<cagr_buffer*> buffers[2];
    std::vector<cagr_tensor_desc> descs[2];
    for (int side = 0; side < 2; ++side) {
      for (auto n = in.get<uint64_t>(); n > 0; --n) {
        buffers[side].push_back(handle_of<cagr_buffer>(in.get<uint64_t>()));
        descs[side].push_back(get_tensor_desc(in));
      }
    }
    std::vector<const cagr_tensor_desc*> desc_pointers[2];
    for (int side = 0; side < 2; ++side)
      for (const auto& d : descs[side]) desc_pointers[side].push_back(&d);
    r.num_inputs = buffers[0].size();
    r.inputs = buffers[0].data();
    r.input_descs = desc_pointers[0].data();
    r.num_outputs = buffers[1].size();
    r.outputs = buffers[1].data();
    r.output_descs = desc_pointers[1].data();
    return api_->kernel_run(context(), &r);
  }

  Channel channel_;
  SharedArea shared_;
  std::mutex send_mutex_;
  cagr_plugin_api table_{};
  const cagr_plugin_api* api_ = nullptr;
  cagr_context* context_ = nullptr;
  std::string own_error_;  // the worker's own failure in the current call, reported as the plugin's message
};

}  // namespace

int main() {
  struct stat socket_stat {};
  if (fstat(kSocketFd, &socket_stat) != 0 || !S_ISSOCK(socket_stat.st_mode)) {
    std::fprintf(stderr, "cagr-plugin-worker: runs one plugin for a CAGR host that isolates plugins; not for use by hand\n");
    return 2;
  }
  // Crash signals take their default action, so that the host sees the signal even when this
  // program runs under a sanitizer (which turns a SIGSEGV into a report and exit(1)).
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, SIG_DFL);
  // No PR_SET_PDEATHSIG: it follows the host's thread that started the worker, not the host, so a
  // runtime made on a thread that then ends would lose its plugins. The worker ends when the
  // host's end of the socket closes, which the kernel does when the host dies.
  Worker worker;
  return worker.serve();
}

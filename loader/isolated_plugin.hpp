// isolated_plugin.hpp - a plugin run in a worker process of its own (cagr-plugin-worker,
// plugin_worker.cpp), so that a plugin that crashes or hangs while running (in op_query,
// kernel_run, anywhere) costs the host an error instead of its life.
//
// The host side is a proxy: a table of the ABI's entry points (cagr_plugin.h) whose every entry
// sends the call to the worker and returns the plugin's answer. Plugin::load over the module below
// gives an ordinary Plugin, so nothing above the loader changes. Tensors cross through shared
// memory (shared_area.hpp), the calls through a socket (ipc_calls.hpp). A worker that dies makes
// the call fail with CAGR_ERROR_DEVICE and a message that says how it ended and in which entry
// ("the plugin's worker process (pid 123) crashed (SIGSEGV: Segmentation fault) in kernel_run");
// one that does not answer within the call timeout is killed, with "did not answer kernel_run
// within 60000 ms". Every later call of that plugin fails saying the worker is gone.
//
// Differences from the plugin run in-process: its devices are reported not host_accessible (its
// buffers live in the worker, so buffer_host_pointer has none); each copy to or from the host is
// finished before it returns (the copy synchronises its stream, since the shared area it passes
// through is reused); calls are made one at a time per plugin.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "plugin.hpp"

namespace cagr {

struct IsolationOptions {
  // A call not answered within this is taken as a hang: the worker is killed and the call fails.
  // Generous by default, as a kernel_create of large weights or a first kernel compile take seconds.
  std::chrono::milliseconds call_timeout{60000};
};

// Starts a worker for the plugin in file `path`; Plugin::load(module, ...) then opens the plugin
// there. Throws Error naming the file when no worker can be started.
std::shared_ptr<PluginModule> start_isolated_plugin(const std::string& path, const IsolationOptions& options);

// The worker program: $CAGR_PLUGIN_WORKER where set; else cagr-plugin-worker beside the loader's
// program, or in the install's bindir for libcagr.so in its libdir, or the one of the build tree
// the loader lies in. Throws Error saying where it looked when there is none.
std::string plugin_worker_program();

}  // namespace cagr

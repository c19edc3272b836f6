// registry.hpp - finding, vetting and loading every plugin the host may use, and saying why each
// one was or was not loaded (discovery order, manifests and skip reasons: docs/PLUGINS.md).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "isolated_plugin.hpp"
#include "plugin.hpp"
#include "plugin_files.hpp"

namespace cagr {

struct DiscoveryOptions {
  std::vector<std::string> paths;  // plugin files or folders searched first (cagr-run --plugins)
  // "auto": every plugin found; else comma-separated plugin names or paths ("cpu,opencl").
  std::string selection = "auto";
  bool use_env = true;              // CAGR_PLUGIN_PATH, CAGR_PLUGIN_PROBE
  bool use_default_folders = true;  // the install's and the build tree's plugins folders
  bool probe = true;                // load each plugin in a child process first
  std::chrono::milliseconds probe_timeout{10000};
  // Probes run at once, each in its own child; 0: one per core.
  unsigned parallel_probes = 0;
  // Keep probe results in the cache folder (probe_cache.hpp), so an unchanged plugin is not probed
  // again: its init then runs once per run instead of twice.
  bool cache_probes = true;
  // Run each plugin in a worker process of its own (isolated_plugin.hpp), so that one crashing or
  // hanging while it runs costs an error naming it instead of the host; nullopt: in this process.
  // Isolated plugins are not probed: their loading is in the worker already.
  std::optional<IsolationOptions> isolation;
  std::optional<std::string> manifest;  // a plugins.xml consulted before those in searched folders
  // Options for the plugin of a name ("cpu" -> {{"threads", "4"}}), given to its init after the
  // manifest's; a key given both ways takes this value (cagr-run --threads).
  std::map<std::string, Options> plugin_options;
  LogFn log;  // plugins' log messages; default: stderr at the CAGR_LOG_LEVEL threshold
  // Called as each plugin's probe ends ("probing plugins: libcagr_cuda.so probed, 2 of 3") and before
  // each plugin is loaded ("loading plugin libcagr_cuda.so (2 of 3)"); may be empty.
  std::function<void(const std::string&)> progress;
};

struct PluginRecord {
  enum class Status { loaded, skipped, disabled, shadowed };
  std::string path;
  std::string name;    // the plugin's own name once loaded, else the one its file name gives
  std::string origin;  // which search place found it: "explicit", "CAGR_PLUGIN_PATH", ...
  Status status = Status::skipped;
  std::string reason;  // one line naming the file; empty when loaded
  int priority = 0;    // the core prefers higher priority when cost hints tie
  Options options;     // handed to the plugin's init
  std::shared_ptr<Plugin> plugin;  // when loaded
};

const char* to_string(PluginRecord::Status status);

class Registry {
 public:
  // Searches, reads manifests, probes and loads. Throws Error for a configuration mistake: an
  // explicit path that does not exist, a malformed manifest, a selected name found nowhere.
  // A plugin that fails in any way is never an exception: it becomes a skipped record.
  static Registry discover(const DiscoveryOptions& options);

  const std::vector<PluginRecord>& records() const { return records_; }
  // The places that were searched, in order (only those that exist), and the default folders that
  // would have been searched had they existed.
  const std::vector<SearchPlace>& searched() const { return searched_; }
  const std::vector<SearchPlace>& missing_default_folders() const { return missing_defaults_; }
  std::vector<std::shared_ptr<Plugin>> loaded() const;
  const PluginRecord* find(const std::string& name) const;  // by name, nullptr when absent

 private:
  std::vector<PluginRecord> records_;
  std::vector<SearchPlace> searched_;
  std::vector<SearchPlace> missing_defaults_;  // default folders that do not exist
};

// The text `cagr-run --list-plugins` prints: every plugin found with its status and reason; for
// loaded ones name, version, vendor, ABI (built and negotiated) and a table of devices. When no
// plugin file was found, where it looked and how to point it elsewhere.
std::string format_plugin_list(const Registry& registry);

}  // namespace cagr

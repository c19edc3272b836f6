// probe_cache.hpp - probe results kept from one run to the next, keyed by the plugin file's identity
// (path, size, modification time) and the options its init gets. A plugin that probed well and has
// not changed since is then initialised once per run, in the host, instead of twice (in the probe's
// child, then in the host); one that crashed or hung in its probe is skipped without waiting for it
// again. Failures that are not crashes are probed again each run: they cost one init in a child and
// often depend on the machine (no driver yet), not on the file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "plugin.hpp"
#include "probe.hpp"

namespace cagr {

class ProbeCache {
 public:
  // The cache in `file`; an empty path is no cache (nothing found, nothing stored).
  explicit ProbeCache(std::filesystem::path file) : file_(std::move(file)) {}
  // <cache dir>/probe_results.txt (CAGR_CACHE_DIR, else XDG_CACHE_HOME/cagr, else ~/.cache/cagr).
  static ProbeCache in_cache_dir();

  // The stored result for `path` probed with `options`, when the file is unchanged since.
  std::optional<ProbeResult> find(const std::string& path, const Options& options) const;
  // Keeps `result` where it is worth keeping (see above); a cache that cannot be written is no error.
  void store(const std::string& path, const Options& options, const ProbeResult& result) const;

 private:
  std::filesystem::path file_;
};

}  // namespace cagr

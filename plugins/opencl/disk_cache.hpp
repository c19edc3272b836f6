// disk_cache.hpp - the plugin's files under ~/.cache/cagr/opencl (or $XDG_CACHE_HOME/cagr/opencl):
// compiled program binaries and measured device speeds, so that a second process starts fast.
// Every failure to read or write the cache is silent: the cache only ever saves time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cagr::opencl {

// FNV-1a, 64 bits: a stable hash for cache keys (std::hash may differ between builds).
uint64_t stable_hash(const std::string& text, uint64_t seed = 1469598103934665603ull);
std::string hex(uint64_t value);

class DiskCache {
 public:
  // `folder` empty: the default folder from the environment; none found disables the cache.
  explicit DiskCache(const std::string& folder);
  std::optional<std::string> read(const std::string& file) const;
  // Written to a temporary file and renamed into place, so readers never see half a file.
  void write(const std::string& file, const std::string& bytes) const;
  const std::string& folder() const { return folder_; }

 private:
  std::string folder_;
};

}  // namespace cagr::opencl

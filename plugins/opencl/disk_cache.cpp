// disk_cache.cpp - files under the plugin's cache folder.
#include "disk_cache.hpp"

#include "cagr_plugin_support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cagr::opencl {

uint64_t stable_hash(const std::string& text, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex(uint64_t value) {
  std::ostringstream out;
  out << std::hex << value;
  return out.str();
}

namespace {

std::string default_folder() {
  const std::filesystem::path dir = cagr::plugin::cache_dir();
  return dir.empty() ? "" : (dir / "opencl").string();
}

}  // namespace

DiskCache::DiskCache(const std::string& folder) : folder_(folder.empty() ? default_folder() : folder) {
  if (folder_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(folder_, ec);
  if (ec) folder_.clear();
}

std::optional<std::string> DiskCache::read(const std::string& file) const {
  if (folder_.empty()) return std::nullopt;
  std::ifstream in(folder_ + "/" + file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void DiskCache::write(const std::string& file, const std::string& bytes) const {
  if (folder_.empty()) return;
  const std::string path = folder_ + "/" + file;
  // The process id keeps two processes writing the same entry from sharing a temporary file.
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace cagr::opencl

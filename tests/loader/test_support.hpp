// test_support.hpp - what the loader's tests share: test plugin paths, scratch folders, and
// environment variables set for the length of one test.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>

#include "registry.hpp"

namespace cagr::test {

// The host's ABI version as the loader prints it ("1.2").
inline const std::string kAbi = std::to_string(CAGR_ABI_VERSION_MAJOR) + "." + std::to_string(CAGR_ABI_VERSION_MINOR);

// The file of test plugin `name` (e.g. "good" -> .../libcagr_test_good.so).
inline std::string test_plugin(const std::string& name) {
  return std::string(TEST_PLUGIN_DIR) + "/libcagr_test_" + name + ".so";
}

// Discovery of exactly what a test names: no environment, no default folders, short probes, no
// probe cache.
inline DiscoveryOptions isolated(std::vector<std::string> paths) {
  DiscoveryOptions o;
  o.paths = std::move(paths);
  o.use_env = false;
  o.use_default_folders = false;
  o.probe_timeout = std::chrono::milliseconds(2000);
  o.cache_probes = false;  // every test probes afresh; the probe cache's own tests turn it on
  o.log = [](cagr_log_level, const std::string&, const std::string&) {};
  return o;
}

// A fresh folder, removed with everything in it at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device random;
    path_ = std::filesystem::path(::testing::TempDir()) / ("cagr_loader_" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string path() const { return path_.string(); }
  // Creates sub-folder `name` (and parents) and returns its path.
  std::string folder(const std::string& name) const {
    std::filesystem::create_directories(path_ / name);
    return (path_ / name).string();
  }
  // Copies `file` to `folder/new_name`; returns the new path.
  std::string copy(const std::string& file, const std::string& folder, const std::string& new_name) const {
    const auto to = std::filesystem::path(folder) / new_name;
    std::filesystem::copy_file(file, to, std::filesystem::copy_options::overwrite_existing);
    return to.string();
  }
  // Writes `text` to file `name` in this folder; returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

// Sets (or, with nullopt, unsets) an environment variable until the end of the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) setenv(name, value->c_str(), 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The record whose file is `path`; fails the test when there is none.
inline const PluginRecord& record_of(const Registry& registry, const std::string& path) {
  for (const auto& r : registry.records()) {
    if (r.path == path) return r;
  }
  ADD_FAILURE() << "no record for " << path;
  static const PluginRecord none;
  return none;
}

}  // namespace cagr::test

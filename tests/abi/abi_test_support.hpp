// abi_test_support.hpp - what the ABI tests share: the test plugins' files, calling a plugin's raw
// entry point, and structs surrounded by guard bytes that prove a plugin wrote nothing past them.
#pragma once

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "cagr_plugin.h"
#include "plugin.hpp"

namespace cagr::abi_test {

inline std::string abi_plugin(const std::string& name) {
  return std::string(ABI_TEST_PLUGIN_DIR) + "/libcagr_test_abi_" + name + ".so";
}
inline std::string loader_plugin(const std::string& name) {
  return std::string(LOADER_TEST_PLUGIN_DIR) + "/libcagr_test_" + name + ".so";
}

// A plugin library opened only to call its cagr_plugin_entry directly.
class RawEntry {
 public:
  explicit RawEntry(const std::string& path) : library_(Library::open(path)) {
    entry_ = reinterpret_cast<cagr_plugin_entry_fn>(library_->symbol(CAGR_PLUGIN_ENTRY_SYMBOL));
    EXPECT_NE(entry_, nullptr) << path;
  }
  cagr_status operator()(cagr_plugin_entry_args* args) const { return entry_(args); }

 private:
  std::shared_ptr<Library> library_;
  cagr_plugin_entry_fn entry_ = nullptr;
};

// A T that its allocator made only `size` bytes long, followed by guard bytes up to and past
// sizeof(T): whatever the other side writes beyond `size` shows up in the guard.
template <class T>
class Guarded {
 public:
  static constexpr unsigned char kGuard = 0xA5;
  explicit Guarded(size_t size) : size_(size) {
    std::memset(storage_, kGuard, sizeof storage_);
    std::memset(storage_, 0, size);
    get()->struct_size = size;
  }
  T* get() { return reinterpret_cast<T*>(storage_); }
  // The first byte past `size` that was written, or -1.
  long first_overwritten_byte() const {
    for (size_t i = size_; i < sizeof storage_; ++i) {
      if (storage_[i] != kGuard) return static_cast<long>(i);
    }
    return -1;
  }

 private:
  size_t size_;
  alignas(T) unsigned char storage_[sizeof(T) + 64];
};

}  // namespace cagr::abi_test

// host_memory.hpp - the CPU plugin's memory: buffers and constant copies (weights, tables).
//
// Cache-line aligned. Blocks of 2 MiB or more ask for transparent huge pages: embedding lookups hit
// random rows of tables of GBs, and with 4 KiB pages nearly every lookup also misses the TLB.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

namespace cagr::cpu {

class HostMemory {
 public:
  HostMemory() = default;
  explicit HostMemory(size_t bytes) : size_(bytes) {
    const size_t alignment = bytes >= kHugePage ? kHugePage : kCacheLine;
    const size_t rounded = (std::max<size_t>(bytes, 1) + alignment - 1) / alignment * alignment;
    data_ = static_cast<std::byte*>(std::aligned_alloc(alignment, rounded));
    if (data_ == nullptr) throw std::bad_alloc();
    if (alignment == kHugePage) madvise(data_, rounded, MADV_HUGEPAGE);  // a hint: fine if refused
  }
  HostMemory(HostMemory&& other) noexcept { *this = std::move(other); }
  HostMemory& operator=(HostMemory&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;
  ~HostMemory() { std::free(data_); }

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  static constexpr size_t kCacheLine = 64;
  static constexpr size_t kHugePage = size_t{2} << 20;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace cagr::cpu

// cagr_plugin_host_device.hpp - the memory, stream and event hooks of cagr_plugin_kit.hpp for a
// plugin whose devices compute in host memory on the calling thread (the CPU plugin, the plugin
// template): buffers are aligned host memory, and streams run their work at once, in order.
//
// Why synchronous streams: on the CPU the "device" is the executor's own threads. A queue with a
// worker thread behind it would only add a hand-off per op; parallelism comes from inside the
// kernels. So every stream is always idle, events are complete as soon as they are recorded, and
// there is nothing to capture into a graph.
//
// Including this header defines the plugin's cagr_buffer, cagr_stream and cagr_event; a plugin
// class derives from kit::HostDevice and adds the rest of its hooks.
#ifndef CAGR_PLUGIN_HOST_DEVICE_HPP_
#define CAGR_PLUGIN_HOST_DEVICE_HPP_

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "cagr_plugin_kit.hpp"

namespace cagr::plugin::kit {

// Cache-line aligned host memory. Blocks of 2 MiB or more ask for transparent huge pages: embedding
// lookups hit random rows of tables of GBs, and with 4 KiB pages nearly every lookup also misses
// the TLB.
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

// The plugin's copy of a kernel's constant in host memory (shared_constant: one per borrowed
// constant among the kernels that live; a copy rather than the host's memory itself, for the huge
// pages above).
inline std::shared_ptr<const HostMemory> constant_copy(const void* data, size_t bytes, bool borrowed) {
  return shared_constant<HostMemory>(nullptr, data, bytes, borrowed, [&] {
    auto memory = std::make_shared<HostMemory>(bytes);
    if (bytes > 0) std::memcpy(memory->data(), data, bytes);
    return std::shared_ptr<const HostMemory>(std::move(memory));
  });
}

}  // namespace cagr::plugin::kit

struct cagr_buffer {
  cagr::plugin::kit::HostMemory memory;
};
struct cagr_stream {};
// Work has run by the time it is queued, so an event's time is when it was recorded.
struct cagr_event {
  std::chrono::steady_clock::time_point recorded{};
};

namespace cagr::plugin::kit {

struct HostDevice : DeleteObjects {
  static cagr_buffer* buffer_alloc(cagr_context&, int32_t, uint64_t bytes) { return new cagr_buffer{HostMemory(bytes)}; }
  static uint64_t buffer_bytes(const cagr_buffer& buffer) { return buffer.memory.size(); }
  static void* buffer_host_pointer(cagr_buffer& buffer) { return buffer.memory.data(); }
  // `run`'s buffer of input or output `i` as a pointer (a constant's is the plugin's own copy).
  static std::byte* data(cagr_buffer* buffer) { return buffer->memory.data(); }

  static void copy(cagr_context&, cagr_stream&, const cagr_copy_args& c) {
    switch (c.kind) {
      case CAGR_COPY_HOST_TO_DEVICE: std::memcpy(data(c.dst_buffer) + c.dst_offset, c.src_host, c.bytes); break;
      case CAGR_COPY_DEVICE_TO_HOST: std::memcpy(c.dst_host, data(c.src_buffer) + c.src_offset, c.bytes); break;
      case CAGR_COPY_DEVICE_TO_DEVICE:
        std::memmove(data(c.dst_buffer) + c.dst_offset, data(c.src_buffer) + c.src_offset, c.bytes);
        break;
    }
  }

  static cagr_stream* stream_create(cagr_context&, int32_t) { return new cagr_stream(); }
  static void stream_synchronize(cagr_context&, cagr_stream&) {}  // work ran when it was queued
  static cagr_event* event_create(cagr_context&, int32_t) { return new cagr_event(); }
  static void event_record(cagr_context&, cagr_event& event, cagr_stream&) { event.recorded = std::chrono::steady_clock::now(); }
  static void stream_wait_event(cagr_context&, cagr_stream&, cagr_event&) {}
  static void event_synchronize(cagr_context&, cagr_event&) {}
  static double event_elapsed(cagr_context&, cagr_event& start, cagr_event& end) {
    return std::chrono::duration<double, std::micro>(end.recorded - start.recorded).count();
  }
};

}  // namespace cagr::plugin::kit

#endif  // CAGR_PLUGIN_HOST_DEVICE_HPP_

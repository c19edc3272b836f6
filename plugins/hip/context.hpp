// context.hpp - one initialised plugin instance: its devices and options, and the objects the
// host creates through it (buffers, streams, events, graphs).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cagr_plugin.h"
#include "device_error.hpp"
#include "device_properties.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

// What the plugin keeps per device for the context's lifetime.
class DeviceState {
 public:
  explicit DeviceState(int ordinal);
  ~DeviceState();
  DeviceState(const DeviceState&) = delete;
  DeviceState& operator=(const DeviceState&) = delete;

  int ordinal() const { return ordinal_; }
  const RuntimeFacts& facts() const { return facts_; }
  // Runtime facts plus the measured peaks; the probe runs on first use (or comes from the cache).
  const MeasuredPeaks& peaks();

  DeviceErrorRecord* error_record_for_kernels() const { return device_record_; }
  // Throws CAGR_ERROR_INVALID_ARGUMENT when a kernel recorded bad input, and clears the record.
  void raise_recorded_error();

 private:
  int ordinal_;
  RuntimeFacts facts_;
  std::once_flag peaks_once_;
  MeasuredPeaks peaks_;
  DeviceErrorRecord* host_record_ = nullptr;    // pinned, mapped host memory
  DeviceErrorRecord* device_record_ = nullptr;  // the same memory as kernels address it
};

}  // namespace cagr::gpu

struct cagr_context {
  std::vector<std::unique_ptr<cagr::gpu::DeviceState>> devices;
  std::string no_device_reason;  // why devices is empty
  bool allow_tf32 = false;       // option "allow_tf32=1": linear may round inputs to TF32
  bool allow_bf16 = false;       // option "allow_bf16=1": mlp may keep its activations in bf16 (mlp.cpp)

  cagr::gpu::DeviceState& device(int index) const;
};

struct cagr_buffer {
  int device;
  void* ptr;
  uint64_t bytes;
};

struct cagr_stream {
  int device;
  hipStream_t stream;
};

struct cagr_event {
  int device;
  hipEvent_t event;
};

struct cagr_graph {
  int device;
  hipGraph_t graph;
  hipGraphExec_t exec;
};

// device_timer.hpp - the device time of work queued on a stream, between two events (RAII over
// hipEventCreate / hipEventDestroy): the plugin's probes and cuBLASLt's algorithm choice time work so.
#pragma once

#include "gpu_check.hpp"

namespace cagr::gpu {

class DeviceTimer {
 public:
  DeviceTimer() {
    check(hipEventCreate(&start_), "creating a timing event");
    const hipError_t status = hipEventCreate(&stop_);
    if (status != hipSuccess) {
      (void)hipEventDestroy(start_);  // the destructor does not run for a constructor that throws
      check(status, "creating a timing event");
    }
  }
  ~DeviceTimer() {
    (void)hipEventDestroy(start_);
    (void)hipEventDestroy(stop_);
  }
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;

  // Milliseconds that `work()`, queued on `stream`, takes on the device; waits for it.
  template <class Work>
  float milliseconds(hipStream_t stream, Work work) {
    check(hipEventRecord(start_, stream), "recording a timing event");
    work();
    check(hipEventRecord(stop_, stream), "recording a timing event");
    check(hipEventSynchronize(stop_), "waiting for timed work");
    float ms = 0;
    check(hipEventElapsedTime(&ms, start_, stop_), "reading a timing event");
    return ms;
  }

 private:
  hipEvent_t start_ = nullptr, stop_ = nullptr;
};

}  // namespace cagr::gpu

// probe.hpp - measuring a device's peak arithmetic rate and memory bandwidth with two short kernels.
#pragma once

namespace cagr::opencl {

class Device;
struct DeviceSpeed;

// Runs the probe kernels on `device` (well under 0.3 s of device time) and returns the best of a
// few timed runs of each: f32 GFLOP/s of a multiply-add chain, GB/s of a copy (read + written).
DeviceSpeed measure_speed(Device& device);

}  // namespace cagr::opencl

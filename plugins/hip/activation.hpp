// activation.hpp - the activations linear fuses (OPS.md: linear's `activation`), on the device and
// as a stand-alone pass for the paths that cannot fuse them (cuBLASLt has no sigmoid epilogue).
#pragma once

#include <cstdint>
#include <string>

#include "gpu_runtime.h"

namespace cagr::gpu {

enum class Activation { none, relu, sigmoid };

// Parses OPS.md's activation names; throws INVALID_ARGUMENT naming `op` otherwise.
Activation parse_activation(const std::string& name, const std::string& op);

__device__ __forceinline__ float activate(Activation act, float x) {
  switch (act) {
    case Activation::relu: return x < 0.f ? 0.f : x;  // NaN stays NaN (OPS.md), as IEEE max would not
    case Activation::sigmoid: return 1.f / (1.f + expf(-x));
    default: return x;
  }
}

// y[i] = activate(act, x[i]) for i < count, queued on `stream` (x and y may be the same).
void launch_activation(Activation act, const float* x, float* y, int64_t count, hipStream_t stream);

}  // namespace cagr::gpu

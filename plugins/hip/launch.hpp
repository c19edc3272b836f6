// launch.hpp - small helpers shared by the kernels: grid sizes and index loads.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cagr_plugin_support.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

constexpr int kBlockThreads = 256;

// Blocks for one thread per item (grid-stride loops cover the rest), at least one.
inline unsigned blocks_for(int64_t items, int threads = kBlockThreads) {
  const int64_t blocks = (items + threads - 1) / threads;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65535LL * 16));
}

// An index input that may be i32 or i64; the flag is uniform across a launch, so the branch is free.
struct IndexInput {
  const void* data;
  bool is64;

  __device__ __forceinline__ int64_t operator[](int64_t i) const {
    return is64 ? static_cast<const int64_t*>(data)[i] : static_cast<const int32_t*>(data)[i];
  }
};

inline bool is_index_dtype(cagr_dtype dtype) { return dtype == CAGR_DTYPE_I32 || dtype == CAGR_DTYPE_I64; }

}  // namespace cagr::gpu

// cp_async.hpp - NVIDIA's asynchronous global-to-shared copies (cp.async), which the tensor-core
// GEMMs (linear_3xtf32.cpp, linear_wgmma.cpp) use to keep several K tiles in flight while one is
// multiplied, and the row layout of their 32-float tiles. NVIDIA only (PTX).
#pragma once

#include "gpu_runtime.h"

namespace cagr::gpu {

// Copies `Bytes` (16 or 4) from global to shared memory without passing through registers; an
// invalid source (past M, N or K) writes zeros instead, so edge tiles need no other care.
template <int Bytes>
__device__ __forceinline__ void copy_async(float* dst, const float* src, bool valid) {
  const unsigned shared = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  if constexpr (Bytes == 16)
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared), "l"(src), "r"(valid ? 16 : 0) : "memory");
  else
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(shared), "l"(src), "r"(valid ? 4 : 0) : "memory");
}
__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most `Pending` committed groups of this thread's copies are still in flight.
template <int Pending>
__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}

// Where column `col` of row `row` of a tile of 32-float rows lives in shared memory. The row's
// eight 16-byte chunks are stored with chunk c at c ^ 4 on odd rows: a fragment read has 8 lanes of
// one phase read chunks 0-3 (or 4-7) of two neighbouring rows, which this places in different banks.
constexpr int kSwizzledTileK = 32;
__device__ __forceinline__ int swizzled(int row, int col) { return row * kSwizzledTileK + (col ^ (row & 1) << 4); }

}  // namespace cagr::gpu

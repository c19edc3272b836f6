#include "linear_3xtf32.hpp"

#include <limits>

#include "cp_async.hpp"
#include "gpu_check.hpp"
#include "tf32_mma.hpp"

namespace cagr::gpu {
namespace {

constexpr int kWarp = 32;

// A block computes 64 x 64 of Y with 4 warps per K group, each 32 x 32 as 2 x 4 m16n8k8 tiles (its
// split fragments take 64 registers, its sums 32). On the H100 (bench/linear_gpu_bench.cpp, ncu),
// with three stages, this tile was the fastest or within 6% of it at every DLRM shape; 128 x 128
// blocks of 16 warps (32 x 32) or of 8 warps (64 x 32) were no faster at batch 16384 and up to 2.3x
// slower at 2048 (too few blocks).
constexpr int kBlockRows = 64, kBlockCols = 64, kWarpTile = 32, kMmaRows = 2, kMmaCols = 4;
constexpr int kGroupThreads = (kBlockRows / kWarpTile) * (kBlockCols / kWarpTile) * kWarp;
// The pipeline: K per tile, and stages in flight (three loading while one is multiplied). On the
// H100, four stages of 32 at three blocks per SM beat three stages of 32 at four blocks (which
// spilled at 128 registers) by 10-16%, and stages of 64 (two or three) by as much: 75.7 against
// 85.0, 83.3 and 84.2 us on 16384 x 512 x 256 (bench/linear_gpu_bench.cpp, one run).
constexpr int kTileK = kSwizzledTileK, kTileFloats = (kBlockRows + kBlockCols) * kTileK;

// K split inside a block: `Groups` groups of 4 warps each take every Groups-th K tile of the same
// 64 x 64 of Y, and their sums are added in shared memory at the end. Where Y has few 64 x 64 tiles
// (DLRM at batch 2048: 128 for 512 -> 256 on 132 SMs) one group per block leaves each SM 4 warps,
// too few to hide the mma and shared-memory latencies; more groups put more warps on the same tile.
// A stage holds one K tile per group, so more groups take fewer stages to fit shared memory.
template <int Groups>
struct Split {
  static constexpr int kThreads = Groups * kGroupThreads;
  static constexpr int kStages = Groups == 4 ? 3 : 4;
  static constexpr int kStageFloats = Groups * kTileFloats;
  static constexpr int kSharedBytes = kStages * kStageFloats * int(sizeof(float));
  // Blocks per SM the register cap is set for: three of one group (a cap of 170; the kernel takes
  // 166), otherwise what 128 registers a thread allow (two groups then spill 32 bytes, four none).
  static constexpr int kBlocksPerSm = Groups == 1 ? 3 : 4 / Groups;
};

// Rows [row0, row0 + Rows) x columns [k0, k0 + kTileK) of a row-major [rows, k] matrix into a
// shared tile, V floats per copy.
template <int Rows, int Threads, int V>
__device__ __forceinline__ void load_tile(float* tile, const float* matrix, int64_t rows, int64_t k, int64_t row0,
                                          int64_t k0, int tid) {
  constexpr int kPerRow = kTileK / V;
  static_assert(Rows * kPerRow % Threads == 0, "every thread copies the same number of pieces");
#pragma unroll
  for (int i = 0; i < Rows * kPerRow / Threads; ++i) {
    const int piece = tid + i * Threads;
    const int r = piece / kPerRow, c = piece % kPerRow * V;
    const bool valid = row0 + r < rows && k0 + c < k;
    copy_async<V * 4>(tile + swizzled(r, c), valid ? matrix + (row0 + r) * k + k0 + c : matrix, valid);
  }
}

// d += a b over the k slots of `half` (see the kernel): `a` holds rows g (0-3) and g + 8 (4-7),
// `b` column g.
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[8], const uint32_t (&b)[4], int half) {
  const int p = 2 * half, q = 2 * half + 1;
  gpu::mma(d, a[p], a[4 + p], a[q], a[4 + q], b[p], b[q]);
}

// One block computes a 64 x 64 tile of Y; each warp of a K group a 32 x 32 part of it, as m16n8k8
// tiles (fragment layout: tf32_mma.hpp). Since a sum over k may run in any order, slots are mapped
// to columns so that each lane reads 16 contiguous bytes: over a 16-column step, lane t takes
// columns 4t..4t+3 - the first two as slots (t, t + 4) of one mma, the last two of the next. (The
// 4-byte path's many copy addresses need more registers than three blocks per SM leave, so it runs
// uncapped.)
template <int V, int Groups>
__global__ void __launch_bounds__(Split<Groups>::kThreads, V == 4 ? Split<Groups>::kBlocksPerSm : 1)
    linear_3xtf32_kernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                         float* __restrict__ y, int64_t m, int64_t n, int64_t k, Activation act) {
  using S = Split<Groups>;
  extern __shared__ float4 shared_words[];  // float4: the 16-byte alignment cp.async needs
  float* shared = reinterpret_cast<float*>(shared_words);
  const int tid = int(threadIdx.x), lane = tid % kWarp, group = tid / kGroupThreads, warp = tid % kGroupThreads / kWarp;
  const int g = lane / 4, t = lane % 4;
  const int warp_row = warp / (kBlockCols / kWarpTile) * kWarpTile, warp_col = warp % (kBlockCols / kWarpTile) * kWarpTile;
  const int64_t row0 = int64_t(blockIdx.y) * kBlockRows, col0 = int64_t(blockIdx.x) * kBlockCols;
  const int64_t steps = ((k + kTileK - 1) / kTileK + Groups - 1) / Groups;  // stages of one K tile per group

  auto load_stage = [&](int64_t step) {
    float* stage = shared + step % S::kStages * S::kStageFloats;
#pragma unroll
    for (int j = 0; j < Groups; ++j) {  // past K the copies write zeros, which add nothing
      const int64_t k0 = (step * Groups + j) * kTileK;
      load_tile<kBlockRows, S::kThreads, V>(stage + j * kTileFloats, x, m, k, row0, k0, tid);
      load_tile<kBlockCols, S::kThreads, V>(stage + j * kTileFloats + kBlockRows * kTileK, w, n, k, col0, k0, tid);
    }
  };
  for (int s = 0; s < S::kStages - 1; ++s) {
    if (s < steps) load_stage(s);
    commit_copies();  // empty groups too: the wait below counts groups
  }

  float acc[kMmaRows][kMmaCols][4] = {};
  for (int64_t step = 0; step < steps; ++step) {
    wait_copies<S::kStages - 2>();  // stage `step` has landed
    __syncthreads();                // ... for every thread, and all are done with the stage reloaded next
    if (step + S::kStages - 1 < steps) load_stage(step + S::kStages - 1);
    commit_copies();
    const float* a_tile = shared + step % S::kStages * S::kStageFloats + group * kTileFloats;
    const float* b_tile = a_tile + kBlockRows * kTileK;
#pragma unroll
    for (int kk = 0; kk < kTileK; kk += 16) {
      uint32_t a_big[kMmaRows][8], a_small[kMmaRows][8], b_big[kMmaCols][4], b_small[kMmaCols][4];
#pragma unroll
      for (int i = 0; i < kMmaRows; ++i) {
        const int row = warp_row + i * 16 + g;
        split(*reinterpret_cast<const float4*>(a_tile + swizzled(row, kk + 4 * t)),
              reinterpret_cast<uint32_t(&)[4]>(a_big[i][0]), reinterpret_cast<uint32_t(&)[4]>(a_small[i][0]));
        split(*reinterpret_cast<const float4*>(a_tile + swizzled(row + 8, kk + 4 * t)),
              reinterpret_cast<uint32_t(&)[4]>(a_big[i][4]), reinterpret_cast<uint32_t(&)[4]>(a_small[i][4]));
      }
#pragma unroll
      for (int j = 0; j < kMmaCols; ++j)
        split(*reinterpret_cast<const float4*>(b_tile + swizzled(warp_col + j * 8 + g, kk + 4 * t)), b_big[j], b_small[j]);
      // Small terms first, so that they are not lost by being added last to the big sum; each
      // product over all 8 tiles before the next, so that 8 independent mma separate dependent ones.
#pragma unroll
      for (int half = 0; half < 2; ++half) {
#pragma unroll
        for (int i = 0; i < kMmaRows; ++i)
#pragma unroll
          for (int j = 0; j < kMmaCols; ++j) mma(acc[i][j], a_small[i], b_big[j], half);
#pragma unroll
        for (int i = 0; i < kMmaRows; ++i)
#pragma unroll
          for (int j = 0; j < kMmaCols; ++j) mma(acc[i][j], a_big[i], b_small[j], half);
#pragma unroll
        for (int i = 0; i < kMmaRows; ++i)
#pragma unroll
          for (int j = 0; j < kMmaCols; ++j) mma(acc[i][j], a_big[i], b_big[j], half);
      }
    }
  }

  if constexpr (Groups > 1) {
    // Groups 1.. leave their sums in shared memory (free now: the last copies were empty groups),
    // laid out so that a warp's 32 lanes write 32 consecutive floats; group 0 adds them in order.
    constexpr int kSums = kMmaRows * kMmaCols * 4;
    __syncthreads();  // every group is done reading the last stage
    float* sums = shared + tid % kGroupThreads;
    if (group > 0) {
#pragma unroll
      for (int e = 0; e < kSums; ++e) sums[((group - 1) * kSums + e) * kGroupThreads] = (&acc[0][0][0])[e];
    }
    __syncthreads();
    if (group > 0) return;
#pragma unroll
    for (int from = 1; from < Groups; ++from)
#pragma unroll
      for (int e = 0; e < kSums; ++e) (&acc[0][0][0])[e] += sums[((from - 1) * kSums + e) * kGroupThreads];
  }
#pragma unroll
  for (int i = 0; i < kMmaRows; ++i) {
#pragma unroll
    for (int j = 0; j < kMmaCols; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t row = row0 + warp_row + i * 16 + g + e / 2 * 8;
        const int64_t col = col0 + warp_col + j * 8 + 2 * t + e % 2;
        if (row < m && col < n)
          y[row * n + col] = activate(act, f32_sum_where_nan(acc[i][j][e], x + row * k, w + col * k, k) + (bias != nullptr ? bias[col] : 0.f));
      }
    }
  }
}

template <int Groups>
void launch_with_groups(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k, Activation act,
                        dim3 blocks, bool vectors, hipStream_t stream) {
  using S = Split<Groups>;
  auto kernel = vectors ? linear_3xtf32_kernel<4, Groups> : linear_3xtf32_kernel<1, Groups>;
  // Above 48 KB of shared memory a kernel must ask; not a stream operation, so legal while capturing.
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, S::kSharedBytes),
        "allowing linear_3xtf32_kernel its shared memory");
  kernel<<<blocks, S::kThreads, S::kSharedBytes, stream>>>(x, w, bias, y, m, n, k, act);
  check_launch("linear_3xtf32_kernel");
}

}  // namespace

void launch_linear_3xtf32(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, int k_groups, hipStream_t stream) {
  if (m == 0 || n == 0) return;
  const int64_t row_blocks = (m + kBlockRows - 1) / kBlockRows, col_blocks = (n + kBlockCols - 1) / kBlockCols;
  if (row_blocks > 65535 || col_blocks > std::numeric_limits<int32_t>::max())
    plugin::invalid("linear 3xtf32: M = " + std::to_string(m) + " needs more than 65535 blocks of " + std::to_string(kBlockRows) + " rows");
  const bool vectors = k % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
  const dim3 blocks{unsigned(col_blocks), unsigned(row_blocks)};
  if (k_groups == 1) return launch_with_groups<1>(x, w, bias, y, m, n, k, act, blocks, vectors, stream);
  if (k_groups == 2) return launch_with_groups<2>(x, w, bias, y, m, n, k, act, blocks, vectors, stream);
  if (k_groups == 4) return launch_with_groups<4>(x, w, bias, y, m, n, k, act, blocks, vectors, stream);
  plugin::invalid("linear 3xtf32: " + std::to_string(k_groups) + " K groups; the kernel is built for 1, 2 and 4");
}

}  // namespace cagr::gpu

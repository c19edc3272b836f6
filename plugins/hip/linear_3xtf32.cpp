#include "linear_3xtf32.hpp"

#include <limits>

#include "gpu_check.hpp"

namespace cagr::gpu {
namespace {

constexpr int kWarp = 32;
constexpr int kTileK = 32;               // K per pipeline stage: one 128-byte row segment
constexpr int kRowPitch = kTileK + 4;    // floats per shared row: a warp's fragment reads (rows g, columns t) hit 32 banks
constexpr int kStages = 3;               // tiles in flight: two loading while one is multiplied

template <int BM, int BN, int WM, int WN>
struct TileShape {
  static constexpr int kWarpsN = BN / WN;
  static constexpr int kThreads = (BM / WM) * kWarpsN * kWarp;
  static constexpr int kMmaRows = WM / 16, kMmaCols = WN / 8;  // m16n8k8 tiles per warp
  static constexpr int kStageFloats = (BM + BN) * kRowPitch;
  static constexpr int kSharedBytes = kStages * kStageFloats * int(sizeof(float));
};

// Copies `Bytes` (16 or 4) from global to shared memory without passing through registers; an
// invalid source (past M, N or K) writes zeros instead, so the edge tiles need no other care.
template <int Bytes>
__device__ __forceinline__ void copy_async(float* dst, const float* src, bool valid) {
  const unsigned shared = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  if constexpr (Bytes == 16)
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared), "l"(src), "r"(valid ? 16 : 0) : "memory");
  else
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(shared), "l"(src), "r"(valid ? 4 : 0) : "memory");
}
__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int Pending>
__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}

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
    copy_async<V * 4>(tile + r * kRowPitch + c, valid ? matrix + (row0 + r) * k + k0 + c : matrix, valid);
  }
}

// big = x rounded to TF32 (an f32 bit pattern with the low 13 mantissa bits clear); small = the
// rest, x - big (exact), rounded to TF32 too. For inf and NaN the rest is NaN: small is then 0, so
// that the product is what f32 gives.
__device__ __forceinline__ void split(float x, uint32_t& big, uint32_t& small) {
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(big) : "f"(x));
  const float rest = x - __uint_as_float(big);
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(small) : "f"(rest == rest ? rest : 0.f));
}

// d += a b for one 16x8 (m x n) tile over k = 8, TF32 inputs, f32 accumulation.
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// One block computes a BM x BN tile of Y; warp w a WM x WN part of it, as m16n8k8 tiles. The
// fragment layout is PTX's for mma.m16n8k8 .tf32: lane (g = lane / 4, t = lane % 4) holds A rows
// g and g + 8 at columns t and t + 4, B column g at rows t and t + 4, and C rows g, g + 8 at
// columns 2t, 2t + 1. With 16-byte copies, two blocks fit per SM (at most 128 registers); the 4-byte
// path needs more registers for its addresses and gets them.
template <int BM, int BN, int WM, int WN, int V>
__global__ void __launch_bounds__(TileShape<BM, BN, WM, WN>::kThreads, V == 4 ? 2 : 1)
    linear_3xtf32_kernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
                         float* __restrict__ y, int64_t m, int64_t n, int64_t k, Activation act) {
  using S = TileShape<BM, BN, WM, WN>;
  extern __shared__ float4 shared_words[];  // float4: the 16-byte alignment cp.async needs
  float* shared = reinterpret_cast<float*>(shared_words);
  const int tid = int(threadIdx.x), lane = tid % kWarp, warp = tid / kWarp;
  const int g = lane / 4, t = lane % 4;
  const int warp_row = warp / S::kWarpsN * WM, warp_col = warp % S::kWarpsN * WN;
  const int64_t row0 = int64_t(blockIdx.y) * BM, col0 = int64_t(blockIdx.x) * BN;
  const int64_t k_tiles = (k + kTileK - 1) / kTileK;

  auto load_stage = [&](int64_t kt) {
    float* tile = shared + kt % kStages * S::kStageFloats;
    load_tile<BM, S::kThreads, V>(tile, x, m, k, row0, kt * kTileK, tid);
    load_tile<BN, S::kThreads, V>(tile + BM * kRowPitch, w, n, k, col0, kt * kTileK, tid);
  };
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_tiles) load_stage(s);
    commit_copies();  // empty groups too: the wait below counts groups
  }

  float acc[S::kMmaRows][S::kMmaCols][4] = {};
  for (int64_t kt = 0; kt < k_tiles; ++kt) {
    wait_copies<kStages - 2>();  // tile kt has landed
    __syncthreads();             // ... for every thread, and all are done with the stage reloaded next
    if (kt + kStages - 1 < k_tiles) load_stage(kt + kStages - 1);
    commit_copies();
    const float* a_tile = shared + kt % kStages * S::kStageFloats + warp_row * kRowPitch;
    const float* b_tile = shared + kt % kStages * S::kStageFloats + (BM + warp_col) * kRowPitch;
#pragma unroll
    for (int kk = 0; kk < kTileK; kk += 8) {
      uint32_t b_big[S::kMmaCols][2], b_small[S::kMmaCols][2];
#pragma unroll
      for (int j = 0; j < S::kMmaCols; ++j) {
        const float* b = b_tile + (j * 8 + g) * kRowPitch + kk + t;
        split(b[0], b_big[j][0], b_small[j][0]);
        split(b[4], b_big[j][1], b_small[j][1]);
      }
#pragma unroll
      for (int i = 0; i < S::kMmaRows; ++i) {
        const float* a = a_tile + (i * 16 + g) * kRowPitch + kk + t;
        uint32_t a_big[4], a_small[4];
        split(a[0], a_big[0], a_small[0]);
        split(a[8 * kRowPitch], a_big[1], a_small[1]);
        split(a[4], a_big[2], a_small[2]);
        split(a[8 * kRowPitch + 4], a_big[3], a_small[3]);
#pragma unroll
        for (int j = 0; j < S::kMmaCols; ++j) {  // the small terms first: they are lost if added to the big sum last
          mma(acc[i][j], a_small, b_big[j]);
          mma(acc[i][j], a_big, b_small[j]);
          mma(acc[i][j], a_big, b_big[j]);
        }
      }
    }
  }

#pragma unroll
  for (int i = 0; i < S::kMmaRows; ++i) {
#pragma unroll
    for (int j = 0; j < S::kMmaCols; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t row = row0 + warp_row + i * 16 + g + e / 2 * 8;
        const int64_t col = col0 + warp_col + j * 8 + 2 * t + e % 2;
        if (row < m && col < n) y[row * n + col] = activate(act, acc[i][j][e] + (bias != nullptr ? bias[col] : 0.f));
      }
    }
  }
}

template <int BM, int BN, int WM, int WN>
void launch_tiles(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                  Activation act, hipStream_t stream) {
  using S = TileShape<BM, BN, WM, WN>;
  const int64_t row_blocks = (m + BM - 1) / BM, col_blocks = (n + BN - 1) / BN;
  if (row_blocks > 65535 || col_blocks > std::numeric_limits<int32_t>::max())
    plugin::invalid("linear 3xtf32: M = " + std::to_string(m) + " needs more than 65535 row blocks of " + std::to_string(BM));
  const bool vectors = k % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
  auto kernel = vectors ? linear_3xtf32_kernel<BM, BN, WM, WN, 4> : linear_3xtf32_kernel<BM, BN, WM, WN, 1>;
  // Above 48 KB of shared memory a kernel must ask; not a stream operation, so legal while capturing.
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, S::kSharedBytes),
        "allowing linear_3xtf32_kernel its shared memory");
  kernel<<<dim3(unsigned(col_blocks), unsigned(row_blocks)), S::kThreads, S::kSharedBytes, stream>>>(x, w, bias, y, m, n, k,
                                                                                                      act);
  check_launch("linear_3xtf32_kernel");
}

}  // namespace

std::string tile_name(Tile3xTf32 tile) { return tile == Tile3xTf32::large ? "128x128" : "64x64"; }

void launch_linear_3xtf32(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, Tile3xTf32 tile, hipStream_t stream) {
  if (m == 0 || n == 0) return;
  if (tile == Tile3xTf32::large)
    launch_tiles<128, 128, 64, 32>(x, w, bias, y, m, n, k, act, stream);
  else
    launch_tiles<64, 64, 32, 32>(x, w, bias, y, m, n, k, act, stream);
}

}  // namespace cagr::gpu

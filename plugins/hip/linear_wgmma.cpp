#include "linear_wgmma.hpp"

#include <limits>

#include "cp_async.hpp"
#include "gpu_check.hpp"
#include "tf32_mma.hpp"

namespace cagr::gpu {
namespace {

// A block computes kRows x kCols of Y (kCols: 128, or 64 where a layer at a small batch would
// otherwise give too few blocks to fill the device) with one warpgroup (4 warps, 128 threads) per
// 64 rows; warp w owns rows 16w..16w+15. Each K tile of 32 is four k-slices of 8, and per slice a
// warpgroup issues three m64nNk8 wgmma (small·big, big·small, big·big) whose A fragment (X) comes
// from registers and whose B (W's parts) from shared memory.
constexpr int kGroupThreads = 128;
constexpr int kTileK = kSwizzledTileK;
// One part (big or small) of a W tile: kCols columns x 32 k, one 128-byte row per column, in
// wgmma's 128-byte swizzle: the row's 16-byte chunk c is stored at c ^ (column % 8), so that the
// eight columns the matrix unit reads together spread over all banks. A part starts on a 1024-byte
// boundary (the swizzle's period); columns 8 apart are 1024 bytes apart (the descriptor's stride
// byte offset).
constexpr int kRowFloats = kTileK, kChunks = kTileK / 4, kSwizzleAlign = 1024;
constexpr int part_floats(int cols) { return cols * kTileK; }
constexpr int w_tile_floats(int cols) { return 2 * part_floats(cols); }
// Tiles in flight: the one multiplied, the one the previous group of wgmma may still read, and the
// ones loading (two with blocks of 64 or 128 rows, one with 256, whose X tiles are twice as large).
template <int kGroups>
constexpr int kStages = kGroups == 4 ? 3 : 4;
template <int kGroups, int kCols>
constexpr int kStageFloats = 64 * kGroups * kTileK + w_tile_floats(kCols);
template <int kGroups, int kCols>
constexpr int kSharedBytes = kStages<kGroups> * kStageFloats<kGroups, kCols> * int(sizeof(float)) + kSwizzleAlign;

// The kernel is compiled in the sm_90a pass (and in the host pass, which needs only its name); in
// the sm_80 pass its body is a trap, since the host launches it on sm_90 only.
#if !defined(__CUDA_ARCH__) || defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define CAGR_WGMMA_PASS 1
#endif

// A slot permutation makes X's fragments 16-byte reads (as in linear_3xtf32.cpp): over a 16-column
// step lane t reads columns 4t..4t+3 of its rows, and uses columns 4t + 2h and 4t + 2h + 1 as slots
// t and t + 4 of slice h. Slice q's eight slots are chunks 2q (slots 0-3) and 2q + 1 (4-7) of a W
// row, so slot e of chunk c holds column 16·(c / 4) + 4e + 2·(c / 2 % 2) + c % 2 of the K tile,
// and the split W is stored in that order.
__host__ __device__ constexpr int tile_column(int chunk, int e) {
  return 16 * (chunk / 4) + 4 * e + 2 * (chunk / 2 % 2) + chunk % 2;
}

#if defined(CAGR_WGMMA_PASS)
// The 64-bit shared-memory matrix descriptor of wgmma (PTX ISA, "matrix descriptor"): start
// address and stride byte offset in 16-byte units, and the 128-byte swizzle (mode 1, bits 62-63;
// the leading byte offset is unused for it). A k-slice of a part starts 32 bytes into its rows.
__device__ __forceinline__ uint64_t descriptor(const float* part, int slice) {
  const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(part)) + 32u * unsigned(slice);
  constexpr uint64_t kStride = 8 * kRowFloats * 4;
  return uint64_t((address & 0x3ffff) >> 4) | uint64_t(1) << 16 | (kStride >> 4) << 32 | uint64_t(1) << 62;
}

// wgmma is asynchronous: a fence before its registers are handed over, a commit of what was
// issued, and a wait before the sums (or A's registers, or the shared tiles) are touched again.
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int Pending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(Pending) : "memory");
}

// d (64 x 128 over the warpgroup; per thread, n8 group j: d[4j], d[4j+1] at row g, columns
// 8j + 2t, 8j + 2t + 1, and d[4j+2], d[4j+3] at row g + 8) += a b, TF32 inputs.
__device__ __forceinline__ void wgmma_m64n128k8(float (&d)[64], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                                uint64_t b) {
  asm volatile(
      "{\n.reg .pred accumulate;\nsetp.ne.b32 accumulate, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "{%64, %65, %66, %67}, %68, accumulate, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
        "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
        "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(b), "r"(1));
}

// The same over 64 columns (32 sums per thread).
__device__ __forceinline__ void wgmma_m64n64k8(float (&d)[32], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                               uint64_t b) {
  asm volatile(
      "{\n.reg .pred accumulate;\nsetp.ne.b32 accumulate, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "{%32, %33, %34, %35}, %36, accumulate, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(b), "r"(1));
}

// d += a b over the block's kCols columns.
template <int kCols>
__device__ __forceinline__ void wgmma_tile(float (&d)[kCols / 2], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                           uint64_t b) {
  static_assert(kCols == 128 || kCols == 64, "wgmma blocks are 128 or 64 columns wide (kWgmmaTiles)");
  if constexpr (kCols == 128)
    wgmma_m64n128k8(d, a0, a1, a2, a3, b);
  else
    wgmma_m64n64k8(d, a0, a1, a2, a3, b);
}
#endif

template <int kGroups, int kCols>
__global__ void __launch_bounds__(kGroups * kGroupThreads, 1)
    linear_wgmma_kernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ w_split,
                        const float* __restrict__ bias, float* __restrict__ y, int64_t m, int64_t n, int64_t k, Activation act) {
#if !defined(CAGR_WGMMA_PASS)
  (void)x, (void)w, (void)w_split, (void)bias, (void)y, (void)m, (void)n, (void)k, (void)act;
  __trap();  // never launched: linear_wgmma_runs_on() admits sm_90 only, which the plugin builds as sm_90a
#else
  constexpr int kRows = 64 * kGroups, kThreads = kGroups * kGroupThreads, kXFloats = kRows * kTileK;
  constexpr int kStageCount = kStages<kGroups>, kStageSize = kStageFloats<kGroups, kCols>;
  constexpr int kWTileFloats = w_tile_floats(kCols), kPartFloats = part_floats(kCols);
  extern __shared__ float4 shared_words[];
  // The stages start on the swizzle's 1024-byte boundary (X tiles are multiples of 1024 bytes).
  const unsigned misalignment = static_cast<unsigned>(__cvta_generic_to_shared(shared_words)) % kSwizzleAlign;
  float* shared = reinterpret_cast<float*>(shared_words) + (kSwizzleAlign - misalignment) % kSwizzleAlign / 4;
  constexpr int kWarp = 32;
  const int tid = int(threadIdx.x), lane = tid % kWarp, warp = tid / kWarp;
  const int g = lane / 4, t = lane % 4, row = warp * 16 + g;
  const int64_t row0 = int64_t(blockIdx.y) * kRows, col0 = int64_t(blockIdx.x) * kCols;
  const int64_t k_tiles = (k + kTileK - 1) / kTileK;
  const float* w_tiles = w_split + int64_t(blockIdx.x) * k_tiles * kWTileFloats;

  auto load_stage = [&](int64_t kt) {
    float* stage = shared + kt % kStageCount * kStageSize;
#pragma unroll
    for (int i = 0; i < kRows * kChunks / kThreads; ++i) {
      const int piece = tid + i * kThreads, r = piece / kChunks, c = piece % kChunks * 4;
      const bool valid = row0 + r < m && kt * kTileK + c < k;
      copy_async<16>(stage + swizzled(r, c), valid ? x + (row0 + r) * k + kt * kTileK + c : x, valid);
    }
    const float* w_tile = w_tiles + kt * kWTileFloats;  // already padded and swizzled: a plain copy
#pragma unroll
    for (int i = 0; i < kWTileFloats / 4 / kThreads; ++i) {
      const int piece = tid + i * kThreads;
      copy_async<16>(stage + kXFloats + 4 * piece, w_tile + 4 * piece, true);
    }
  };
  // Tile kt is loaded kStageCount - 2 iterations ahead, into the stage whose last reader, the
  // group of wgmma issued two iterations back, has finished (see the waits below).
  constexpr int kAhead = kStageCount - 2;
  for (int s = 0; s < kAhead; ++s) {
    if (s < k_tiles) load_stage(s);
    commit_copies();  // empty groups too: the wait below counts groups
  }

  float acc[kCols / 2] = {};
  for (int64_t kt = 0; kt < k_tiles; ++kt) {
    wait_copies<kAhead - 1>();  // tile kt has landed ...
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");  // ... where wgmma (the async proxy) sees it
    __syncthreads();  // ... for every thread; and no wgmma of any warpgroup still reads the stage loaded next
    if (kt + kAhead < k_tiles) load_stage(kt + kAhead);
    commit_copies();
    const float* x_tile = shared + kt % kStageCount * kStageSize;
    const float* w_big = x_tile + kXFloats;
    const float* w_small = w_big + kPartFloats;
    // Two groups of wgmma per tile, one per 16-column step, each with its own A registers: the
    // step's group is issued while the previous one still runs, and waited for one group later.
    uint32_t big[2][8], small[2][8];  // per step: row g's four slots, then row g + 8's
#pragma unroll
    for (int step = 0; step < 2; ++step) {
      split(*reinterpret_cast<const float4*>(x_tile + swizzled(row, 16 * step + 4 * t)),
            reinterpret_cast<uint32_t(&)[4]>(big[step][0]), reinterpret_cast<uint32_t(&)[4]>(small[step][0]));
      split(*reinterpret_cast<const float4*>(x_tile + swizzled(row + 8, 16 * step + 4 * t)),
            reinterpret_cast<uint32_t(&)[4]>(big[step][4]), reinterpret_cast<uint32_t(&)[4]>(small[step][4]));
      wgmma_fence();
#pragma unroll
      for (int q = 2 * step; q < 2 * step + 2; ++q) {
        const int p = 2 * (q % 2);
        const uint64_t b_big = descriptor(w_big, q), b_small = descriptor(w_small, q);
        // Small terms first, so that they are not lost by being added last to the big sum.
        wgmma_tile<kCols>(acc, small[step][p], small[step][4 + p], small[step][p + 1], small[step][5 + p], b_big);
        wgmma_tile<kCols>(acc, big[step][p], big[step][4 + p], big[step][p + 1], big[step][5 + p], b_small);
        wgmma_tile<kCols>(acc, big[step][p], big[step][4 + p], big[step][p + 1], big[step][5 + p], b_big);
      }
      wgmma_commit();
      wgmma_wait<1>();  // the previous step's group is done: its registers and (at a tile's end) stage are free
    }
  }
  wgmma_wait<0>();

  // Each lane holds column pairs (2t, 2t + 1) of each 8-column group, on rows g and g + 8.
  const bool pairs = n % 2 == 0 && reinterpret_cast<uintptr_t>(y) % 8 == 0;  // then a pair is 8-byte aligned
#pragma unroll
  for (int j = 0; j < kCols / 8; ++j) {
    const int64_t c = col0 + 8 * j + 2 * t;
    const float b0 = bias != nullptr && c < n ? bias[c] : 0.f, b1 = bias != nullptr && c + 1 < n ? bias[c + 1] : 0.f;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int64_t r = row0 + row + 8 * half;
      if (r >= m) continue;
      // (w: the unsplit W, read only where a split sum came out NaN)
      const float v0 = activate(act, c < n ? f32_sum_where_nan(acc[4 * j + 2 * half], x + r * k, w + c * k, k) + b0 : 0.f);
      const float v1 = activate(act, c + 1 < n ? f32_sum_where_nan(acc[4 * j + 2 * half + 1], x + r * k, w + (c + 1) * k, k) + b1 : 0.f);
      if (pairs && c + 1 < n) {
        *reinterpret_cast<float2*>(y + r * n + c) = make_float2(v0, v1);
      } else {
        if (c < n) y[r * n + c] = v0;
        if (c + 1 < n) y[r * n + c + 1] = v1;
      }
    }
  }
#endif
}

// One thread per (big, small) pair of the split copy, in its order: [column block][K tile][part]
// [column][stored chunk][4 slots], the stored chunk being chunk ^ (column % 8).
__global__ void split_weights_kernel(const float* __restrict__ w, int64_t n, int64_t k, int cols, int64_t k_tiles,
                                     int64_t pairs, float* __restrict__ split_w) {
  const int part = part_floats(cols);
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < pairs; i += int64_t(gridDim.x) * blockDim.x) {
    const int in_part = int(i % part);
    const int64_t tile = i / part;
    const int e = in_part % 4, column = in_part / kRowFloats, chunk = (in_part / 4 % kChunks) ^ (column % 8);
    const int64_t col = tile / k_tiles * cols + column;
    const int64_t kk = tile % k_tiles * kTileK + tile_column(chunk, e);
    const float v = col < n && kk < k ? w[col * k + kk] : 0.f;
    // big is stored rounded (the unit's truncation then drops nothing); small with +0x1000 so
    // that the truncation rounds it.
    const float big = __uint_as_float(tf32_rounded(v) & 0xffffe000u);
    float* out = split_w + tile * w_tile_floats(cols) + in_part;
    out[0] = big;
    out[part] = __uint_as_float(tf32_rounded(v - big));
  }
}

}  // namespace

bool linear_wgmma_runs_on(const std::string& arch) { return arch == "sm_90"; }

int64_t linear_wgmma_split_floats(int64_t n, int64_t k, int cols) {
  return (n + cols - 1) / cols * ((k + kTileK - 1) / kTileK) * w_tile_floats(cols);
}

void split_linear_wgmma_weights(const float* w, int64_t n, int64_t k, int cols, float* split, hipStream_t stream) {
  const int64_t pairs = linear_wgmma_split_floats(n, k, cols) / 2;
  if (pairs == 0) return;
  const int threads = 256;
  const auto blocks = unsigned(std::min<int64_t>((pairs + threads - 1) / threads, 4096));
  split_weights_kernel<<<blocks, threads, 0, stream>>>(w, n, k, cols, (k + kTileK - 1) / kTileK, pairs, split);
  check_launch("split_weights_kernel");
}

void launch_linear_wgmma(WgmmaTile tile, const float* x, const float* w, const float* w_split, const float* bias, float* y,
                         int64_t m, int64_t n, int64_t k, Activation act, hipStream_t stream) {
  if (m == 0 || n == 0) return;
  const int64_t row_blocks = (m + tile.rows - 1) / tile.rows, col_blocks = (n + tile.cols - 1) / tile.cols;
  if (row_blocks > 65535 || col_blocks > std::numeric_limits<int32_t>::max())
    plugin::invalid("linear wgmma: M = " + std::to_string(m) + " needs more than 65535 blocks of " +
                    std::to_string(tile.rows) + " rows");
  auto launch = [&](auto kernel, int groups, int shared_bytes) {
    // Above 48 KB of shared memory a kernel must ask; not a stream operation, so legal while capturing.
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes),
          "allowing linear_wgmma_kernel its shared memory");
    kernel<<<dim3(unsigned(col_blocks), unsigned(row_blocks)), groups * kGroupThreads, shared_bytes, stream>>>(
        x, w, w_split, bias, y, m, n, k, act);
    check_launch("linear_wgmma_kernel");
  };
  if (tile.rows == 256 && tile.cols == 128) return launch(linear_wgmma_kernel<4, 128>, 4, kSharedBytes<4, 128>);
  if (tile.rows == 128 && tile.cols == 128) return launch(linear_wgmma_kernel<2, 128>, 2, kSharedBytes<2, 128>);
  if (tile.rows == 64 && tile.cols == 64) return launch(linear_wgmma_kernel<1, 64>, 1, kSharedBytes<1, 64>);
  plugin::invalid("linear wgmma: no kernel for blocks of " + std::to_string(tile.rows) + " x " + std::to_string(tile.cols));
}

}  // namespace cagr::gpu

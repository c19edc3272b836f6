#include "linear_narrow.hpp"

#include <string>

#include "gpu_check.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

constexpr int kWarp = 32;

// V consecutive elements of X as floats, with one 16-byte (f32) or 8-byte (bf16) load where V = 4.
template <int V>
__device__ __forceinline__ void load_x(const float* p, float (&a)[V]) {
  if constexpr (V == 4) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    a[0] = v.x, a[1] = v.y, a[2] = v.z, a[3] = v.w;
  } else {
    a[0] = *p;
  }
}
template <int V>
__device__ __forceinline__ void load_x(const uint16_t* p, float (&a)[V]) {  // bf16 bits
  if constexpr (V == 4) {
    const uint2 v = *reinterpret_cast<const uint2*>(p);
    a[0] = bf16_bits_to_float(uint16_t(v.x)), a[1] = bf16_bits_to_float(uint16_t(v.x >> 16));
    a[2] = bf16_bits_to_float(uint16_t(v.y)), a[3] = bf16_bits_to_float(uint16_t(v.y >> 16));
  } else {
    a[0] = bf16_bits_to_float(*p);
  }
}

// kRows rows of X per warp at a time (grid-stride over row groups): the lanes split K, the
// loads of all the rows' slices are issued before any is summed, each lane keeps kRows x N partial
// sums, and a butterfly leaves the totals on every lane. V = 4 reads X and W four elements at a time
// (K a multiple of 4, aligned rows); X is f32 or bf16; kN is N's bound, 1 for a logit layer so that it keeps
// kRows sums, not kRows x kNarrowMaxN. On the H100 (ncu, DLRM's logit layer, 256 -> 1): at 16384
// rows four rows per warp took 10.3 us against 13.2-13.8 for one (which read 1.2 TB/s, 36% of
// DRAM, each short-lived warp waiting on its two loads); at 2048 rows, where one row per warp
// fits in one wave, one row took 5.3-5.5 us and four 6.6-6.8.
template <class In, int V, int kN, int kRows>
__global__ void __launch_bounds__(kBlockThreads)
    linear_narrow_kernel(const In* x, const float* w, const float* bias, float* y, int64_t m, int n, int64_t k,
                         Activation act) {
  const unsigned mask = group_lane_mask(kWarp);
  const int lane = int(threadIdx.x) % kWarp;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t row0 = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp * kRows; row0 < m;
       row0 += warps * kRows) {
    float sum[kRows][kN] = {};
    for (int64_t c = int64_t(lane) * V; c < k; c += int64_t(kWarp) * V) {
      float a[kRows][V];
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        if (row0 + r < m) {
          load_x<V>(x + (row0 + r) * k + c, a[r]);
        } else {
#pragma unroll
          for (int i = 0; i < V; ++i) a[r][i] = 0.f;
        }
      }
#pragma unroll
      for (int o = 0; o < kN; ++o) {
        if (o < n) {
          float b[V];
          if constexpr (V == 4) {
            const float4 v = *reinterpret_cast<const float4*>(w + o * k + c);
            b[0] = v.x, b[1] = v.y, b[2] = v.z, b[3] = v.w;
          } else {
            b[0] = w[o * k + c];
          }
#pragma unroll
          for (int r = 0; r < kRows; ++r)
#pragma unroll
            for (int i = 0; i < V; ++i) sum[r][o] = fmaf(a[r][i], b[i], sum[r][o]);
        }
      }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
#pragma unroll
      for (int o = 0; o < kN; ++o) {
        if (o < n) {  // n is the same on every lane: the shuffles stay converged
          const float total = group_sum(mask, sum[r][o], kWarp);
          if (lane == o && row0 + r < m) y[(row0 + r) * n + o] = activate(act, total + (bias != nullptr ? bias[o] : 0.f));
        }
      }
    }
  }
}

template <int V, int kRows, class In>
void launch_narrow(int64_t n, hipStream_t stream, const In* x, const float* w, const float* bias, float* y, int64_t m,
                   int64_t k, Activation act) {
  const unsigned blocks = blocks_for((m + kRows - 1) / kRows * kWarp);
  if (n == 1) linear_narrow_kernel<In, V, 1, kRows><<<blocks, kBlockThreads, 0, stream>>>(x, w, bias, y, m, 1, k, act);
  else linear_narrow_kernel<In, V, kNarrowMaxN, kRows><<<blocks, kBlockThreads, 0, stream>>>(x, w, bias, y, m, int(n), k, act);
}

template <class In>
void launch_narrow_rows(const In* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                        Activation act, int multiprocessors, hipStream_t stream) {
  if (n < 1 || n > kNarrowMaxN) plugin::invalid("linear_narrow: N must be 1.." + std::to_string(kNarrowMaxN));
  if (m == 0) return;
  // One row per warp while the rows fit in one wave of warps (at most 64 per SM), four beyond.
  const bool four_rows = m > int64_t(multiprocessors) * 64;
  const bool vectors = k % 4 == 0 && reinterpret_cast<uintptr_t>(x) % (4 * sizeof(In)) == 0 &&
                       reinterpret_cast<uintptr_t>(w) % 16 == 0;
  if (vectors && four_rows) launch_narrow<4, 4>(n, stream, x, w, bias, y, m, k, act);
  else if (vectors) launch_narrow<4, 1>(n, stream, x, w, bias, y, m, k, act);
  else if (four_rows) launch_narrow<1, 4>(n, stream, x, w, bias, y, m, k, act);
  else launch_narrow<1, 1>(n, stream, x, w, bias, y, m, k, act);
  check_launch("linear_narrow_kernel");
}

}  // namespace

void launch_linear_narrow(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, int multiprocessors, hipStream_t stream) {
  launch_narrow_rows(x, w, bias, y, m, n, k, act, multiprocessors, stream);
}

void launch_linear_narrow(const uint16_t* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, int multiprocessors, hipStream_t stream) {
  launch_narrow_rows(x, w, bias, y, m, n, k, act, multiprocessors, stream);
}

}  // namespace cagr::gpu

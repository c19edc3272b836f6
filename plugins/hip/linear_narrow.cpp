#include "linear_narrow.hpp"

#include <string>

#include "gpu_check.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

constexpr int kWarp = 32;

// One row of X per 32-lane group (grid-stride over rows): the lanes split K, each keeps N partial
// sums, and a butterfly leaves the totals on every lane. V = 4 reads X and W as float4 (K a
// multiple of 4, 16-byte aligned rows).
template <int V>
__global__ void __launch_bounds__(kBlockThreads)
    linear_narrow_kernel(const float* x, const float* w, const float* bias, float* y, int64_t m, int n, int64_t k,
                         Activation act) {
  const unsigned mask = group_lane_mask(kWarp);
  const int lane = int(threadIdx.x) % kWarp;
  const int64_t groups = int64_t(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; row < m; row += groups) {
    float sum[kNarrowMaxN] = {};
    const float* xr = x + row * k;
    for (int64_t c = int64_t(lane) * V; c < k; c += int64_t(kWarp) * V) {
      if constexpr (V == 4) {
        const float4 a = *reinterpret_cast<const float4*>(xr + c);
#pragma unroll
        for (int o = 0; o < kNarrowMaxN; ++o) {
          if (o < n) {
            const float4 b = *reinterpret_cast<const float4*>(w + o * k + c);
            sum[o] = fmaf(a.x, b.x, sum[o]), sum[o] = fmaf(a.y, b.y, sum[o]);
            sum[o] = fmaf(a.z, b.z, sum[o]), sum[o] = fmaf(a.w, b.w, sum[o]);
          }
        }
      } else {
        const float a = xr[c];
#pragma unroll
        for (int o = 0; o < kNarrowMaxN; ++o)
          if (o < n) sum[o] = fmaf(a, w[o * k + c], sum[o]);
      }
    }
#pragma unroll
    for (int o = 0; o < kNarrowMaxN; ++o) {
      if (o < n) {  // n is the same on every lane: the shuffles stay converged
        const float total = group_sum(mask, sum[o], kWarp);
        if (lane == o) y[row * n + o] = activate(act, total + (bias != nullptr ? bias[o] : 0.f));
      }
    }
  }
}

}  // namespace

void launch_linear_narrow(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, hipStream_t stream) {
  if (n < 1 || n > kNarrowMaxN) plugin::invalid("linear_narrow: N must be 1.." + std::to_string(kNarrowMaxN));
  if (m == 0) return;
  const unsigned blocks = blocks_for(m * kWarp);
  const bool vectors = k % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
  if (vectors)
    linear_narrow_kernel<4><<<blocks, kBlockThreads, 0, stream>>>(x, w, bias, y, m, int(n), k, act);
  else
    linear_narrow_kernel<1><<<blocks, kBlockThreads, 0, stream>>>(x, w, bias, y, m, int(n), k, act);
  check_launch("linear_narrow_kernel");
}

}  // namespace cagr::gpu

// linear_narrow.hpp - linear (Y = act(X Wᵀ + bias)) for a narrow output, N <= kNarrowMaxN: the
// logit layer of a ranking model (N = 1). There the GEMM libraries run a GEMV and, for a sigmoid,
// need a second pass (cuBLASLt has no sigmoid epilogue). Here a warp reads a row of X once, with
// 16-byte loads where it can, and writes act(x . w_n + b_n) for every n. On the H100 (ncu, DLRM's
// 256 -> 1 layer, docs/PERF.md): 5.5 us against 5.1 + 3.1 us at batch 2048; at 16384, where
// reading X is the whole cost, the same 14 us.
#pragma once

#include <cstdint>

#include "activation.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

constexpr int64_t kNarrowMaxN = 8;  // the dot products a lane accumulates at once, in registers

// X [M, K], W [N, K], bias [N] or nullptr, Y [M, N]; all f32, row-major; 1 <= N <= kNarrowMaxN.
// `multiprocessors`: the device's SMs, which set how many rows a warp takes.
void launch_linear_narrow(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, int multiprocessors, hipStream_t stream);
// The same with X in bf16 (the bits, as uint16_t): the last layer of an mlp whose activations are
// kept in bf16 (mlp.cpp).
void launch_linear_narrow(const uint16_t* x, const float* w, const float* bias, float* y, int64_t m, int64_t n, int64_t k,
                          Activation act, int multiprocessors, hipStream_t stream);

}  // namespace cagr::gpu

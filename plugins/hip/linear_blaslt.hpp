// linear_blaslt.hpp - linear through cuBLASLt (NVIDIA only): one matmul with the bias and ReLU
// fused as its epilogue; sigmoid, which cuBLASLt has no epilogue for, runs as a second pass.
#pragma once

#include <cublasLt.h>

#include <cstdint>
#include <map>

#include "activation.hpp"
#include "device_memory.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

// How many of cuBLASLt's suggested algorithms the plugin offers as variants of linear, so that the
// core's tuning can time them on the real shapes instead of trusting the heuristic's first pick.
constexpr int kBlasLtSuggestions = 8;

class BlasLtLinear {
 public:
  // allow_tf32: inputs may be rounded to TF32 on the tensor cores (plugin option "allow_tf32=1").
  // suggestion: which of the heuristic's algorithms to run at every M (0: its first; the last it
  // gives when it gives fewer).
  BlasLtLinear(int64_t n, int64_t k, bool has_bias, Activation act, bool allow_tf32, int suggestion);
  ~BlasLtLinear();
  BlasLtLinear(const BlasLtLinear&) = delete;
  BlasLtLinear& operator=(const BlasLtLinear&) = delete;

  // X [M, K], W [N, K], bias [N] (nullptr when created without), Y [M, N], row-major f32.
  void run(const float* x, const float* w, const float* bias, float* y, int64_t m, hipStream_t stream);

 private:
  struct Plan {  // layouts and algorithm for one M (M varies per run; plans are kept)
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  const Plan& plan_for(int64_t m);

  int64_t n_, k_;
  bool has_bias_;
  int suggestion_;
  Activation act_;
  cublasLtHandle_t handle_ = nullptr;
  cublasLtMatmulDesc_t matmul_ = nullptr;
  DeviceMemory workspace_;
  std::map<int64_t, Plan> plans_;
};

// GFLOP/s of a 4096^3 f16 GEMM with f32 accumulation on the matrix units, timed on `stream`.
double measure_f16_gemm_gflops(hipStream_t stream);

}  // namespace cagr::gpu

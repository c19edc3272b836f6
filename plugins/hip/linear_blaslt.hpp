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

// The element types of one matmul and how it multiplies. Products are summed in f32 in all three.
struct BlasLtTypes {
  cublasComputeType_t compute;
  cudaDataType_t inputs;  // X and W
  cudaDataType_t output;  // Y, and the bias (cuBLASLt takes the bias in Y's type)

  // f32 throughout; with `allow_tf32` the inputs may be rounded to TF32 on the tensor cores
  // (plugin option "allow_tf32=1").
  static BlasLtTypes f32(bool allow_tf32) {
    return {allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_32F};
  }
  // bf16 X and W (bf16 tensor cores), Y in bf16 or f32 (plugin option "allow_bf16=1", mlp.cpp).
  static BlasLtTypes bf16(cudaDataType_t output) { return {CUBLAS_COMPUTE_32F, CUDA_R_16BF, output}; }
};

class BlasLtLinear {
 public:
  // suggestion: which of the heuristic's algorithms to run at every M (0: its first; the last it
  // gives when it gives fewer). A sigmoid needs an f32 Y (it runs as a second pass over Y).
  BlasLtLinear(int64_t n, int64_t k, bool has_bias, Activation act, BlasLtTypes types, int suggestion);
  ~BlasLtLinear();
  BlasLtLinear(const BlasLtLinear&) = delete;
  BlasLtLinear& operator=(const BlasLtLinear&) = delete;

  // X [M, K], W [N, K], bias [N] (nullptr when created without), Y [M, N], row-major, of the
  // created types.
  void run(const void* x, const void* w, const void* bias, void* y, int64_t m, hipStream_t stream);

  // Times each of the heuristic's suggestions at M rows on these tensors (Y is overwritten) and
  // runs the fastest at M from then on, whatever the suggestion it was created with: the heuristic's
  // first pick was up to 2x off on bf16 layers of DLRM (mlp.cpp). Synchronises `stream`.
  void choose_fastest(const void* x, const void* w, const void* bias, void* y, int64_t m, hipStream_t stream);

 private:
  struct Plan {  // layouts and algorithm for one M (M varies per run; plans are kept)
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    cublasLtMatmulAlgo_t suggestions[kBlasLtSuggestions]{};  // the heuristic's, best first
    int suggestion_count = 0;
  };
  Plan& plan_for(int64_t m);
  void matmul(const Plan& plan, const cublasLtMatmulAlgo_t& algo, const void* x, const void* w, const void* bias, void* y,
              hipStream_t stream);

  int64_t n_, k_;
  BlasLtTypes types_;
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

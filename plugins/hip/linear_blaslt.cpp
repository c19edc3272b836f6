#include "linear_blaslt.hpp"

#include <algorithm>
#include <string>

#include "device_timer.hpp"
#include "gpu_check.hpp"

namespace cagr::gpu {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;  // what cuBLASLt's Hopper kernels ask for

void check_blas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const cagr_status code = status == CUBLAS_STATUS_ALLOC_FAILED ? CAGR_ERROR_OUT_OF_MEMORY : CAGR_ERROR_DEVICE;
  throw plugin::Error(code, std::string("cuBLASLt: ") + what + " failed: status " + std::to_string(int(status)));
}

// cuBLASLt's relu epilogue turns NaN into 0 (OPS.md keeps NaN) and it has no sigmoid, so on an f32 Y
// the activation is a second pass (launch_activation); a bf16 Y (the bf16 mlp's inner layers, where
// bf16 was allowed) keeps the relu epilogue.
bool activation_in_second_pass(Activation act, const BlasLtTypes& types) {
  return act != Activation::none && types.output == CUDA_R_32F;
}

cublasLtEpilogue_t epilogue(bool has_bias, Activation act) {
  if (act == Activation::relu) return has_bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  return has_bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
}

template <class T>
void set_attribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, const T& value) {
  check_blas(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof value), "setting a matmul attribute");
}

}  // namespace

// Row-major Y[M,N] = X[M,K] W[N,K]ᵀ is, read column-major, Yᶜ[N,M] = Wᶜ[K,N]ᵀ Xᶜ[K,M]: A = W
// transposed, B = X, and the bias runs along Yᶜ's rows, the output features, as cuBLASLt expects.
BlasLtLinear::BlasLtLinear(int64_t n, int64_t k, bool has_bias, Activation act, BlasLtTypes types, int suggestion)
    : n_(n), k_(k), types_(types), has_bias_(has_bias), suggestion_(suggestion), act_(act), workspace_(kWorkspaceBytes) {
  if (act == Activation::sigmoid && types.output != CUDA_R_32F)
    plugin::unsupported("cuBLASLt linear: a sigmoid runs as a second pass over an f32 Y only");
  check_blas(cublasLtCreate(&handle_), "creating a handle");
  check_blas(cublasLtMatmulDescCreate(&matmul_, types.compute, CUDA_R_32F), "creating a matmul");
  set_attribute(matmul_, CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T);
  set_attribute(matmul_, CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N);
  set_attribute(matmul_, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue(has_bias, activation_in_second_pass(act, types) ? Activation::none : act));
}

BlasLtLinear::~BlasLtLinear() {
  for (auto& [m, plan] : plans_) {
    cublasLtMatrixLayoutDestroy(plan.a);
    cublasLtMatrixLayoutDestroy(plan.b);
    cublasLtMatrixLayoutDestroy(plan.c);
  }
  if (matmul_ != nullptr) cublasLtMatmulDescDestroy(matmul_);
  if (handle_ != nullptr) cublasLtDestroy(handle_);
}

BlasLtLinear::Plan& BlasLtLinear::plan_for(int64_t m) {
  auto found = plans_.find(m);
  if (found != plans_.end()) return found->second;
  Plan plan;
  check_blas(cublasLtMatrixLayoutCreate(&plan.a, types_.inputs, k_, n_, k_), "describing W");
  check_blas(cublasLtMatrixLayoutCreate(&plan.b, types_.inputs, k_, m, k_), "describing X");
  check_blas(cublasLtMatrixLayoutCreate(&plan.c, types_.output, n_, m, n_), "describing Y");
  cublasLtMatmulPreference_t preference;
  check_blas(cublasLtMatmulPreferenceCreate(&preference), "creating a preference");
  const uint64_t workspace = workspace_.bytes();
  cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace);
  cublasLtMatmulHeuristicResult_t results[kBlasLtSuggestions]{};
  int found_count = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle_, matmul_, plan.a, plan.b, plan.c, plan.c,
                                                               preference, kBlasLtSuggestions, results, &found_count);
  cublasLtMatmulPreferenceDestroy(preference);
  check_blas(status, "choosing an algorithm");
  if (found_count == 0) plugin::unsupported("cuBLASLt has no algorithm for linear " + std::to_string(m) + "x" +
                                            std::to_string(n_) + "x" + std::to_string(k_));
  for (int i = 0; i < found_count; ++i) plan.suggestions[i] = results[i].algo;
  plan.suggestion_count = found_count;
  plan.algo = plan.suggestions[std::min(suggestion_, found_count - 1)];
  return plans_.emplace(m, plan).first->second;
}

void BlasLtLinear::matmul(const Plan& plan, const cublasLtMatmulAlgo_t& algo, const void* x, const void* w,
                          const void* bias, void* y, hipStream_t stream) {
  if (has_bias_) set_attribute(matmul_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
  const float one = 1.f, zero = 0.f;
  check_blas(cublasLtMatmul(handle_, matmul_, &one, w, plan.a, x, plan.b, &zero, y, plan.c, y, plan.c, &algo,
                            workspace_.get(), workspace_.bytes(), stream),
             "running a matmul");
}

void BlasLtLinear::run(const void* x, const void* w, const void* bias, void* y, int64_t m, hipStream_t stream) {
  if (m == 0 || n_ == 0) return;
  const Plan& plan = plan_for(m);
  matmul(plan, plan.algo, x, w, bias, y, stream);
  if (activation_in_second_pass(act_, types_)) launch_activation(act_, static_cast<float*>(y), static_cast<float*>(y), m * n_, stream);
}

void BlasLtLinear::choose_fastest(const void* x, const void* w, const void* bias, void* y, int64_t m, hipStream_t stream) {
  if (m == 0 || n_ == 0) return;
  Plan& plan = plan_for(m);
  DeviceTimer timer;
  float best_ms = 0;
  for (int i = 0; i < plan.suggestion_count; ++i) {
    const cublasLtMatmulAlgo_t& algo = plan.suggestions[i];
    constexpr int kReps = 5;
    matmul(plan, algo, x, w, bias, y, stream);  // warm-up: loads the kernel
    const float ms = timer.milliseconds(stream, [&] {
      for (int r = 0; r < kReps; ++r) matmul(plan, algo, x, w, bias, y, stream);
    });
    if (i == 0 || ms < best_ms) best_ms = ms, plan.algo = algo;
  }
}

double measure_f16_gemm_gflops(hipStream_t stream) {
  constexpr int64_t kSize = 4096;
  DeviceMemory a(kSize * kSize * 2), b(kSize * kSize * 2), c(kSize * kSize * 2), workspace(kWorkspaceBytes);
  check(hipMemsetAsync(a.get(), 0, a.bytes(), stream), "clearing the probe matrices");
  check(hipMemsetAsync(b.get(), 0, b.bytes(), stream), "clearing the probe matrices");
  cublasLtHandle_t handle;
  check_blas(cublasLtCreate(&handle), "creating a handle");
  cublasLtMatmulDesc_t desc;
  cublasLtMatrixLayout_t layout;
  check_blas(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "creating a matmul");
  check_blas(cublasLtMatrixLayoutCreate(&layout, CUDA_R_16F, kSize, kSize, kSize), "describing the probe matrices");
  const float one = 1.f, zero = 0.f;
  auto gemm = [&] {
    check_blas(cublasLtMatmul(handle, desc, &one, a.get(), layout, b.get(), layout, &zero, c.get(), layout, c.get(),
                              layout, nullptr, workspace.get(), workspace.bytes(), stream),
               "running the probe matmul");
  };
  gemm();  // warm-up: picks and loads the kernel
  constexpr int kReps = 5;
  const float ms = DeviceTimer().milliseconds(stream, [&] {
    for (int r = 0; r < kReps; ++r) gemm();
  });
  cublasLtMatrixLayoutDestroy(layout);
  cublasLtMatmulDescDestroy(desc);
  cublasLtDestroy(handle);
  return 2.0 * kSize * kSize * kSize * kReps / (ms * 1e-3) * 1e-9;
}

}  // namespace cagr::gpu

// top_k (OPS.md): one thread per row. Each of the k passes over the row finds the next entry in
// the order "larger value first, NaN above every number, lower index first on ties" after the one
// found last, so no scratch memory is needed: O(k N) per row, fine for recommendation's small k.
#include "gpu_check.hpp"
#include "gpu_op.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

// Whether (a, ia) comes before (b, ib) in the output order.
__device__ bool before(float a, int64_t ia, float b, int64_t ib) {
  const bool a_nan = isnan(a), b_nan = isnan(b);
  if (a_nan != b_nan) return a_nan;
  if (!a_nan && a != b) return a > b;
  return ia < ib;
}

__global__ void top_k_kernel(const float* scores, float* values, int64_t* indices, int64_t rows, int64_t n, int64_t k) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    const float* row = scores + r * n;
    float last = 0.f;
    int64_t last_index = -1;
    for (int64_t out = 0; out < k; ++out) {
      float best = 0.f;
      int64_t best_index = -1;
      for (int64_t i = 0; i < n; ++i) {
        const float v = row[i];
        const bool after_last = last_index < 0 || before(last, last_index, v, i);
        if (after_last && (best_index < 0 || before(v, i, best, best_index))) best = v, best_index = i;
      }
      values[r * k + out] = best;
      indices[r * k + out] = best_index;
      last = best, last_index = best_index;
    }
  }
}

struct TopKShape {
  int64_t rows, n, k;
  TopKShape(const std::vector<Shape>& in, const std::vector<Shape>& out, int64_t k_attr) {
    if (in.size() != 1 || out.size() != 2) plugin::invalid("top_k: takes scores and gives values and indices");
    if (in[0].dtype != CAGR_DTYPE_F32 || in[0].rank() != 2) plugin::invalid("top_k: scores must be f32 [B, N]");
    rows = in[0].dims[0], n = in[0].dims[1], k = k_attr;
    if (k < 1 || k > n) plugin::invalid("top_k: k = " + std::to_string(k) + " must lie in [1, N = " + std::to_string(n) + "]");
    const std::vector<int64_t> expected = {rows, k};
    if (out[0].dtype != CAGR_DTYPE_F32 || out[0].dims != expected) plugin::invalid("top_k: values must be f32 [B, k]");
    if (out[1].dtype != CAGR_DTYPE_I64 || out[1].dims != expected) plugin::invalid("top_k: indices must be i64 [B, k]");
  }
};

class TopKKernel : public GpuKernel {
 public:
  explicit TopKKernel(int64_t k) : k_(k) {}
  void run(const RunTensors& t) override {
    const TopKShape s(t.input_shapes, t.output_shapes, k_);
    if (s.rows == 0) return;
    top_k_kernel<<<blocks_for(s.rows, 64), 64, 0, t.stream>>>(static_cast<const float*>(t.inputs[0]),
                                                              static_cast<float*>(t.outputs[0]),
                                                              static_cast<int64_t*>(t.outputs[1]), s.rows, s.n, s.k);
    check_launch("top_k_kernel");
  }

 private:
  int64_t k_;
};

class TopKOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    if (!op.has_attr("k")) plugin::invalid("top_k: attribute 'k' is required");
    const TopKShape s(input_shapes(op), output_shapes(op), op.attr_int("k", 0));
    return {{{"thread_per_row_selection", double(s.rows) * s.n * s.k, 4.0 * s.rows * s.n * s.k + 12.0 * s.rows * s.k}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    return std::make_unique<TopKKernel>(setup.op.attr_int("k", 0));
  }
};

}  // namespace

const GpuOp& top_k_op() {
  static const TopKOp op;
  return op;
}

}  // namespace cagr::gpu

// reduce_sum (OPS.md): one thread per output element, summing its reduced elements in double.
#include <algorithm>

#include "gpu_check.hpp"
#include "gpu_op.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

struct ReduceParams {
  int rank;
  int64_t dims[CAGR_MAX_RANK];
  int64_t strides[CAGR_MAX_RANK];  // of the input, in elements
  bool reduced[CAGR_MAX_RANK];
  int64_t outputs;
  int64_t per_output;  // reduced elements summed into each output
};

__global__ void reduce_sum_kernel(const float* in, float* out, ReduceParams p) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < p.outputs; o += int64_t(gridDim.x) * blockDim.x) {
    int64_t base = 0, rest = o;  // the output's coordinates over the kept dims, innermost last
    for (int d = p.rank - 1; d >= 0; --d) {
      if (p.reduced[d]) continue;
      base += (rest % p.dims[d]) * p.strides[d];
      rest /= p.dims[d];
    }
    double sum = 0;
    for (int64_t r = 0; r < p.per_output; ++r) {
      int64_t offset = base, left = r;
      for (int d = p.rank - 1; d >= 0; --d) {
        if (!p.reduced[d]) continue;
        offset += (left % p.dims[d]) * p.strides[d];
        left /= p.dims[d];
      }
      sum += in[offset];
    }
    out[o] = float(sum);
  }
}

ReduceParams plan(const Shape& in, const Shape& out, const std::vector<int64_t>& axes, bool keepdims) {
  if (in.dtype != CAGR_DTYPE_F32 || out.dtype != CAGR_DTYPE_F32) plugin::invalid("reduce_sum: tensors must be f32");
  ReduceParams p{};
  p.rank = in.rank();
  for (int64_t axis : axes) {
    const int64_t a = axis < 0 ? axis + p.rank : axis;
    if (a < 0 || a >= p.rank) plugin::invalid("reduce_sum: axis " + std::to_string(axis) + " out of range for rank " + std::to_string(p.rank));
    if (p.reduced[a]) plugin::invalid("reduce_sum: axis " + std::to_string(axis) + " given twice");
    p.reduced[a] = true;
  }
  std::vector<int64_t> expected;
  int64_t stride = 1;
  p.outputs = 1;
  p.per_output = 1;
  for (int d = p.rank - 1; d >= 0; --d) {
    p.dims[d] = in.dims[d];
    p.strides[d] = stride;
    stride *= in.dims[d];
    (p.reduced[d] ? p.per_output : p.outputs) *= in.dims[d];
  }
  for (int d = 0; d < p.rank; ++d)
    if (!p.reduced[d] || keepdims) expected.push_back(p.reduced[d] ? 1 : in.dims[d]);
  if (out.dims != expected) plugin::invalid("reduce_sum: output shape differs from the input's with the axes reduced");
  return p;
}

class ReduceSumKernel : public GpuKernel {
 public:
  ReduceSumKernel(std::vector<int64_t> axes, bool keepdims) : axes_(std::move(axes)), keepdims_(keepdims) {}
  void run(const RunTensors& t) override {
    const ReduceParams p = plan(t.input_shapes[0], t.output_shapes[0], axes_, keepdims_);
    if (p.outputs == 0) return;
    reduce_sum_kernel<<<blocks_for(p.outputs), kBlockThreads, 0, t.stream>>>(static_cast<const float*>(t.inputs[0]),
                                                                              static_cast<float*>(t.outputs[0]), p);
    check_launch("reduce_sum_kernel");
  }

 private:
  std::vector<int64_t> axes_;
  bool keepdims_;
};

class ReduceSumOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    if (op.num_inputs() != 1 || op.num_outputs() != 1) plugin::invalid("reduce_sum: takes one input and one output");
    if (!op.has_attr("axes")) plugin::invalid("reduce_sum: attribute 'axes' is required");
    plan(op.input(0), op.output(0), op.attr_ints("axes", {}), op.attr_int("keepdims", 1) != 0);
    const double n = double(op.input(0).numel());
    return {{{"thread_per_output", n, 4.0 * n + double(op.output(0).bytes())}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    return std::make_unique<ReduceSumKernel>(setup.op.attr_ints("axes", {}), setup.op.attr_int("keepdims", 1) != 0);
  }
};

}  // namespace

const GpuOp& reduce_sum_op() {
  static const ReduceSumOp op;
  return op;
}

}  // namespace cagr::gpu

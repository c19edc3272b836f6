// reduce_sum.cpp - sums over a set of axes (OPS.md, reduce_sum).
#include <algorithm>

#include "device.hpp"
#include "ops/ops.hpp"
#include "reduce_sum_cl.hpp"

namespace cagr::opencl {

namespace {

constexpr const char* kOp = "reduce_sum";

struct Reduction {
  std::vector<int64_t> axes;  // normalised, each once
  bool keepdims = true;
};

Reduction parse(const plugin::OpView& op) {
  require(op.has_attr("axes"), kOp, "attribute 'axes' is required");
  require(op.num_inputs() == 1, kOp, "takes one input");
  const int64_t keepdims = op.attr_int("keepdims", 1);
  require(keepdims == 0 || keepdims == 1, kOp, "keepdims must be 0 or 1, got " + std::to_string(keepdims));
  Reduction r{{}, keepdims == 1};
  const int64_t rank = op.input(0).rank();
  for (int64_t axis : op.attr_ints("axes", {})) {
    const int64_t normal = axis < 0 ? axis + rank : axis;
    require(normal >= 0 && normal < rank, kOp, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    require(std::find(r.axes.begin(), r.axes.end(), normal) == r.axes.end(), kOp, "axis " + std::to_string(axis) + " is given twice");
    r.axes.push_back(normal);
  }
  return r;
}

// Up to 8 values (the ABI's largest rank) as an OpenCL long8, unused slots set to `fill`.
cl_long8 long8(const std::vector<int64_t>& values, int64_t fill) {
  cl_long8 out;
  for (size_t i = 0; i < 8; ++i) out.s[i] = i < values.size() ? values[i] : fill;
  return out;
}

bool reduced(const Reduction& r, size_t dim) { return std::find(r.axes.begin(), r.axes.end(), static_cast<int64_t>(dim)) != r.axes.end(); }

void check_shapes(const Reduction& r, const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  require(in.size() == 1 && out.size() == 1, kOp, "takes one input and has one output");
  require_f32(in[0], kOp, "input");
  require_f32(out[0], kOp, "output");
  std::vector<int64_t> dims;
  for (size_t d = 0; d < in[0].dims.size(); ++d) {
    if (!reduced(r, d)) dims.push_back(in[0].dims[d]);
    else if (r.keepdims) dims.push_back(1);
  }
  require_dims(out[0], dims, kOp, "output");
}

std::vector<VariantCost> variants(const plugin::OpView& op, const Device&) {
  const Reduction r = parse(op);
  check_shapes(r, input_shapes(op), output_shapes(op));
  const double n = static_cast<double>(op.input(0).numel());
  return {{"output_per_item", n, 4.0 * (n + static_cast<double>(op.output(0).numel())), 0.3}};
}

class ReduceSum final : public OpKernel {
 public:
  ReduceSum(Device& device, Reduction reduction)
      : reduction_(std::move(reduction)), kernel_(make_kernel(device, source::reduce_sum, "", "reduce_sum")),
        group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    check_shapes(reduction_, launch.input_shapes, launch.output_shapes);
    const auto& dims = launch.input_shapes[0].dims;
    std::vector<int64_t> strides(dims.size());
    int64_t stride = 1;
    for (size_t d = dims.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= dims[d];
    }
    // Kept and reduced dims, outermost first, with their strides in the input.
    std::vector<int64_t> kept_sizes, kept_strides, reduced_sizes, reduced_strides;
    int64_t outputs = 1, count = 1;
    for (size_t d = 0; d < dims.size(); ++d) {
      const bool r = reduced(reduction_, d);
      (r ? reduced_sizes : kept_sizes).push_back(dims[d]);
      (r ? reduced_strides : kept_strides).push_back(strides[d]);
      (r ? count : outputs) *= dims[d];
    }
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_long>(outputs), static_cast<cl_long>(count),
             long8(kept_sizes, 1), long8(kept_strides, 0), static_cast<cl_int>(kept_sizes.size()), long8(reduced_sizes, 1),
             long8(reduced_strides, 0), static_cast<cl_int>(reduced_sizes.size()));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(outputs), group_);
  }

 private:
  Reduction reduction_;
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> create(Device& device, const plugin::OpView& op, const std::string&, const std::vector<cl_mem>&) {
  Reduction r = parse(op);
  check_shapes(r, input_shapes(op), output_shapes(op));
  return std::make_unique<ReduceSum>(device, std::move(r));
}

}  // namespace

const OpDefinition kReduceSum = {kOp, variants, create};

}  // namespace cagr::opencl

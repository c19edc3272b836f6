// top_k.cpp - the k largest entries of each row (OPS.md, top_k).
#include "device.hpp"
#include "ops/ops.hpp"
#include "top_k_cl.hpp"

namespace cagr::opencl {

namespace {

constexpr const char* kOp = "top_k";

struct Sizes {
  int64_t rows = 0, n = 0;
};

Sizes check_shapes(int64_t k, const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  require(in.size() == 1 && out.size() == 2, kOp, "takes scores and has outputs values and indices");
  require_f32(in[0], kOp, "scores");
  require(in[0].rank() == 2, kOp, "scores must be [B, N], got " + dims_text(in[0].dims));
  const Sizes s{in[0].dims[0], in[0].dims[1]};
  require(k >= 1 && k <= s.n, kOp, "k must be in 1 .. N = " + std::to_string(s.n) + ", got " + std::to_string(k));
  require_f32(out[0], kOp, "values");
  require(out[1].dtype == CAGR_DTYPE_I64, kOp, std::string("indices must be i64, got ") + plugin::dtype_name(out[1].dtype));
  require_dims(out[0], {s.rows, k}, kOp, "values");
  require_dims(out[1], {s.rows, k}, kOp, "indices");
  return s;
}

int64_t attr_k(const plugin::OpView& op) {
  require(op.has_attr("k"), kOp, "attribute 'k' is required");
  return op.attr_int("k", 0);
}

std::vector<VariantCost> variants(const plugin::OpView& op, const Device&) {
  const int64_t k = attr_k(op);
  const Sizes s = check_shapes(k, input_shapes(op), output_shapes(op));
  return {{"row_per_item", static_cast<double>(s.rows * s.n * k), 4.0 * s.rows * (s.n + 3 * k), 0.05}};
}

class TopK final : public OpKernel {
 public:
  TopK(Device& device, int64_t k) : k_(k), kernel_(make_kernel(device, source::top_k, "", "top_k")), group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const Sizes s = check_shapes(k_, launch.input_shapes, launch.output_shapes);
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], launch.outputs[1], static_cast<cl_int>(s.rows),
             static_cast<cl_int>(s.n), static_cast<cl_int>(k_));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(s.rows), group_);
  }

 private:
  int64_t k_;
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> create(Device& device, const plugin::OpView& op, const std::string&, const std::vector<cl_mem>&) {
  variants(op, device);
  return std::make_unique<TopK>(device, attr_k(op));
}

}  // namespace

const OpDefinition kTopK = {kOp, variants, create};

}  // namespace cagr::opencl

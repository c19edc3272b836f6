// interaction.cpp - dot_interaction (DLRM) and fm_interaction (DeepFM), OPS.md.
#include "device.hpp"
#include "interaction_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

struct Features {
  int64_t batch = 0, fields = 0, dim = 0;
};

Features check_features(const char* op, const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  require(in.size() == 1 && out.size() == 1, op, "takes features [B, F, D] and has one output");
  require_f32(in[0], op, "features");
  require(in[0].rank() == 3, op, "features must be [B, F, D], got " + dims_text(in[0].dims));
  require_f32(out[0], op, "output");
  return {in[0].dims[0], in[0].dims[1], in[0].dims[2]};
}

// ---- dot_interaction -------------------------------------------------------------------------

constexpr const char* kDotOp = "dot_interaction";

int64_t pairs(const Features& f, bool self) { return self ? f.fields * (f.fields + 1) / 2 : f.fields * (f.fields - 1) / 2; }

Features check_dot(bool self, const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  const Features f = check_features(kDotOp, in, out);
  require_dims(out[0], {f.batch, pairs(f, self)}, kDotOp, "output");
  return f;
}

bool self_interaction(const plugin::OpView& op) {
  const int64_t self = op.attr_int("self_interaction", 0);
  require(self == 0 || self == 1, kDotOp, "self_interaction must be 0 or 1, got " + std::to_string(self));
  return self == 1;
}

std::vector<VariantCost> dot_variants(const plugin::OpView& op, const Device&) {
  const bool self = self_interaction(op);
  const Features f = check_dot(self, input_shapes(op), output_shapes(op));
  const double p = static_cast<double>(pairs(f, self));
  return {{"pair_per_item", 2.0 * f.batch * p * f.dim, 4.0 * f.batch * (f.fields * f.dim + p), 0.3}};
}

class DotInteraction final : public OpKernel {
 public:
  DotInteraction(Device& device, bool self)
      : self_(self), kernel_(make_kernel(device, source::interaction, "", "dot_interaction")), group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const Features f = check_dot(self_, launch.input_shapes, launch.output_shapes);
    const int64_t p = pairs(f, self_);
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_int>(f.batch), static_cast<cl_int>(f.fields),
             static_cast<cl_int>(f.dim), static_cast<cl_int>(p), static_cast<cl_int>(self_));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(f.batch * p), group_);
  }

 private:
  bool self_;
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> dot_create(Device& device, const plugin::OpView& op, const std::string&, const std::vector<cl_mem>&) {
  dot_variants(op, device);
  return std::make_unique<DotInteraction>(device, self_interaction(op));
}

// ---- fm_interaction --------------------------------------------------------------------------

constexpr const char* kFmOp = "fm_interaction";

Features check_fm(const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  const Features f = check_features(kFmOp, in, out);
  require_dims(out[0], {f.batch, 1}, kFmOp, "output");
  return f;
}

std::vector<VariantCost> fm_variants(const plugin::OpView& op, const Device&) {
  const Features f = check_fm(input_shapes(op), output_shapes(op));
  return {{"sample_per_item", 4.0 * f.batch * f.fields * f.dim, 4.0 * f.batch * (f.fields * f.dim + 1), 0.3}};
}

class FmInteraction final : public OpKernel {
 public:
  explicit FmInteraction(Device& device)
      : kernel_(make_kernel(device, source::interaction, "", "fm_interaction")), group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const Features f = check_fm(launch.input_shapes, launch.output_shapes);
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_int>(f.batch), static_cast<cl_int>(f.fields),
             static_cast<cl_int>(f.dim));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(f.batch), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> fm_create(Device& device, const plugin::OpView& op, const std::string&, const std::vector<cl_mem>&) {
  fm_variants(op, device);
  return std::make_unique<FmInteraction>(device);
}

}  // namespace

const OpDefinition kDotInteraction = {kDotOp, dot_variants, dot_create};
const OpDefinition kFmInteraction = {kFmOp, fm_variants, fm_create};

}  // namespace cagr::opencl

// interaction.cpp - dot_interaction and dlrm_interaction (DLRM), fm_interaction (DeepFM), OPS.md.
#include "device.hpp"
#include "interaction_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

// ---- dot_interaction, dlrm_interaction (the dense vector as feature 0 and output prefix) ----

std::vector<VariantCost> dot_variants(const contract::Checked& checked, const Device&) {
  const auto& s = std::get<contract::DotInteraction>(checked);
  return {{"pair_per_item", 2.0 * s.batch * s.pairs * s.dim, 4.0 * s.batch * (s.features * s.dim + s.out_cols()), 0.3}};
}

class DotInteraction final : public OpKernel {
 public:
  explicit DotInteraction(Device& device)
      : kernel_(make_kernel(device, source::interaction, "", "dot_interaction")), group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const auto& s = std::get<contract::DotInteraction>(launch.sizes);
    cl_mem pooled = launch.inputs[s.dense_input ? 1 : 0];
    set_args(kernel_.get(), launch.inputs[0], pooled, launch.outputs[0], static_cast<cl_int>(s.batch),
             static_cast<cl_int>(s.features), static_cast<cl_int>(s.dim), static_cast<cl_int>(s.pairs),
             static_cast<cl_int>(s.self), static_cast<cl_int>(s.dense_input), static_cast<cl_int>(s.out_cols()));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(s.batch * s.out_cols()), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> dot_create(Device& device, const contract::Checked&, const std::string&, const std::vector<cl_mem>&) {
  return std::make_unique<DotInteraction>(device);
}

// ---- fm_interaction --------------------------------------------------------------------------

std::vector<VariantCost> fm_variants(const contract::Checked& checked, const Device&) {
  const auto& s = std::get<contract::FmInteraction>(checked);
  return {{"sample_per_item", 4.0 * s.batch * s.features * s.dim, 4.0 * s.batch * (s.features * s.dim + 1), 0.3}};
}

class FmInteraction final : public OpKernel {
 public:
  explicit FmInteraction(Device& device)
      : kernel_(make_kernel(device, source::interaction, "", "fm_interaction")), group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const auto& s = std::get<contract::FmInteraction>(launch.sizes);
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_int>(s.batch), static_cast<cl_int>(s.features),
             static_cast<cl_int>(s.dim));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(s.batch), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> fm_create(Device& device, const contract::Checked&, const std::string&, const std::vector<cl_mem>&) {
  return std::make_unique<FmInteraction>(device);
}

}  // namespace

const OpDefinition kDotInteraction = {"dot_interaction", dot_variants, dot_create};
const OpDefinition kDlrmInteraction = {"dlrm_interaction", dot_variants, dot_create};
const OpDefinition kFmInteraction = {"fm_interaction", fm_variants, fm_create};

}  // namespace cagr::opencl

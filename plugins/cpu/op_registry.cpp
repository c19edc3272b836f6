// op_registry.cpp - which OpImpl serves which checked op: chosen by the type of the checked sizes,
// so an op added to contract::Checked without an implementation here does not compile.
#include "cpu_kernel.hpp"

namespace cagr::cpu {
namespace {

template <OpImpl (*Make)()>
const OpImpl& once() {
  static const OpImpl impl = Make();
  return impl;
}

struct ImplOf {
  const OpImpl& operator()(const contract::EmbeddingBag&) const { return once<embedding_bag_impl>(); }
  const OpImpl& operator()(const contract::Linear&) const { return once<linear_impl>(); }
  const OpImpl& operator()(const contract::CrossLayer&) const { return once<linear_impl>(); }
  const OpImpl& operator()(const contract::Unary&) const { return once<unary_impl>(); }
  const OpImpl& operator()(const contract::Binary&) const { return once<binary_impl>(); }
  const OpImpl& operator()(const contract::Concat&) const { return once<concat_impl>(); }
  const OpImpl& operator()(const contract::Reshape&) const { return once<reshape_impl>(); }
  const OpImpl& operator()(const contract::DotInteraction&) const { return once<dot_interaction_impl>(); }
  const OpImpl& operator()(const contract::FmInteraction&) const { return once<fm_interaction_impl>(); }
  const OpImpl& operator()(const contract::ReduceSum&) const { return once<reduce_sum_impl>(); }
  const OpImpl& operator()(const contract::TopK&) const { return once<top_k_impl>(); }
  const OpImpl& operator()(const contract::Gather&) const { return once<gather_impl>(); }
  const OpImpl& operator()(const contract::Elementwise&) const { return once<elementwise_impl>(); }
  const OpImpl& operator()(const contract::Cast&) const { return once<cast_impl>(); }
  const OpImpl& operator()(const contract::StridedCopy&) const { return once<strided_copy_impl>(); }
  const OpImpl& operator()(const contract::MatMul&) const { return once<matmul_impl>(); }
  const OpImpl& operator()(const contract::Take&) const { return once<take_impl>(); }
  const OpImpl& operator()(const contract::GatherElements&) const { return once<gather_elements_impl>(); }
  const OpImpl& operator()(const contract::Softmax&) const { return once<softmax_impl>(); }
  const OpImpl& operator()(const contract::Reduce&) const { return once<reduce_impl>(); }
  const OpImpl& operator()(const contract::LayerNorm&) const { return once<layer_norm_impl>(); }
  const OpImpl& operator()(const contract::BagOffsets&) const { return once<bag_offsets_impl>(); }
  const OpImpl& operator()(const contract::TableOffsets&) const { return once<table_offsets_impl>(); }
  // The fused ops save a GPU the round trips of an intermediate tensor to memory (the pooled
  // embeddings, an MLP's activations); here the ops they fuse stay apart (the core fuses only where
  // a device offers the fused op).
  const OpImpl& operator()(const contract::DlrmEmbeddingInteraction&) const {
    plugin::unsupported("dlrm_embedding_interaction: not offered by the CPU plugin (embedding_bag and dlrm_interaction are)");
  }
  const OpImpl& operator()(const contract::Mlp&) const {
    plugin::unsupported("mlp: not offered by the CPU plugin (it runs the linears one by one)");
  }
};

}  // namespace

const OpImpl& op_impl(const contract::Checked& shapes) { return std::visit(ImplOf{}, shapes); }

}  // namespace cagr::cpu

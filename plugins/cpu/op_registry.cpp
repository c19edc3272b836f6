// op_registry.cpp - which OpImpl serves which checked op.
#include "cpu_kernel.hpp"

namespace cagr::cpu {

const OpImpl& op_impl(const contract::Checked& shapes) {
  // The fused ops save a GPU the round trips of an intermediate tensor to memory (the pooled
  // embeddings, an MLP's activations); here the ops they fuse stay apart (the core fuses only where
  // a device offers the fused op).
  if (std::holds_alternative<contract::DlrmEmbeddingInteraction>(shapes))
    plugin::unsupported("dlrm_embedding_interaction: not offered by the CPU plugin (embedding_bag and dlrm_interaction are)");
  if (std::holds_alternative<contract::Mlp>(shapes))
    plugin::unsupported("mlp: not offered by the CPU plugin (it runs the linears one by one)");
  // Indexed like the alternatives of contract::Checked, the last two (refused above) left out.
  static const std::vector<OpImpl> impls = {embedding_bag_impl(), linear_impl(),         unary_impl(),
                                            binary_impl(),        concat_impl(),         reshape_impl(),
                                            dot_interaction_impl(), fm_interaction_impl(), reduce_sum_impl(),
                                            top_k_impl(),         gather_impl()};
  static_assert(std::variant_size_v<contract::Checked> == 13, "one OpImpl per alternative of contract::Checked");
  return impls.at(shapes.index());
}

}  // namespace cagr::cpu

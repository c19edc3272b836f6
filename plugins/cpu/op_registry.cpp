// op_registry.cpp - which OpImpl serves which checked op.
#include "cpu_kernel.hpp"

namespace cagr::cpu {

const OpImpl& op_impl(const contract::Checked& shapes) {
  // Indexed like the alternatives of contract::Checked.
  static const std::vector<OpImpl> impls = {embedding_bag_impl(), linear_impl(),         unary_impl(),
                                            binary_impl(),        concat_impl(),         reshape_impl(),
                                            dot_interaction_impl(), fm_interaction_impl(), reduce_sum_impl(),
                                            top_k_impl(),         gather_impl()};
  static_assert(std::variant_size_v<contract::Checked> == 11, "one OpImpl per alternative of contract::Checked");
  return impls.at(shapes.index());
}

}  // namespace cagr::cpu

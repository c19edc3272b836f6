#include "gpu_op.hpp"

#include <utility>

namespace cagr::gpu {

const GpuOp* find_op(const std::string& type) {
  static const std::pair<const char*, const GpuOp*> ops[] = {
      {"embedding_bag", &embedding_bag_op()},
      {"linear", &linear_op()},
      {"relu", &relu_op()},
      {"sigmoid", &sigmoid_op()},
      {"add", &add_op()},
      {"mul", &mul_op()},
      {"concat", &concat_op()},
      {"reshape", &reshape_op()},
      {"gather", &gather_op()},
      {"dot_interaction", &dot_interaction_op()},
      {"dlrm_interaction", &dot_interaction_op()},  // dot_interaction with the dense vector in front
      {"dlrm_embedding_interaction", &embedding_interaction_op()},
      {"fm_interaction", &fm_interaction_op()},
      {"mlp", &mlp_op()},
      // cross_layer (DCN-v2's cross layer) has no kernel here yet: refused as unknown, so the core's
      // "cross" fusion does not fire where only this plugin's devices run the linears.
      {"reduce_sum", &reduce_sum_op()},
      {"top_k", &top_k_op()},
      // General tensor ops; the others of OPS.md's list (cast, matmul, gather_elements, softmax,
      // reduce, layer_norm) have no kernel here and are refused as unknown.
      {"elementwise", &elementwise_op()},
      {"transpose", &strided_copy_op()},
      {"slice", &strided_copy_op()},
      {"expand", &strided_copy_op()},
      {"take", &take_op()},
      {"fixed_bag_offsets", &fixed_bag_offsets_op()},
      {"table_offsets", &table_offsets_op()},
  };
  for (const auto& [name, op] : ops)
    if (type == name) return op;
  return nullptr;
}

}  // namespace cagr::gpu

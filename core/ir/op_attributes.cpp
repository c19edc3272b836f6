// op_attributes.cpp - OPS.md's attribute lists, op by op. An op gaining an attribute in OPS.md gains
// it here too (a model file using it is otherwise refused, which the zoo's round-trip tests show).
#include "op_attributes.hpp"

#include <map>

namespace cagr {

const std::vector<std::string>* attributes_of_op(const std::string& op) {
  static const std::map<std::string, std::vector<std::string>> attributes = {
      {"embedding_bag", {"mode", "weighted", "padded"}},
      {"linear", {"activation"}},
      {"mlp", {"activations"}},
      {"cross_layer", {}},
      {"relu", {}},
      {"sigmoid", {}},
      {"add", {}},
      {"mul", {}},
      {"concat", {"axis"}},
      {"reshape", {"shape"}},
      {"dot_interaction", {"self_interaction"}},
      {"dlrm_interaction", {"self_interaction", "pad_to"}},
      {"dlrm_embedding_interaction", {"mode", "self_interaction", "pad_to", "output_dtype"}},
      {"fm_interaction", {}},
      {"reduce_sum", {"axes", "keepdims"}},
      {"top_k", {"k"}},
      {"gather", {}},
      // The general tensor ops (OPS.md's table).
      {"elementwise", {"fn"}},
      {"cast", {"to"}},
      {"transpose", {"perm"}},
      {"slice", {"starts", "ends", "axes", "steps"}},
      {"expand", {"shape"}},
      {"matmul", {}},
      {"take", {"axis"}},
      {"gather_elements", {"axis"}},
      {"softmax", {"axis", "log"}},
      {"reduce", {"fn", "axes", "keepdims"}},
      {"layer_norm", {"axis", "epsilon"}},
      {"fixed_bag_offsets", {"bag_size"}},
      {"table_offsets", {}},
  };
  const auto it = attributes.find(op);
  return it == attributes.end() ? nullptr : &it->second;
}

}  // namespace cagr

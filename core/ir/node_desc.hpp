// node_desc.hpp - a node of the IR described in the ABI's terms, for op_query, kernel_create and
// the reference ops.
#pragma once

#include <string>
#include <vector>

#include "graph.hpp"
#include "owned_op_desc.hpp"
#include "shape_inference.hpp"

namespace cagr {

// `shapes` indexed by tensor id (infer_shapes' result). The result owns all it points to; its
// desc() is the cagr_op_desc view.
abi::OwnedOpDesc describe_node(const Node& node, const std::vector<TensorShape>& shapes);

// The op as text: its type, each input's and output's dtype and dims, its attributes. Without
// `leading_dims` the first dimension of every tensor is left out (it varies per run, OPS.md), so two
// nodes whose kernels serve each other's runs read the same.
std::string op_signature(const cagr_op_desc& op, bool leading_dims);

inline cagr_tensor_desc tensor_desc_of(const TensorShape& shape) { return abi::tensor_desc(shape.dtype, shape.dims); }

}  // namespace cagr

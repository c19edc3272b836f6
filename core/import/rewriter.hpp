// rewriter.hpp - turns an imported ONNX graph (onnx_import.hpp) into CAGR's IR: pattern rewrites
// recognise what PyTorch's exporters emit for recommendation models (embedding bags, linear layers
// with their activation, DLRM's dot interaction, DeepFM's FM term) and map them onto abi/OPS.md
// ops; the remaining element-wise and layout ops are lowered one by one. What survives without a
// counterpart makes the import fail with an error naming the op, the node and what would be needed.
#pragma once

#include <map>
#include <string>

#include "graph.hpp"
#include "onnx_import.hpp"

namespace cagr::onnx {

// How many times each rewrite fired ("embedding_bag (merged tables)": 22, ...).
struct RewriteReport {
  std::map<std::string, int> counts;
  std::string to_string() const;  // one "name: count" line each
};

// Consumes `graph` (read_onnx's result) and returns the validated CAGR graph called `name`.
// Throws std::runtime_error naming the ONNX node at fault.
Graph rewrite_to_cagr(OnnxGraph graph, const std::string& name, RewriteReport& report);

}  // namespace cagr::onnx

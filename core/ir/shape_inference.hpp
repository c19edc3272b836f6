// shape_inference.hpp - output shapes and dtypes of every node (rules: abi/OPS.md).
//
// Works with unknown (-1) dimensions at load time, to validate a model before any input is seen,
// and with concrete ones at run time, to size buffers and describe each run to the plugins.
#pragma once

#include <vector>

#include "graph.hpp"

namespace cagr {

struct TensorShape {
  cagr_dtype dtype = CAGR_DTYPE_INVALID;
  Dims dims;
};

// Shapes of every tensor of `graph` (indexed by tensor id) given the shapes of its inputs (in the
// order of graph.inputs()); constants keep their own. Throws std::invalid_argument naming the node,
// its op and model.xml line, and what does not fit.
std::vector<TensorShape> infer_shapes(const Graph& graph, const std::vector<Dims>& input_dims);

// Validates the graph with its declared input shapes and writes every tensor's dtype and dims
// (unknown dimensions stay -1) into the graph.
void infer_and_annotate(Graph& graph);

}  // namespace cagr

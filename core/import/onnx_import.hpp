// onnx_import.hpp - reading .onnx files into an ONNX-level graph that the rewriter (rewriter.hpp)
// turns into CAGR ops, plus a small evaluator of ONNX ops on concrete values. The evaluator does
// the shape-driven constant folding (Shape/Gather/Concat/Cast chains that compute shapes) and
// "probes" the graph at concrete batch sizes so that rewrites know every tensor's shape, and which
// dimensions follow the batch, without a per-op symbolic shape engine.
#pragma once

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph.hpp"

namespace cagr::onnx {

struct OnnxGraph;
struct OnnxConstant;

// A node as ONNX has it, or (op_domain "cagr") an op of abi/OPS.md that a rewrite put in its place.
struct OnnxNode {
  std::string name;
  std::string op;
  std::string domain;  // "" for ONNX ops, "cagr" for rewritten ones
  std::vector<std::string> inputs, outputs;  // "" marks an omitted optional input
  std::map<std::string, AttrValue> attrs;
  std::map<std::string, std::shared_ptr<OnnxGraph>> subgraphs;  // Loop bodies, If branches
  std::map<std::string, std::shared_ptr<const OnnxConstant>> tensor_attrs;  // e.g. ConstantOfShape's value

  bool is_cagr() const { return domain == "cagr"; }
  // For a cagr embedding_bag: its number of tables (the inputs after the offsets, less the
  // per-sample weights and padding rows its attributes announce).
  int64_t bag_tables() const;
  // Where it is, for error messages: "node 'name' (Op)".
  std::string where() const;
};

// A constant tensor: an initializer, a Constant node's value, or a folded result.
struct OnnxConstant {
  cagr_dtype dtype = CAGR_DTYPE_INVALID;
  Dims dims;
  std::shared_ptr<const std::vector<std::byte>> data;
};

struct OnnxInput {
  std::string name;
  cagr_dtype dtype = CAGR_DTYPE_INVALID;
  Dims dims;  // kDynamic where the file names a symbol instead of a size
};

struct OnnxGraph {
  std::vector<OnnxNode> nodes;  // in the file's (topological) order
  std::map<std::string, OnnxConstant> constants;
  std::vector<OnnxInput> inputs;  // real inputs only (initializers excluded)
  std::vector<std::string> outputs;
  std::vector<std::string> body_inputs;  // a subgraph's formal inputs (Loop: iteration, condition, ...)
  int64_t opset = 0;  // the model's default-domain opset (ops whose semantics changed between opsets read it)

  // The node that writes `tensor` in this graph, or nullptr.
  const OnnxNode* producer(const std::string& tensor) const;
  // Nodes reading `tensor`, here or in any subgraph (captured from the outer scope).
  std::vector<const OnnxNode*> consumers(const std::string& tensor) const;
};

// CAGR's dtype for an ONNX element type (TensorProto.DataType); bool is u8 (0/1). Throws
// std::runtime_error naming `what` for a type CAGR has no counterpart for (double, strings, ...).
cagr_dtype dtype_of_onnx(int32_t onnx_type, const std::string& what);
constexpr int32_t kOnnxBool = 9;  // TensorProto.BOOL

// Parses `path` (weights stored as external data are read from files beside it). Constant nodes
// become constants. Throws std::runtime_error naming the file and what is wrong.
OnnxGraph read_onnx(const std::string& path);

// A value during evaluation: its shape always, its elements when they can be computed (small integer
// tensors, or values seeded by the caller). Elements are doubles: exact for the indices and sizes
// that shape computations handle.
struct EvalValue {
  cagr_dtype dtype = CAGR_DTYPE_INVALID;
  Dims dims;
  std::optional<std::vector<double>> values;
};

// An element of an EvalValue as integer type Int: saturated at Int's range, NaN as 0. A plain cast
// of either is undefined: int64's extremes (Slice's INT64_MAX, "to the end") come back from a
// double as 2^63, outside int64 (UBSan's float-cast-overflow on a fixture, found by fuzz_onnx).
template <class Int>
Int saturated(double d) {
  if (std::isnan(d)) return 0;
  if (d >= static_cast<double>(std::numeric_limits<Int>::max())) return std::numeric_limits<Int>::max();
  if (d <= static_cast<double>(std::numeric_limits<Int>::min())) return std::numeric_limits<Int>::min();
  return static_cast<Int>(d);
}
using EvalValues = std::map<std::string, EvalValue>;

// Evaluates the top-level nodes of `graph` in order, starting from `seeds` (usually the inputs)
// and the graph's constants (small ones with their values, the rest shape only). Ops it does not
// know, or whose inputs are unknown, leave their outputs unknown. CAGR-domain embedding_bag nodes
// are evaluated for their shape.
EvalValues evaluate(const OnnxGraph& graph, const EvalValues& seeds);

// Replaces every node whose outputs are computable from constants alone (or from the static
// shapes of the inputs) by constants. Returns how many nodes it folded.
int fold_constants(OnnxGraph& graph);

// A computed value as a constant (it must have its values).
OnnxConstant to_constant(const EvalValue& value);

// Removes nodes whose outputs nothing uses (the graph outputs and subgraph captures count as uses)
// and constants that nothing reads.
void remove_dead_nodes(OnnxGraph& graph);

// Element i of a small constant as a double / all of them; throws if it has no data.
std::vector<double> constant_values(const OnnxConstant& c);

}  // namespace cagr::onnx

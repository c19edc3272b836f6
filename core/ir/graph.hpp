// graph.hpp - the graph IR: tensors (shape, dtype, optional constant data), nodes (op, attributes),
// graph inputs and outputs. Ops and their semantics are those of abi/OPS.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "cagr_dtype.hpp"
#include "cagr_plugin.h"

namespace cagr {

// A dimension of -1 is not known until run time (batch size, number of indices).
using Dims = std::vector<int64_t>;
constexpr int64_t kDynamic = -1;

using abi::dtype_from_name;
using abi::dtype_name;
using abi::dtype_size;
int64_t element_count(const Dims& dims);               // -1 when any dim is dynamic
std::string dims_to_string(const Dims& dims);           // "?,16" style

struct TensorInfo {
  std::string name;
  cagr_dtype dtype = CAGR_DTYPE_INVALID;
  Dims dims;
  // Constant data (weights), dense row-major; shared so that copies of a graph share weights.
  std::shared_ptr<const std::vector<std::byte>> data;
  bool is_constant() const { return data != nullptr; }
};

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

struct Node {
  std::string name;
  std::string op;                           // op_type of abi/OPS.md
  std::vector<int> inputs;                  // tensor ids
  std::vector<int> outputs;                 // tensor ids
  std::map<std::string, AttrValue> attrs;
  int source_line = 0;                      // where it came from in model.xml (0: built in code)
  // The loosest arithmetic the session allows this node (ABI 1.2): a choice of the run, not of the
  // model, so model files and model_key() leave it out; make_executor (planned_executor.cpp) sets it from the session or plan.
  cagr_math_precision math_precision = CAGR_MATH_F32;
  // embedding_bag: the dtype the session asks its constant f32 tables stored in (f16, bf16, u8
  // row-wise quantised; f32: as the model has them). Like math_precision a choice of the run;
  // make_executor converts them (table_precision.cpp) where a target accepts the node so.
  cagr_dtype table_dtype = CAGR_DTYPE_F32;
  // embedding_bag: per table, the rows an id profile found most looked up, most frequent first
  // (cagr-run --hot-ids; id_profile.hpp). Passed to kernel_create (ABI 1.4 hot rows extension),
  // where a plugin that caches the tables may keep them resident. A choice of the run, as above.
  std::vector<std::vector<int64_t>> hot_rows;

  int64_t attr_int(const std::string& key, int64_t fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, const std::vector<int64_t>& fallback) const;
};

class Graph;
// Allows every node `p` (Node::math_precision): the session's --precision, or a loaded plan's.
void allow_math_precision(Graph& graph, cagr_math_precision p);

class Graph {
 public:
  std::string name;

  int add_tensor(TensorInfo info);          // throws if the name is taken
  int add_input(const std::string& name, cagr_dtype dtype, Dims dims);
  int add_constant(const std::string& name, cagr_dtype dtype, Dims dims, std::vector<std::byte> data);
  // Adds a node; output tensors are created with unknown shape (shape inference fills them).
  int add_node(Node node, const std::vector<std::string>& input_names, const std::vector<std::string>& output_names);
  void mark_output(const std::string& tensor_name);

  int tensor_id(const std::string& name) const;  // throws std::out_of_range naming it
  bool has_tensor(const std::string& name) const { return by_name_.count(name) != 0; }
  TensorInfo& tensor(int id) { return tensors_.at(static_cast<size_t>(id)); }
  const TensorInfo& tensor(int id) const { return tensors_.at(static_cast<size_t>(id)); }
  size_t num_tensors() const { return tensors_.size(); }

  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& nodes() { return nodes_; }
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }

  // The node that writes tensor `id`, or -1 for graph inputs and constants.
  int producer(int tensor_id) const;
  // Whether node `n` only reinterprets its input's bytes (a reshape of a computed tensor): the
  // executor runs it as a view of its input's buffer, and placement keeps it with its input.
  bool is_view(int n) const;
  // Node indices so that every node comes after the producers of its inputs. Throws on a cycle or on
  // a tensor that nothing produces.
  std::vector<int> topological_order() const;

 private:
  std::vector<TensorInfo> tensors_;
  std::map<std::string, int> by_name_;
  std::vector<Node> nodes_;
  std::vector<int> inputs_;
  std::vector<int> outputs_;
};

}  // namespace cagr

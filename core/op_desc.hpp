// op_desc.hpp - a node of the IR described in the ABI's terms (cagr_op_desc), owning the storage
// every pointer in it refers to.
#pragma once

#include <deque>
#include <vector>

#include "graph.hpp"
#include "shape_inference.hpp"

namespace cagr {

cagr_tensor_desc make_tensor_desc(const TensorShape& shape);

class OpDesc {
 public:
  // `shapes` indexed by tensor id (infer_shapes' result).
  OpDesc(const Node& node, const std::vector<TensorShape>& shapes);
  OpDesc(const OpDesc&) = delete;
  OpDesc& operator=(const OpDesc&) = delete;

  const cagr_op_desc& get() const { return desc_; }
  const std::vector<cagr_tensor_desc>& inputs() const { return inputs_; }
  const std::vector<cagr_tensor_desc>& outputs() const { return outputs_; }

 private:
  std::vector<cagr_tensor_desc> inputs_, outputs_;
  std::vector<const cagr_tensor_desc*> input_ptrs_, output_ptrs_;
  std::deque<std::string> strings_;              // attribute names and string values
  std::deque<std::vector<int64_t>> int_lists_;   // deque: growing never moves earlier entries
  std::deque<std::vector<double>> float_lists_;
  std::vector<cagr_attr> attrs_;
  std::vector<const cagr_attr*> attr_ptrs_;
  std::string op_type_;
  cagr_op_desc desc_;
};

}  // namespace cagr

// tensor_ops.hpp - the general tensor ops of abi/OPS.md ("General tensor ops"), which carry ONNX's
// semantics so that a model exported from ordinary PyTorch code imports op for op: element-wise
// ops with numpy broadcasting, cast, transpose/slice/expand, matmul, take (ONNX Gather),
// gather_elements, softmax, reduce and layer_norm.
//
// One rule per op computes the output types from the input types and attributes, and the sizes the
// op's loops need. The same rule serves the contract (op_contract.hpp's check, concrete shapes) and
// the core's shape inference (dims may be kUnknownDim: they stay unknown where they reach the
// output), so the two cannot disagree.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "cagr_plugin.h"

namespace cagr::contract {

constexpr int64_t kUnknownDim = -1;

struct TensorType {
  cagr_dtype dtype = CAGR_DTYPE_INVALID;
  std::vector<int64_t> dims;  // kUnknownDim where not known (shape inference only)
};

// Attributes by name, from an ABI op description or from a graph node.
class AttrSource {
 public:
  virtual ~AttrSource() = default;
  virtual bool has(const char* name) const = 0;
  virtual int64_t get_int(const char* name, int64_t fallback) const = 0;
  virtual double get_float(const char* name, double fallback) const = 0;
  virtual std::string get_string(const char* name, const std::string& fallback) const = 0;
  virtual std::vector<int64_t> get_ints(const char* name, const std::vector<int64_t>& fallback) const = 0;
};

enum class ElementwiseFn {
  // one input
  neg, abs, sqrt, exp, log, tanh, reciprocal, floor, ceil, logical_not,
  // two inputs
  add, sub, mul, div, pow, max, min, equal, less, greater, less_or_equal, greater_or_equal, logical_and, logical_or,
  logical_xor,
  // three inputs: where(condition, x, y)
  where
};

// elementwise: out[i] = fn(in_0[...], in_1[...], ...), every input broadcast to the output.
struct Elementwise {
  ElementwiseFn fn = ElementwiseFn::add;
  cagr_dtype dtype = CAGR_DTYPE_F32;      // of the value inputs (where: inputs 1 and 2)
  cagr_dtype out_dtype = CAGR_DTYPE_F32;
  std::vector<int64_t> out_dims;
  std::vector<std::vector<int64_t>> strides;  // per input, per output dim: element stride, 0 where broadcast
  int64_t numel = 0;
};

struct Cast {
  cagr_dtype from = CAGR_DTYPE_F32, to = CAGR_DTYPE_F32;
  int64_t numel = 0;
};

// transpose, slice, expand: output element at coordinates c is input element
// offset + sum_k c_k * strides[k] (strides may be 0, for expand, or negative, for a reversed slice).
struct StridedCopy {
  size_t elem_size = 4;
  std::vector<int64_t> out_dims;
  std::vector<int64_t> strides;
  int64_t offset = 0;
  int64_t numel = 0;
};

// matmul: numpy's matmul, batch dims broadcast. Batch b's A starts at element a_offsets[b] and its
// B at b_offsets[b]; each is a dense row-major matrix (A: m x k, B: k x n), the output's is b*m*n.
struct MatMul {
  int64_t m = 0, k = 0, n = 0;
  std::vector<int64_t> a_offsets, b_offsets;
};

// take (ONNX Gather): out[o, j, r] = data[o, wrap(indices[j]), r].
struct Take {
  size_t elem_size = 4;
  int64_t outer = 0, axis_len = 0, inner = 0, count = 0;
  cagr_dtype index_dtype = CAGR_DTYPE_I64;
};

// gather_elements: out[c] = data[c with c[axis] replaced by wrap(indices[c])].
struct GatherElements {
  size_t elem_size = 4;
  std::vector<int64_t> index_dims, data_dims;
  int64_t axis = 0;
  cagr_dtype index_dtype = CAGR_DTYPE_I64;
};

// softmax over one axis: the input is [outer, n, inner].
struct Softmax {
  int64_t outer = 0, n = 0, inner = 0;
  bool log = false;
};

enum class ReduceFn { sum, mean, max, min, prod };

struct Reduce {
  ReduceFn fn = ReduceFn::sum;
  std::vector<int64_t> dims;  // the input's
  std::vector<bool> reduced;  // per input dim
};

// layer_norm: the input is [outer, n], each row normalised; outputs: Y, and optionally each row's
// mean and 1 / standard deviation (an op may use the first 1, 2 or 3 outputs).
struct LayerNorm {
  int64_t outer = 0, n = 0;
  double epsilon = 1e-5;
  bool has_bias = false;
  int outputs = 1;
};

// fixed_bag_offsets: embedding_bag's offsets for `bags` bags of `bag_size` consecutive indices each.
struct BagOffsets {
  int64_t bags = 0, bag_size = 1;
};

// table_offsets: embedding_bag's offsets from per-table bag offsets `[T, B]` into the rows of a
// `[T, L]` index matrix (the layout the DLRM reference code feeds nn.EmbeddingBag).
struct TableOffsets {
  int64_t tables = 0, batch = 0, row_length = 0;  // T, B, L
  cagr_dtype offset_dtype = CAGR_DTYPE_I64;
};

using TensorOpSizes = std::variant<Elementwise, Cast, StridedCopy, MatMul, Take, GatherElements, Softmax, Reduce, LayerNorm,
                                   BagOffsets, TableOffsets>;

struct TensorOpDescription {
  TensorOpSizes sizes;              // meaningful only where every input dim is known
  std::vector<TensorType> outputs;  // every output the op can have, in order; a node uses the first 1 or more
};

// Op types of the general tensor ops, in OPS.md's order.
const std::vector<std::string>& tensor_op_types();
bool is_tensor_op(const std::string& type);

// Tensor op `type` applied to inputs of these types with these attributes. Throws plugin::Error
// (CAGR_ERROR_INVALID_ARGUMENT) with a message naming the op and what is wrong.
TensorOpDescription describe_tensor_op(const std::string& type, const std::vector<TensorType>& inputs,
                                       const AttrSource& attrs);

// ONNX's numpy broadcasting of two shapes (unknown dims allowed); throws plugin::Error.
std::vector<int64_t> broadcast_dims(const std::vector<int64_t>& a, const std::vector<int64_t>& b, const std::string& op);

}  // namespace cagr::contract

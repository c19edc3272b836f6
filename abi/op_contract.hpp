// op_contract.hpp - abi/OPS.md as code: checks an op description against the operator set and
// returns the sizes that the op's loops need.
//
// Shared by the reference ops and by plugins (it depends only on abi/), so that every
// implementation refuses exactly the same descriptions with the same messages, and none has to
// re-derive the shape rules of OPS.md. Data-dependent checks (index ranges, offsets) are not
// here: they belong to whoever reads the data.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "cagr_plugin_support.hpp"
#include "tensor_ops.hpp"

namespace cagr::contract {

enum class Activation { none, relu, sigmoid };

// embedding_bag's attribute `mode`: how a bag's rows are pooled.
enum class Pooling { sum, mean, max };

struct EmbeddingBag {
  int64_t tables = 0;       // T
  int64_t batch = 0;        // B
  int64_t dim = 0;          // D
  int64_t num_indices = 0;  // L
  std::vector<int64_t> rows;  // R_t per table
  Pooling pooling = Pooling::sum;
  bool weighted = false;  // attribute `weighted`: per-sample weights [L] (f32) follow the tables
  bool padded = false;    // attribute `padded`: the last input holds each table's padding row, [T]
  cagr_dtype index_dtype = CAGR_DTYPE_INVALID;
  cagr_dtype offset_dtype = CAGR_DTYPE_INVALID;
  cagr_dtype padding_dtype = CAGR_DTYPE_INVALID;  // with `padded`
  // Every table's dtype (OPS.md's optional extension): f32, f16, bf16, or u8 row-wise quantised
  // ([R, D + 8]: D codes, then the row's f32 scale and bias).
  cagr_dtype table_dtype = CAGR_DTYPE_F32;

  // Bytes of one stored table row.
  int64_t row_bytes() const {
    return table_dtype == CAGR_DTYPE_U8 ? dim + 8 : dim * static_cast<int64_t>(abi::dtype_size(table_dtype));
  }

  // Positions of the optional inputs, counted from the lookup's first input (the indices).
  size_t weights_input() const { return 2 + static_cast<size_t>(tables); }
  size_t padding_input() const { return 2 + static_cast<size_t>(tables) + (weighted ? 1 : 0); }
  // Whether the op goes beyond plain sum/mean pooling of every index (OPS.md's later additions).
  bool extended() const { return pooling == Pooling::max || weighted || padded; }
};

// table_t[row, d] as OPS.md defines it for each table dtype, `table` being the table's stored bytes:
// the plain reading, for the reference and for checks.
inline float table_value(const EmbeddingBag& e, const void* table, int64_t row, int64_t d) {
  const auto* bytes = static_cast<const unsigned char*>(table) + row * e.row_bytes();
  switch (e.table_dtype) {
    case CAGR_DTYPE_F16: case CAGR_DTYPE_BF16: {
      uint16_t bits;
      std::memcpy(&bits, bytes + 2 * d, 2);
      return e.table_dtype == CAGR_DTYPE_F16 ? abi::float_from_f16(bits) : abi::float_from_bf16(bits);
    }
    case CAGR_DTYPE_U8: {
      float scale, bias;
      std::memcpy(&scale, bytes + e.dim, 4);
      std::memcpy(&bias, bytes + e.dim + 4, 4);
      return static_cast<float>(bytes[d]) * scale + bias;
    }
    default: {
      float value;
      std::memcpy(&value, bytes + 4 * d, 4);
      return value;
    }
  }
}

struct Linear {
  int64_t m = 0, k = 0, n = 0;
  bool has_bias = false;
  Activation activation = Activation::none;
};

// mlp: layer l is a linear with bias of X's M rows, k[l] -> n[l], reading inputs 1 + 2l (W) and
// 2 + 2l (bias) and the previous layer's output (X for layer 0).
struct Mlp {
  int64_t m = 0;
  cagr_dtype x_dtype = CAGR_DTYPE_F32;  // f32, or bf16 (OPS.md: an optional extension)
  std::vector<int64_t> k, n;  // per layer; k[l] = n[l - 1]
  std::vector<Activation> activations;

  Linear layer(size_t l) const { return Linear{m, k[l], n[l], true, activations[l]}; }
};

// mlp's attribute `activations` split at its commas: one name per layer ("" gives one empty name).
inline std::vector<std::string> activation_names(const std::string& list) {
  std::vector<std::string> names(1);
  for (char ch : list) {
    if (ch == ',') names.emplace_back();
    else names.back() += ch;
  }
  return names;
}

// cross_layer: Y = x0 * (X · Wᵀ + bias) + R, `linear` being the product's sizes (with a bias, no
// activation); R is input 4 where `residual_input`, else X (input 1, then [M, N]).
struct CrossLayer {
  Linear linear;
  bool residual_input = false;
};

// The matmul of a linear or a cross_layer, as a plugin that runs both with one kernel sees it: its
// sizes, where X, W and the bias are among the op's inputs, and for cross_layer where x0 and R are.
struct LinearOperands {
  Linear sizes;
  size_t x = 0, w = 1, bias = 2;
  bool cross = false;  // Y = x0 * (the product) + R
  size_t x0 = 0, residual = 0;
};
// relu, sigmoid: one tensor of `numel` elements.
struct Unary {
  Activation activation = Activation::relu;
  int64_t numel = 0;
};

// add, mul: out[i] = a[i] op b[i % b_numel].
struct Binary {
  bool multiply = false;
  int64_t numel = 0;
  int64_t b_numel = 0;
};

// The output is `outer` blocks; block o is the inputs' o-th chunks side by side, input i's chunk
// being chunk[i] contiguous elements.
struct Concat {
  int64_t outer = 0;
  std::vector<int64_t> chunk;
};

struct Reshape {
  size_t bytes = 0;
};

// dot_interaction, and dlrm_interaction (dense_input): then feature 0 of a sample is its dense
// vector (input 0, [B, D]) and features 1 .. F-1 its pooled embeddings (input 1, [B, F-1, D]), and
// each output row is the dense vector followed by the dots.
struct DotInteraction {
  int64_t batch = 0, features = 0, dim = 0, pairs = 0;
  bool self = false;
  bool dense_input = false;
  int64_t pad_to = 1;  // dlrm_interaction: output columns rounded up to a multiple, zeros after the dots

  int64_t dots_offset() const { return dense_input ? dim : 0; }  // first output column of the dots
  int64_t used_cols() const { return dots_offset() + pairs; }
  int64_t out_cols() const { return (used_cols() + pad_to - 1) / pad_to * pad_to; }
  // Feature f of sample b, read from the op's inputs.
  const float* feature(const void* const* in, int64_t b, int64_t f) const {
    if (!dense_input) return static_cast<const float*>(in[0]) + (b * features + f) * dim;
    return f == 0 ? static_cast<const float*>(in[0]) + b * dim
                  : static_cast<const float*>(in[1]) + (b * (features - 1) + f - 1) * dim;
  }
};

// dlrm_embedding_interaction: `lookup` reads inputs 1 .. (embedding_bag's inputs 0 ..), whose
// pooled rows are `interaction`'s input 1.
struct DlrmEmbeddingInteraction {
  EmbeddingBag lookup;
  DotInteraction interaction;
  cagr_dtype output_dtype = CAGR_DTYPE_F32;  // attribute output_dtype: f32, or bf16 (optional)
};

struct FmInteraction {
  int64_t batch = 0, features = 0, dim = 0;
};

struct ReduceSum {
  std::vector<int64_t> dims;  // the input's
  std::vector<bool> reduced;  // per input dim
};

struct TopK {
  int64_t batch = 0, n = 0, k = 0;
};

struct Gather {
  int64_t rows = 0;       // R
  int64_t row_elems = 0;  // d1 * ... * dn
  int64_t count = 0;      // number of indices
  cagr_dtype index_dtype = CAGR_DTYPE_INVALID;
};

// (New alternatives go last: the CPU plugin indexes its op table by position.) The general tensor
// ops' sizes (tensor_ops.hpp) come after OPS.md's recommendation ops.
using Checked = std::variant<EmbeddingBag, Linear, Unary, Binary, Concat, Reshape, DotInteraction, FmInteraction,
                             ReduceSum, TopK, Gather, DlrmEmbeddingInteraction, Mlp, Elementwise, Cast, StridedCopy,
                             MatMul, Take, GatherElements, Softmax, Reduce, LayerNorm, BagOffsets, TableOffsets,
                             CrossLayer>;

// For a checked linear or cross_layer (std::bad_variant_access for any other op).
LinearOperands linear_operands(const Checked& checked);

// The op types of OPS.md, in its order (the general tensor ops last).
const std::vector<std::string>& op_types();

// Checks `op` against OPS.md. Throws plugin::Error: CAGR_ERROR_UNSUPPORTED for an op_type not in
// OPS.md, CAGR_ERROR_INVALID_ARGUMENT (message naming the op and what is wrong) for anything else.
Checked check(const plugin::OpView& op);

// Which inputs OPS.md calls "usually constant" (weights, tables).
bool usually_constant(const plugin::OpView& op, size_t input_index);

// OPS.md's rule for shapes at kernel_run: a tensor's dims may differ from those at kernel_create
// only where they vary per run - the first dim (batch, number of indices), gather's index shape and
// output, and any dim of the general tensor ops (stateless loops over the run's shapes). Throws
// INVALID_ARGUMENT naming the op, the tensor and both shapes.
// (Pointer and count, not std::span: plugins may be built as C++17.)
void check_run_dims(const std::string& op_type, bool is_output, size_t index, const int64_t* created, size_t created_rank,
                    const int64_t* run, size_t run_rank);

// Output shape of reshape with attribute `shape` (-1 inferred, 0 copies the input's dim).
std::vector<int64_t> reshape_target(const std::vector<int64_t>& input_dims, const std::vector<int64_t>& shape);

// "[2, 3, 4]"
std::string dims_string(const std::vector<int64_t>& dims);

}  // namespace cagr::contract

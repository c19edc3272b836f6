// shape_inference.cpp - per-op shape rules of abi/OPS.md.
#include "shape_inference.hpp"

#include <stdexcept>
#include <string>

#include "op_contract.hpp"  // activation_names
#include "attr_map.hpp"
#include "tensor_ops.hpp"

namespace cagr {
namespace {


class NodeShapes {
 public:
  NodeShapes(const Graph& graph, const Node& node, std::vector<TensorShape>& shapes)
      : graph_(graph), node_(node), shapes_(shapes) {}

  [[noreturn]] void fail(const std::string& what) const {
    std::string where = "node '" + node_.name + "' (" + node_.op;
    if (node_.source_line > 0) where += ", model.xml line " + std::to_string(node_.source_line);
    throw std::invalid_argument(where + "): " + what);
  }
  const TensorShape& in(size_t i) const {
    if (i >= node_.inputs.size()) fail("expects at least " + std::to_string(i + 1) + " inputs");
    return shapes_[static_cast<size_t>(node_.inputs[i])];
  }
  std::string in_name(size_t i) const { return graph_.tensor(node_.inputs[i]).name; }
  void set_out(size_t i, cagr_dtype dtype, Dims dims) {
    if (i >= node_.outputs.size()) fail("expects " + std::to_string(i + 1) + " outputs");
    shapes_[static_cast<size_t>(node_.outputs[i])] = TensorShape{dtype, std::move(dims)};
  }
  void expect_inputs(size_t lo, size_t hi) const {
    if (node_.inputs.size() < lo || node_.inputs.size() > hi)
      fail("takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) + " inputs, has " +
           std::to_string(node_.inputs.size()));
  }
  void expect_outputs(size_t n) const {
    if (node_.outputs.size() != n)
      fail("has " + std::to_string(node_.outputs.size()) + " outputs, expects " + std::to_string(n));
  }
  void expect_rank(size_t i, size_t rank) const {
    if (in(i).dims.size() != rank)
      fail("input '" + in_name(i) + "' must have rank " + std::to_string(rank) + ", has [" + dims_to_string(in(i).dims) + "]");
  }
  void expect_dtype(size_t i, std::initializer_list<cagr_dtype> allowed) const {
    for (cagr_dtype d : allowed)
      if (in(i).dtype == d) return;
    fail("input '" + in_name(i) + "' has dtype " + dtype_name(in(i).dtype) + ", which this op does not take");
  }
  // Two dims that must agree (unknown dims agree with anything); returns the known one.
  int64_t unify(int64_t a, int64_t b, const std::string& what) const {
    if (a >= 0 && b >= 0 && a != b) fail(what + ": " + std::to_string(a) + " vs " + std::to_string(b));
    return a >= 0 ? a : b;
  }
  int normalize_axis(int64_t axis, size_t rank) const {
    const int64_t r = static_cast<int64_t>(rank);
    if (axis < -r || axis >= r) fail("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
    return static_cast<int>(axis < 0 ? axis + r : axis);
  }

  void infer() {
    const std::string& op = node_.op;
    if (op == "embedding_bag") return embedding_bag();
    if (op == "linear") return linear();
    if (op == "mlp") return mlp();
    if (op == "cross_layer") return cross_layer();
    if (op == "relu" || op == "sigmoid") return unary();
    if (op == "add" || op == "mul") return binary();
    if (op == "concat") return concat();
    if (op == "reshape") return reshape();
    if (op == "dot_interaction") return dot_interaction();
    if (op == "dlrm_interaction") return dlrm_interaction();
    if (op == "dlrm_embedding_interaction") return dlrm_embedding_interaction();
    if (op == "fm_interaction") return fm_interaction();
    if (op == "reduce_sum") return reduce_sum();
    if (op == "top_k") return top_k();
    if (op == "gather") return gather();
    if (contract::is_tensor_op(op)) return tensor_op();
    fail("unknown op '" + op + "' (the op set is abi/OPS.md)");
  }

 private:
  void embedding_bag() {
    if (node_.inputs.size() < 3) fail("needs indices, offsets and at least one table");
    expect_outputs(1);
    set_out(0, CAGR_DTYPE_F32, pooled_dims(0, {CAGR_DTYPE_F32, CAGR_DTYPE_F16, CAGR_DTYPE_BF16, CAGR_DTYPE_U8}, true));
  }

  // embedding_bag's inputs (indices, offsets, tables whose dtype is one of `table_dtypes`, and where
  // `extensions` allows and the attributes say so per-sample weights and padding rows) from input
  // `first` on -> the pooled embeddings' [B, T, D].
  Dims pooled_dims(size_t first, std::initializer_list<cagr_dtype> table_dtypes, bool extensions) const {
    const std::string mode = node_.attr_string("mode", "sum");
    const bool weighted = node_.attr_int("weighted", 0) != 0, padded = node_.attr_int("padded", 0) != 0;
    if (!extensions && (mode == "max" || weighted || padded))
      fail("pools by mode sum or mean, without per-sample weights or padding rows (embedding_bag's alone)");
    if (mode != "sum" && mode != "mean" && mode != "max") fail("mode must be 'sum', 'mean' or 'max', is '" + mode + "'");
    if (weighted && mode != "sum") fail("per-sample weights (attribute 'weighted') need mode 'sum', is '" + mode + "'");
    const size_t optional = (weighted ? 1 : 0) + (padded ? 1 : 0);
    if (node_.inputs.size() < first + 3 + optional)
      fail("needs indices, offsets, at least one table" + std::string(weighted ? ", per-sample weights" : "") +
           (padded ? ", padding rows" : ""));
    expect_rank(first, 1);
    expect_rank(first + 1, 1);
    expect_dtype(first, {CAGR_DTYPE_I32, CAGR_DTYPE_I64});
    expect_dtype(first + 1, {CAGR_DTYPE_I32, CAGR_DTYPE_I64});
    const size_t end_tables = node_.inputs.size() - optional;
    const int64_t tables = static_cast<int64_t>(end_tables - first) - 2;
    int64_t dim = -1;
    for (size_t t = first + 2; t < end_tables; ++t) {
      expect_rank(t, 2);
      expect_dtype(t, table_dtypes);
      // A u8 row-wise quantised row holds D codes, then its f32 scale and bias (OPS.md).
      const int64_t stored = in(t).dims[1];
      const bool quantised = in(t).dtype == CAGR_DTYPE_U8 && stored >= 0;  // a known number of columns
      if (quantised && stored < 8) fail("a u8 table is [R, D + 8] (D codes, f32 scale, f32 bias), has " + std::to_string(stored) + " columns");
      dim = unify(dim, quantised ? stored - 8 : stored, "tables differ in embedding dimension");
    }
    if (weighted) {
      expect_rank(end_tables, 1);
      expect_dtype(end_tables, {CAGR_DTYPE_F32});
      unify(in(end_tables).dims[0], in(first).dims[0], "per-sample weights and indices differ in length");
    }
    if (padded) {
      const size_t padding = node_.inputs.size() - 1;
      expect_rank(padding, 1);
      expect_dtype(padding, {CAGR_DTYPE_I32, CAGR_DTYPE_I64});
      unify(in(padding).dims[0], tables, "padding rows and tables differ in number");
    }
    const int64_t offsets = in(first + 1).dims[0];
    int64_t batch = -1;
    if (offsets >= 0) {
      if (offsets < 1 || (offsets - 1) % tables != 0)
        fail("offsets has " + std::to_string(offsets) + " entries; expected tables*batch+1 with " +
             std::to_string(tables) + " tables");
      batch = (offsets - 1) / tables;
    }
    return {batch, tables, dim};
  }

  void linear() {
    expect_inputs(2, 3);
    expect_outputs(1);
    expect_rank(0, 2);
    expect_rank(1, 2);
    expect_dtype(0, {CAGR_DTYPE_F32});
    expect_dtype(1, {CAGR_DTYPE_F32});
    unify(in(0).dims[1], in(1).dims[1], "X's columns and W's columns (K) differ");
    if (node_.inputs.size() == 3) {
      expect_rank(2, 1);
      unify(in(2).dims[0], in(1).dims[0], "bias length and W's rows (N) differ");
    }
    expect_activation(node_.attr_string("activation", "none"), "activation");
    set_out(0, CAGR_DTYPE_F32, {in(0).dims[0], in(1).dims[0]});
  }

  void expect_activation(const std::string& act, const std::string& what) const {
    if (act != "none" && act != "relu" && act != "sigmoid") fail(what + " must be none, relu or sigmoid, is '" + act + "'");
  }

  // X [M, K_0], then W_l [N_l, K_l] and bias [N_l] per layer, K_l = N_{l-1}, and one activation
  // per layer: linear's rules layer by layer.
  void mlp() {
    if (node_.inputs.size() < 3 || node_.inputs.size() % 2 == 0)
      fail("takes X, then W and bias of each layer (an odd number >= 3 of inputs), has " + std::to_string(node_.inputs.size()));
    expect_outputs(1);
    expect_rank(0, 2);
    expect_dtype(0, {CAGR_DTYPE_F32, CAGR_DTYPE_BF16});
    const size_t layers = (node_.inputs.size() - 1) / 2;
    const std::vector<std::string> acts = contract::activation_names(node_.attr_string("activations", ""));
    if (acts.size() != layers)
      fail("attribute 'activations' names " + std::to_string(acts.size()) + " activations for " + std::to_string(layers) + " layers");
    for (const std::string& act : acts) expect_activation(act, "attribute 'activations': each entry");
    int64_t k = in(0).dims[1];
    for (size_t w = 1; w < node_.inputs.size(); w += 2) {
      expect_rank(w, 2);
      expect_rank(w + 1, 1);
      expect_dtype(w, {CAGR_DTYPE_F32});
      expect_dtype(w + 1, {CAGR_DTYPE_F32});
      unify(k, in(w).dims[1], "input '" + in_name(w) + "': its columns (K) and the previous layer's width differ");
      k = unify(in(w).dims[0], in(w + 1).dims[0], "input '" + in_name(w + 1) + "': bias length and W's rows (N) differ");
    }
    set_out(0, CAGR_DTYPE_F32, {in(0).dims[0], k});
  }

  // x0 [M, N], X [M, K], W [N, K], bias [N], optionally R [M, N] (else X is R: K = N) -> [M, N].
  void cross_layer() {
    expect_inputs(4, 5);
    expect_outputs(1);
    for (size_t i = 0; i < node_.inputs.size(); ++i) {
      expect_dtype(i, {CAGR_DTYPE_F32});
      expect_rank(i, i == 3 ? 1 : 2);
    }
    const int64_t k = unify(in(1).dims[1], in(2).dims[1], "X's columns and W's columns (K) differ");
    const int64_t n = unify(in(2).dims[0], in(3).dims[0], "bias length and W's rows (N) differ");
    const size_t residual = node_.inputs.size() == 5 ? 4 : 1;
    int64_t m = unify(in(0).dims[0], in(1).dims[0], "x0's rows and X's rows (M) differ");
    m = unify(m, in(residual).dims[0], "the residual's rows and X's rows (M) differ");
    unify(n, in(0).dims[1], "x0's columns and W's rows (N) differ");
    unify(n, in(residual).dims[1], residual == 1 ? "without a fifth input X is the residual: K and N differ"
                                                 : "the residual's columns and W's rows (N) differ");
    unify(k, in(1).dims[1], "X's columns (K) differ");
    set_out(0, CAGR_DTYPE_F32, {m, n});
  }

  void unary() {
    expect_inputs(1, 1);
    expect_outputs(1);
    expect_dtype(0, {CAGR_DTYPE_F32});
    set_out(0, CAGR_DTYPE_F32, in(0).dims);
  }

  void binary() {
    expect_inputs(2, 2);
    expect_outputs(1);
    expect_dtype(0, {CAGR_DTYPE_F32});
    expect_dtype(1, {CAGR_DTYPE_F32});
    const Dims& a = in(0).dims;
    const Dims& b = in(1).dims;
    if (b.size() > a.size()) fail("second input has a higher rank than the first");
    const size_t lead = a.size() - b.size();
    Dims out = a;
    for (size_t i = 0; i < b.size(); ++i) out[lead + i] = unify(a[lead + i], b[i], "shapes do not broadcast at dim " + std::to_string(lead + i));
    set_out(0, CAGR_DTYPE_F32, out);
  }

  void concat() {
    if (node_.inputs.empty()) fail("needs at least one input");
    expect_outputs(1);
    const size_t rank = in(0).dims.size();
    const int axis = normalize_axis(node_.attr_int("axis", 1), rank);
    Dims out = in(0).dims;
    for (size_t i = 0; i < node_.inputs.size(); ++i) {
      expect_rank(i, rank);
      expect_dtype(i, {in(0).dtype});
      if (i == 0) continue;
      for (size_t d = 0; d < rank; ++d) {
        if (static_cast<int>(d) == axis) {
          out[d] = (out[d] < 0 || in(i).dims[d] < 0) ? -1 : out[d] + in(i).dims[d];
        } else {
          out[d] = unify(out[d], in(i).dims[d], "inputs differ in dim " + std::to_string(d));
        }
      }
    }
    set_out(0, in(0).dtype, out);
  }

  void reshape() {
    expect_inputs(1, 1);
    expect_outputs(1);
    const Dims& src = in(0).dims;
    const std::vector<int64_t> spec = node_.attr_ints("shape", {});
    if (spec.empty()) fail("attribute 'shape' is required");
    Dims out(spec.size());
    int infer_at = -1;
    for (size_t i = 0; i < spec.size(); ++i) {
      if (spec[i] == -1) {
        if (infer_at >= 0) fail("shape has more than one -1");
        infer_at = static_cast<int>(i);
      } else if (spec[i] == 0) {
        if (i >= src.size()) fail("shape has 0 at position " + std::to_string(i) + " beyond the input's rank");
        out[i] = src[i];
      } else if (spec[i] > 0) {
        out[i] = spec[i];
      } else {
        fail("shape entries must be -1, 0 or positive");
      }
    }
    const int64_t total = element_count(src);
    if (infer_at >= 0) {
      int64_t known = 1;
      bool unknown = total < 0;
      for (size_t i = 0; i < out.size(); ++i)
        if (static_cast<int>(i) != infer_at) {
          if (out[i] < 0) unknown = true;
          else known *= out[i];
        }
      if (unknown) {
        out[static_cast<size_t>(infer_at)] = -1;
      } else {
        if (known == 0 || total % known != 0) fail("cannot reshape [" + dims_to_string(src) + "] to the requested shape");
        out[static_cast<size_t>(infer_at)] = total / known;
      }
    } else if (total >= 0 && element_count(out) >= 0 && total != element_count(out)) {
      fail("cannot reshape [" + dims_to_string(src) + "] into [" + dims_to_string(out) + "]");
    }
    set_out(0, in(0).dtype, out);
  }

  void dot_interaction() {
    expect_inputs(1, 1);
    expect_outputs(1);
    expect_rank(0, 3);
    expect_dtype(0, {CAGR_DTYPE_F32});
    set_out(0, CAGR_DTYPE_F32, {in(0).dims[0], pairs(in(0).dims[1])});
  }

  // dense [B, D] and pooled [B, T, D].
  void dlrm_interaction() {
    expect_inputs(2, 2);
    expect_outputs(1);
    expect_rank(0, 2);
    expect_rank(1, 3);
    expect_dtype(0, {CAGR_DTYPE_F32});
    expect_dtype(1, {CAGR_DTYPE_F32});
    const int64_t d = in(0).dims[1];
    if (d >= 0 && in(1).dims[2] >= 0 && in(1).dims[2] != d)
      fail("pooled (input 1) has D = " + std::to_string(in(1).dims[2]) + ", dense (input 0) D = " + std::to_string(d));
    set_out(0, CAGR_DTYPE_F32, interaction_dims(in(0).dims[0], in(1).dims[1], d));
  }

  // dense [B, D] (input 0) and embedding_bag's inputs from input 1 on, whose tables are f32 only:
  // dlrm_interaction of the dense vector and the pooled embeddings, which are never a tensor here.
  void dlrm_embedding_interaction() {
    if (node_.inputs.size() < 4) fail("needs dense, indices, offsets and at least one table");
    expect_outputs(1);
    expect_rank(0, 2);
    expect_dtype(0, {CAGR_DTYPE_F32});
    const Dims pooled = pooled_dims(1, {CAGR_DTYPE_F32}, false);
    const int64_t b = unify(in(0).dims[0], pooled[0], "dense (input 0) rows and the bags per table (B) differ");
    const int64_t d = unify(in(0).dims[1], pooled[2], "dense (input 0) D and the tables' D differ");
    const std::string out_dtype = node_.attr_string("output_dtype", "f32");
    if (out_dtype != "f32" && out_dtype != "bf16") fail("attribute 'output_dtype' must be f32 or bf16, got '" + out_dtype + "'");
    set_out(0, abi::dtype_from_name(out_dtype), interaction_dims(b, pooled[1], d));
  }

  // dlrm_interaction's output for `batch` dense vectors of `dim` and `tables` pooled embeddings each
  // (-1: unknown): [B, D + pairs of T + 1 features, rounded up to pad_to].
  Dims interaction_dims(int64_t batch, int64_t tables, int64_t dim) const {
    const int64_t p = tables < 0 ? -1 : pairs(tables + 1);
    const int64_t pad = node_.attr_int("pad_to", 1);
    if (pad < 1 || pad > 64) fail("attribute 'pad_to' must be 1..64, got " + std::to_string(pad));
    return {batch, dim < 0 || p < 0 ? kDynamic : (dim + p + pad - 1) / pad * pad};
  }

  // dot products among f features (-1: unknown), by the node's self_interaction.
  int64_t pairs(int64_t f) const {
    const bool self = node_.attr_int("self_interaction", 0) != 0;
    return f < 0 ? -1 : (self ? f * (f + 1) / 2 : f * (f - 1) / 2);
  }

  void fm_interaction() {
    expect_inputs(1, 1);
    expect_outputs(1);
    expect_rank(0, 3);
    expect_dtype(0, {CAGR_DTYPE_F32});
    set_out(0, CAGR_DTYPE_F32, {in(0).dims[0], 1});
  }

  void reduce_sum() {
    expect_inputs(1, 1);
    expect_outputs(1);
    expect_dtype(0, {CAGR_DTYPE_F32});
    const Dims& src = in(0).dims;
    const std::vector<int64_t> axes = node_.attr_ints("axes", {});
    if (axes.empty()) fail("attribute 'axes' is required");
    std::vector<bool> reduced(src.size(), false);
    for (int64_t a : axes) {
      const int axis = normalize_axis(a, src.size());
      if (reduced[static_cast<size_t>(axis)]) fail("axis " + std::to_string(a) + " given twice");
      reduced[static_cast<size_t>(axis)] = true;
    }
    const bool keep = node_.attr_int("keepdims", 1) != 0;
    Dims out;
    for (size_t i = 0; i < src.size(); ++i) {
      if (!reduced[i]) out.push_back(src[i]);
      else if (keep) out.push_back(1);
    }
    set_out(0, CAGR_DTYPE_F32, out);
  }

  void top_k() {
    expect_inputs(1, 1);
    expect_outputs(2);
    expect_rank(0, 2);
    expect_dtype(0, {CAGR_DTYPE_F32});
    const int64_t k = node_.attr_int("k", 0);
    if (k < 1) fail("attribute 'k' must be at least 1");
    if (in(0).dims[1] >= 0 && k > in(0).dims[1])
      fail("k = " + std::to_string(k) + " exceeds the row length " + std::to_string(in(0).dims[1]));
    set_out(0, CAGR_DTYPE_F32, {in(0).dims[0], k});
    set_out(1, CAGR_DTYPE_I64, {in(0).dims[0], k});
  }

  void gather() {
    expect_inputs(2, 2);
    expect_outputs(1);
    expect_dtype(0, {CAGR_DTYPE_F32});
    expect_dtype(1, {CAGR_DTYPE_I32, CAGR_DTYPE_I64});
    if (in(0).dims.empty()) fail("data must have rank >= 1");
    Dims out = in(1).dims;
    out.insert(out.end(), in(0).dims.begin() + 1, in(0).dims.end());
    set_out(0, CAGR_DTYPE_F32, out);
  }

  // The general tensor ops: the contract's own rule, on dims that may be unknown.
  void tensor_op() {
    std::vector<contract::TensorType> inputs;
    for (size_t i = 0; i < node_.inputs.size(); ++i) inputs.push_back(contract::TensorType{in(i).dtype, in(i).dims});
    std::vector<contract::TensorType> outs;
    try {
      outs = contract::describe_tensor_op(node_.op, inputs, AttrMap(node_.attrs, "node '" + node_.name + "'")).outputs;
    } catch (const std::exception& e) {
      fail(e.what());
    }
    if (node_.outputs.empty() || node_.outputs.size() > outs.size())
      fail("has " + std::to_string(node_.outputs.size()) + " outputs, the op has " + std::to_string(outs.size()) + " at most");
    for (size_t o = 0; o < node_.outputs.size(); ++o) set_out(o, outs[o].dtype, outs[o].dims);
  }

  const Graph& graph_;
  const Node& node_;
  std::vector<TensorShape>& shapes_;
};

}  // namespace

std::vector<TensorShape> infer_shapes(const Graph& graph, const std::vector<Dims>& input_dims) {
  if (input_dims.size() != graph.inputs().size())
    throw std::invalid_argument("graph has " + std::to_string(graph.inputs().size()) + " inputs, given " +
                                std::to_string(input_dims.size()) + " shapes");
  std::vector<TensorShape> shapes(graph.num_tensors());
  for (size_t t = 0; t < graph.num_tensors(); ++t) {
    const TensorInfo& info = graph.tensor(static_cast<int>(t));
    if (info.is_constant()) shapes[t] = TensorShape{info.dtype, info.dims};
  }
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    const TensorInfo& info = graph.tensor(graph.inputs()[i]);
    const Dims& given = input_dims[i];
    if (given.size() != info.dims.size())
      throw std::invalid_argument("input '" + info.name + "': rank " + std::to_string(given.size()) + " given, model declares [" +
                                  dims_to_string(info.dims) + "]");
    for (size_t d = 0; d < given.size(); ++d)
      if (info.dims[d] >= 0 && given[d] >= 0 && info.dims[d] != given[d])
        throw std::invalid_argument("input '" + info.name + "': shape [" + dims_to_string(given) + "] given, model declares [" +
                                    dims_to_string(info.dims) + "]");
    shapes[static_cast<size_t>(graph.inputs()[i])] = TensorShape{info.dtype, given};
  }
  for (int n : graph.topological_order()) {
    NodeShapes(graph, graph.nodes()[static_cast<size_t>(n)], shapes).infer();
  }
  return shapes;
}

void infer_and_annotate(Graph& graph) {
  std::vector<Dims> declared;
  for (int id : graph.inputs()) declared.push_back(graph.tensor(id).dims);
  const std::vector<TensorShape> shapes = infer_shapes(graph, declared);
  for (size_t t = 0; t < shapes.size(); ++t) {
    TensorInfo& info = graph.tensor(static_cast<int>(t));
    info.dtype = shapes[t].dtype;
    info.dims = shapes[t].dims;
  }
}

}  // namespace cagr

// op_contract.cpp - the shape, dtype and attribute rules of abi/OPS.md.
#include "op_contract.hpp"

#include <algorithm>

namespace cagr::contract {

using plugin::invalid;
using plugin::OpView;
using plugin::Shape;

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

const std::vector<std::string>& op_types() {
  static const std::vector<std::string> types = {"embedding_bag", "linear", "mlp", "cross_layer", "relu", "sigmoid", "add", "mul",
                                                 "concat", "reshape", "dot_interaction", "dlrm_interaction",
                                                 "dlrm_embedding_interaction", "fm_interaction", "reduce_sum", "top_k", "gather"};
  static const std::vector<std::string> all = [] {
    std::vector<std::string> t = types;
    t.insert(t.end(), tensor_op_types().begin(), tensor_op_types().end());
    return t;
  }();
  return all;
}

namespace {

// Helpers that name the op and the tensor in every message.
class Checker {
 public:
  explicit Checker(const OpView& op) : op_(op), name_(op.type()) {}
  const OpView& op() const { return op_; }

  [[noreturn]] void fail(const std::string& what) const { invalid(name_ + ": " + what); }

  void arity(size_t min_in, size_t max_in, size_t outs) const {
    if (op_.num_inputs() < min_in || op_.num_inputs() > max_in) {
      fail("takes " + (min_in == max_in ? std::to_string(min_in) : std::to_string(min_in) + ".." + std::to_string(max_in)) +
           " inputs, got " + std::to_string(op_.num_inputs()));
    }
    if (op_.num_outputs() != outs)
      fail("has " + std::to_string(outs) + " output(s), got " + std::to_string(op_.num_outputs()));
  }

  static std::string label(const char* kind, size_t i) { return std::string(kind) + " " + std::to_string(i); }

  const Shape& in(size_t i) const { return checked(op_.input(i), label("input", i)); }
  const Shape& out(size_t i) const { return checked(op_.output(i), label("output", i)); }

  void dtype(const Shape& s, const std::string& what, cagr_dtype want) const {
    if (s.dtype != want) fail(what + " must be " + plugin::dtype_name(want) + ", got " + plugin::dtype_name(s.dtype));
  }
  void index_dtype(const Shape& s, const std::string& what) const {
    if (s.dtype != CAGR_DTYPE_I32 && s.dtype != CAGR_DTYPE_I64)
      fail(what + " must be i32 or i64, got " + plugin::dtype_name(s.dtype));
  }
  void rank(const Shape& s, const std::string& what, int want) const {
    if (s.rank() != want)
      fail(what + " must have rank " + std::to_string(want) + ", got shape " + dims_string(s.dims));
  }
  void dims(const Shape& s, const std::string& what, const std::vector<int64_t>& want) const {
    if (s.dims != want) fail(what + " must have shape " + dims_string(want) + ", got " + dims_string(s.dims));
  }

  Activation activation(const char* attr, const std::string& fallback) const {
    return activation_named(op_.attr_string(attr, fallback), "attribute '" + std::string(attr) + "'");
  }
  // `name` as an activation; `what` says where it was given.
  Activation activation_named(const std::string& name, const std::string& what) const {
    if (name == "none") return Activation::none;
    if (name == "relu") return Activation::relu;
    if (name == "sigmoid") return Activation::sigmoid;
    fail(what + " must be none, relu or sigmoid, got '" + name + "'");
  }

  // A boolean int attribute (0 or 1).
  bool flag(const char* attr, int64_t fallback) const {
    const int64_t v = op_.attr_int(attr, fallback);
    if (v != 0 && v != 1) fail("attribute '" + std::string(attr) + "' must be 0 or 1, got " + std::to_string(v));
    return v == 1;
  }

  // An axis attribute value, negative counting from the end, into 0..rank-1.
  int64_t axis(int64_t a, int rank, const char* attr) const {
    const int64_t resolved = a < 0 ? a + rank : a;
    if (resolved < 0 || resolved >= rank)
      fail("attribute '" + std::string(attr) + "' = " + std::to_string(a) + " is out of range for rank " +
           std::to_string(rank));
    return resolved;
  }

 private:
  const Shape& checked(const Shape& s, const std::string& what) const {
    if (plugin::dtype_size(s.dtype) == 0) fail(what + " has an invalid dtype");
    for (int64_t d : s.dims)
      if (d < 0) fail(what + " has a negative dimension: " + dims_string(s.dims));
    return s;
  }

  const OpView& op_;
  std::string name_;
};

// embedding_bag's inputs (indices, offsets, tables, then per-sample weights and padding rows where
// its attributes say so) from input `first` on, and its attributes.
EmbeddingBag check_lookup(const Checker& c, size_t first) {
  const OpView& op = c.op();
  auto label = [first](const char* name, size_t i) { return std::string(name) + " (input " + std::to_string(first + i) + ")"; };
  EmbeddingBag e;
  const std::string mode = op.attr_string("mode", "sum");
  if (mode == "sum") e.pooling = Pooling::sum;
  else if (mode == "mean") e.pooling = Pooling::mean;
  else if (mode == "max") e.pooling = Pooling::max;
  else c.fail("attribute 'mode' must be sum, mean or max, got '" + mode + "'");
  e.weighted = c.flag("weighted", 0);
  e.padded = c.flag("padded", 0);
  if (e.weighted && e.pooling != Pooling::sum) c.fail("per-sample weights (attribute 'weighted') need mode sum, got '" + mode + "'");
  const size_t optional = (e.weighted ? 1 : 0) + (e.padded ? 1 : 0);
  if (op.num_inputs() < first + 3 + optional)
    c.fail("needs indices, offsets, at least one table" + std::string(e.weighted ? ", per-sample weights" : "") +
           (e.padded ? ", padding rows" : "") + ", got " + std::to_string(op.num_inputs() - first) + " lookup inputs");
  const Shape& indices = c.in(first);
  const Shape& offsets = c.in(first + 1);
  c.index_dtype(indices, label("indices", 0));
  c.index_dtype(offsets, label("offsets", 1));
  c.rank(indices, label("indices", 0), 1);
  c.rank(offsets, label("offsets", 1), 1);
  e.index_dtype = indices.dtype;
  e.offset_dtype = offsets.dtype;
  e.num_indices = indices.dims[0];
  e.tables = static_cast<int64_t>(op.num_inputs() - first - optional) - 2;
  e.table_dtype = c.in(first + 2).dtype;
  const bool quantised = e.table_dtype == CAGR_DTYPE_U8;
  if (e.table_dtype != CAGR_DTYPE_F32 && e.table_dtype != CAGR_DTYPE_F16 && e.table_dtype != CAGR_DTYPE_BF16 && !quantised)
    c.fail("table 0 (input " + std::to_string(first + 2) + ") must be f32, f16, bf16 or u8 (row-wise quantised), got " +
           plugin::dtype_name(e.table_dtype));
  for (size_t t = 0; t < static_cast<size_t>(e.tables); ++t) {
    const Shape& table = c.in(first + 2 + t);
    const std::string what = "table " + std::to_string(t) + " (input " + std::to_string(first + 2 + t) + ")";
    c.dtype(table, what + ", as table 0,", e.table_dtype);
    c.rank(table, what, 2);
    // A u8 row: D codes, then its f32 scale and bias.
    const int64_t dim = quantised ? table.dims[1] - 8 : table.dims[1];
    if (quantised && dim < 0) c.fail(what + " is u8 [R, D + 8] (D codes, f32 scale, f32 bias), got " + dims_string(table.dims));
    if (t == 0) e.dim = dim;
    if (dim != e.dim) c.fail(what + " has dim " + std::to_string(dim) + ", table 0 has " + std::to_string(e.dim));
    e.rows.push_back(table.dims[0]);
  }
  if (offsets.dims[0] < 1 || (offsets.dims[0] - 1) % e.tables != 0)
    c.fail(label("offsets", 1) + " must have T*B+1 entries with T = " + std::to_string(e.tables) + ", got " +
           std::to_string(offsets.dims[0]));
  e.batch = (offsets.dims[0] - 1) / e.tables;
  if (e.weighted) {
    const std::string what = label("per-sample weights", e.weights_input());
    const Shape& weights = c.in(first + e.weights_input());
    c.dtype(weights, what, CAGR_DTYPE_F32);
    c.dims(weights, what + ", one per index,", {e.num_indices});
  }
  if (e.padded) {
    const std::string what = label("padding rows", e.padding_input());
    const Shape& padding = c.in(first + e.padding_input());
    c.index_dtype(padding, what);
    c.dims(padding, what + ", one per table,", {e.tables});
    e.padding_dtype = padding.dtype;
  }
  return e;
}

EmbeddingBag check_embedding_bag(const Checker& c) {
  const OpView& op = c.op();
  if (op.num_inputs() < 3) c.fail("needs indices, offsets and at least one table, got " + std::to_string(op.num_inputs()) + " inputs");
  c.arity(op.num_inputs(), op.num_inputs(), 1);
  const EmbeddingBag e = check_lookup(c, 0);
  const Shape& pooled = c.out(0);
  c.dtype(pooled, "pooled (output 0)", CAGR_DTYPE_F32);
  c.dims(pooled, "pooled (output 0)", {e.batch, e.tables, e.dim});
  return e;
}

Linear check_linear(const Checker& c) {
  const OpView& op = c.op();
  c.arity(2, 3, 1);
  Linear l;
  const Shape& x = c.in(0);
  const Shape& w = c.in(1);
  c.dtype(x, "X (input 0)", CAGR_DTYPE_F32);
  c.dtype(w, "W (input 1)", CAGR_DTYPE_F32);
  c.rank(x, "X (input 0)", 2);
  c.rank(w, "W (input 1)", 2);
  l.m = x.dims[0];
  l.k = x.dims[1];
  l.n = w.dims[0];
  if (w.dims[1] != l.k)
    c.fail("W (input 1) " + dims_string(w.dims) + " does not match X (input 0) " + dims_string(x.dims) +
           ": W must be [N, K]");
  l.has_bias = op.num_inputs() == 3;
  if (l.has_bias) {
    const Shape& bias = c.in(2);
    c.dtype(bias, "bias (input 2)", CAGR_DTYPE_F32);
    c.dims(bias, "bias (input 2)", {l.n});
  }
  const Shape& y = c.out(0);
  c.dtype(y, "Y (output 0)", CAGR_DTYPE_F32);
  c.dims(y, "Y (output 0)", {l.m, l.n});
  l.activation = c.activation("activation", "none");
  return l;
}

Mlp check_mlp(const Checker& c) {
  const OpView& op = c.op();
  if (op.num_inputs() < 3 || op.num_inputs() % 2 == 0)
    c.fail("takes X, then W and bias of each layer (an odd number >= 3 of inputs), got " + std::to_string(op.num_inputs()));
  c.arity(op.num_inputs(), op.num_inputs(), 1);
  const size_t layers = (op.num_inputs() - 1) / 2;
  if (!op.has_attr("activations")) c.fail("attribute 'activations' is required");
  const std::string names = op.attr_string("activations", "");
  const std::vector<std::string> acts = activation_names(names);
  if (acts.size() != layers)
    c.fail("attribute 'activations' = '" + names + "' names " + std::to_string(acts.size()) + " activations for " +
           std::to_string(layers) + " layers");
  const Shape& x = c.in(0);
  if (x.dtype != CAGR_DTYPE_F32 && x.dtype != CAGR_DTYPE_BF16)
    c.fail(std::string("X (input 0) must be f32 or bf16, got ") + plugin::dtype_name(x.dtype));
  c.rank(x, "X (input 0)", 2);
  Mlp p;
  p.x_dtype = x.dtype;
  p.m = x.dims[0];
  int64_t k = x.dims[1];
  for (size_t l = 0; l < layers; ++l) {
    const std::string w_what = "W_" + std::to_string(l) + " (input " + std::to_string(1 + 2 * l) + ")";
    const std::string b_what = "b_" + std::to_string(l) + " (input " + std::to_string(2 + 2 * l) + ")";
    const Shape& w = c.in(1 + 2 * l);
    c.dtype(w, w_what, CAGR_DTYPE_F32);
    c.rank(w, w_what, 2);
    if (w.dims[1] != k)
      c.fail(w_what + " " + dims_string(w.dims) + " must have K = " + std::to_string(k) + " columns, the " +
             (l == 0 ? "columns of X (input 0)" : "rows of W_" + std::to_string(l - 1)));
    const Shape& b = c.in(2 + 2 * l);
    c.dtype(b, b_what, CAGR_DTYPE_F32);
    c.dims(b, b_what, {w.dims[0]});
    p.k.push_back(k);
    p.n.push_back(w.dims[0]);
    p.activations.push_back(c.activation_named(acts[l], "activation " + std::to_string(l) + " of attribute 'activations'"));
    k = w.dims[0];
  }
  const Shape& y = c.out(0);
  c.dtype(y, "Y (output 0)", CAGR_DTYPE_F32);
  c.dims(y, "Y (output 0)", {p.m, k});
  return p;
}

CrossLayer check_cross_layer(const Checker& c) {
  const OpView& op = c.op();
  c.arity(4, 5, 1);
  CrossLayer x;
  const Shape& x0 = c.in(0);
  const Shape& in = c.in(1);
  const Shape& w = c.in(2);
  const Shape& bias = c.in(3);
  c.dtype(x0, "x0 (input 0)", CAGR_DTYPE_F32);
  c.dtype(in, "X (input 1)", CAGR_DTYPE_F32);
  c.dtype(w, "W (input 2)", CAGR_DTYPE_F32);
  c.dtype(bias, "bias (input 3)", CAGR_DTYPE_F32);
  c.rank(in, "X (input 1)", 2);
  c.rank(w, "W (input 2)", 2);
  x.linear = Linear{in.dims[0], in.dims[1], w.dims[0], true, Activation::none};
  if (w.dims[1] != x.linear.k)
    c.fail("W (input 2) " + dims_string(w.dims) + " does not match X (input 1) " + dims_string(in.dims) +
           ": W must be [N, K]");
  c.dims(bias, "bias (input 3)", {x.linear.n});
  const std::vector<int64_t> rows{x.linear.m, x.linear.n};
  c.dims(x0, "x0 (input 0)", rows);
  x.residual_input = op.num_inputs() == 5;
  if (x.residual_input) {
    c.dtype(c.in(4), "R (input 4)", CAGR_DTYPE_F32);
    c.dims(c.in(4), "R (input 4)", rows);
  } else if (x.linear.k != x.linear.n) {
    c.fail("without R (input 4) X (input 1) is the residual and must be [M, N] = " + dims_string(rows) + ", got " +
           dims_string(in.dims));
  }
  const Shape& y = c.out(0);
  c.dtype(y, "Y (output 0)", CAGR_DTYPE_F32);
  c.dims(y, "Y (output 0)", rows);
  return x;
}

Unary check_unary(const Checker& c, Activation activation) {
  c.arity(1, 1, 1);
  const Shape& x = c.in(0);
  c.dtype(x, "input 0", CAGR_DTYPE_F32);
  const Shape& y = c.out(0);
  c.dtype(y, "output 0", CAGR_DTYPE_F32);
  c.dims(y, "output 0", x.dims);
  return Unary{activation, x.numel()};
}

Binary check_binary(const Checker& c, bool multiply) {
  c.arity(2, 2, 1);
  const Shape& a = c.in(0);
  const Shape& b = c.in(1);
  c.dtype(a, "A (input 0)", CAGR_DTYPE_F32);
  c.dtype(b, "B (input 1)", CAGR_DTYPE_F32);
  const bool suffix = b.rank() <= a.rank() && std::equal(b.dims.begin(), b.dims.end(), a.dims.end() - b.rank());
  if (!suffix)
    c.fail("B (input 1) " + dims_string(b.dims) + " must equal A (input 0) " + dims_string(a.dims) + " or a suffix of it");
  const Shape& y = c.out(0);
  c.dtype(y, "output 0", CAGR_DTYPE_F32);
  c.dims(y, "output 0", a.dims);
  if (b.numel() == 0 && a.numel() != 0) c.fail("B (input 1) is empty but A (input 0) is not");
  return Binary{multiply, a.numel(), b.numel()};
}

Concat check_concat(const Checker& c) {
  const OpView& op = c.op();
  if (op.num_inputs() < 1) c.fail("needs at least one input");
  c.arity(op.num_inputs(), op.num_inputs(), 1);
  const Shape& first = c.in(0);
  const int rank = first.rank();
  if (rank < 1) c.fail("inputs must have rank >= 1");
  const int64_t axis = c.axis(op.attr_int("axis", 1), rank, "axis");
  std::vector<int64_t> want = first.dims;
  want[axis] = 0;
  Concat k;
  int64_t inner = 1;
  for (int d = static_cast<int>(axis) + 1; d < rank; ++d) inner *= first.dims[d];
  k.outer = 1;
  for (int d = 0; d < axis; ++d) k.outer *= first.dims[d];
  for (size_t i = 0; i < op.num_inputs(); ++i) {
    const Shape& x = c.in(i);
    const std::string what = "input " + std::to_string(i);
    c.dtype(x, what, CAGR_DTYPE_F32);
    c.rank(x, what, rank);
    for (int d = 0; d < rank; ++d) {
      if (d != axis && x.dims[d] != first.dims[d])
        c.fail(what + " " + dims_string(x.dims) + " differs from input 0 " + dims_string(first.dims) + " outside axis " +
               std::to_string(axis));
    }
    want[axis] += x.dims[axis];
    k.chunk.push_back(x.dims[axis] * inner);
  }
  const Shape& y = c.out(0);
  c.dtype(y, "output 0", CAGR_DTYPE_F32);
  c.dims(y, "output 0", want);
  return k;
}

Reshape check_reshape(const Checker& c) {
  const OpView& op = c.op();
  c.arity(1, 1, 1);
  const Shape& x = c.in(0);
  const Shape& y = c.out(0);
  if (!op.has_attr("shape")) c.fail("attribute 'shape' is required");
  std::vector<int64_t> target;
  try {
    target = reshape_target(x.dims, op.attr_ints("shape", {}));
  } catch (const plugin::Error& e) {
    c.fail(e.what());
  }
  c.dtype(y, "output 0", x.dtype);
  c.dims(y, "output 0", target);
  return Reshape{x.bytes()};
}

// self_interaction and the number of pairs it gives.
void set_pairs(const Checker& c, DotInteraction& d) {
  d.self = c.flag("self_interaction", 0);
  d.pairs = d.self ? d.features * (d.features + 1) / 2 : d.features * (d.features - 1) / 2;
}

DotInteraction check_dot_interaction(const Checker& c) {
  c.arity(1, 1, 1);
  const Shape& x = c.in(0);
  c.dtype(x, "features (input 0)", CAGR_DTYPE_F32);
  c.rank(x, "features (input 0)", 3);
  DotInteraction d;
  d.batch = x.dims[0];
  d.features = x.dims[1];
  d.dim = x.dims[2];
  set_pairs(c, d);
  const Shape& y = c.out(0);
  c.dtype(y, "dots (output 0)", CAGR_DTYPE_F32);
  c.dims(y, "dots (output 0)", {d.batch, d.pairs});
  return d;
}

// dlrm_interaction of a dense [batch, dim] and `tables` pooled rows of dim: pairs, pad_to, output.
DotInteraction check_dense_interaction(const Checker& c, int64_t batch, int64_t tables, int64_t dim,
                                       cagr_dtype out_dtype) {
  DotInteraction d;
  d.dense_input = true;
  d.batch = batch;
  d.dim = dim;
  d.features = tables + 1;
  set_pairs(c, d);
  d.pad_to = c.op().attr_int("pad_to", 1);
  if (d.pad_to < 1 || d.pad_to > 64) c.fail("attribute 'pad_to' must be 1..64, got " + std::to_string(d.pad_to));
  const Shape& y = c.out(0);
  c.dtype(y, "output 0", out_dtype);
  c.dims(y, "output 0", {d.batch, d.out_cols()});
  return d;
}

DotInteraction check_dlrm_interaction(const Checker& c) {
  c.arity(2, 2, 1);
  const Shape& dense = c.in(0);
  const Shape& pooled = c.in(1);
  c.dtype(dense, "dense (input 0)", CAGR_DTYPE_F32);
  c.rank(dense, "dense (input 0)", 2);
  c.dtype(pooled, "pooled (input 1)", CAGR_DTYPE_F32);
  c.rank(pooled, "pooled (input 1)", 3);
  c.dims(pooled, "pooled (input 1)", {dense.dims[0], pooled.dims[1], dense.dims[1]});
  return check_dense_interaction(c, dense.dims[0], pooled.dims[1], dense.dims[1], CAGR_DTYPE_F32);
}

DlrmEmbeddingInteraction check_dlrm_embedding_interaction(const Checker& c) {
  const OpView& op = c.op();
  if (op.num_inputs() < 4)
    c.fail("needs dense, indices, offsets and at least one table, got " + std::to_string(op.num_inputs()) + " inputs");
  c.arity(op.num_inputs(), op.num_inputs(), 1);
  const Shape& dense = c.in(0);
  c.dtype(dense, "dense (input 0)", CAGR_DTYPE_F32);
  c.rank(dense, "dense (input 0)", 2);
  DlrmEmbeddingInteraction f;
  f.lookup = check_lookup(c, 1);
  if (f.lookup.table_dtype != CAGR_DTYPE_F32)
    c.fail("takes f32 tables (the 16-bit and u8 tables are embedding_bag's alone), got " +
           std::string(plugin::dtype_name(f.lookup.table_dtype)));
  if (f.lookup.extended())
    c.fail("pools by mode sum or mean, without per-sample weights or padding rows (embedding_bag's alone), got mode '" +
           op.attr_string("mode", "sum") + "'" + (f.lookup.weighted ? ", weighted" : "") + (f.lookup.padded ? ", padded" : ""));
  c.dims(dense, "dense (input 0)", {f.lookup.batch, f.lookup.dim});
  const std::string out_dtype = op.attr_string("output_dtype", "f32");
  if (out_dtype != "f32" && out_dtype != "bf16") c.fail("attribute 'output_dtype' must be f32 or bf16, got '" + out_dtype + "'");
  f.output_dtype = out_dtype == "bf16" ? CAGR_DTYPE_BF16 : CAGR_DTYPE_F32;
  f.interaction = check_dense_interaction(c, f.lookup.batch, f.lookup.tables, f.lookup.dim, f.output_dtype);
  return f;
}

FmInteraction check_fm_interaction(const Checker& c) {
  c.arity(1, 1, 1);
  const Shape& x = c.in(0);
  c.dtype(x, "features (input 0)", CAGR_DTYPE_F32);
  c.rank(x, "features (input 0)", 3);
  FmInteraction f{x.dims[0], x.dims[1], x.dims[2]};
  const Shape& y = c.out(0);
  c.dtype(y, "fm (output 0)", CAGR_DTYPE_F32);
  c.dims(y, "fm (output 0)", {f.batch, 1});
  return f;
}

ReduceSum check_reduce_sum(const Checker& c) {
  const OpView& op = c.op();
  c.arity(1, 1, 1);
  const Shape& x = c.in(0);
  c.dtype(x, "input 0", CAGR_DTYPE_F32);
  if (!op.has_attr("axes")) c.fail("attribute 'axes' is required");
  ReduceSum r;
  r.dims = x.dims;
  r.reduced.assign(x.dims.size(), false);
  for (int64_t a : op.attr_ints("axes", {})) {
    const int64_t axis = c.axis(a, x.rank(), "axes");
    if (r.reduced[axis]) c.fail("attribute 'axes' names axis " + std::to_string(axis) + " twice");
    r.reduced[axis] = true;
  }
  const bool keepdims = c.flag("keepdims", 1);
  std::vector<int64_t> want;
  for (size_t d = 0; d < r.dims.size(); ++d) {
    if (!r.reduced[d]) want.push_back(r.dims[d]);
    else if (keepdims) want.push_back(1);
  }
  const Shape& y = c.out(0);
  c.dtype(y, "output 0", CAGR_DTYPE_F32);
  c.dims(y, "output 0", want);
  return r;
}

TopK check_top_k(const Checker& c) {
  const OpView& op = c.op();
  c.arity(1, 1, 2);
  const Shape& x = c.in(0);
  c.dtype(x, "scores (input 0)", CAGR_DTYPE_F32);
  c.rank(x, "scores (input 0)", 2);
  if (!op.has_attr("k")) c.fail("attribute 'k' is required");
  TopK t{x.dims[0], x.dims[1], op.attr_int("k", 0)};
  if (t.k < 1 || t.k > t.n) c.fail("attribute 'k' = " + std::to_string(t.k) + " must be in 1.." + std::to_string(t.n));
  const Shape& values = c.out(0);
  const Shape& indices = c.out(1);
  c.dtype(values, "values (output 0)", CAGR_DTYPE_F32);
  c.dims(values, "values (output 0)", {t.batch, t.k});
  c.dtype(indices, "indices (output 1)", CAGR_DTYPE_I64);
  c.dims(indices, "indices (output 1)", {t.batch, t.k});
  return t;
}

Gather check_gather(const Checker& c) {
  c.arity(2, 2, 1);
  const Shape& data = c.in(0);
  const Shape& indices = c.in(1);
  c.dtype(data, "data (input 0)", CAGR_DTYPE_F32);
  if (data.rank() < 1) c.fail("data (input 0) must have rank >= 1");
  c.index_dtype(indices, "indices (input 1)");
  Gather g;
  g.rows = data.dims[0];
  g.row_elems = 1;
  for (int d = 1; d < data.rank(); ++d) g.row_elems *= data.dims[d];
  g.count = indices.numel();
  g.index_dtype = indices.dtype;
  std::vector<int64_t> want = indices.dims;
  want.insert(want.end(), data.dims.begin() + 1, data.dims.end());
  if (want.size() > CAGR_MAX_RANK) c.fail("output rank " + std::to_string(want.size()) + " exceeds " + std::to_string(CAGR_MAX_RANK));
  const Shape& y = c.out(0);
  c.dtype(y, "rows (output 0)", CAGR_DTYPE_F32);
  c.dims(y, "rows (output 0)", want);
  return g;
}

// An op description's attributes for the tensor ops' rules.
class DescAttrs final : public AttrSource {
 public:
  explicit DescAttrs(const OpView& op) : op_(op) {}
  bool has(const char* name) const override { return op_.has_attr(name); }
  int64_t get_int(const char* name, int64_t fallback) const override { return op_.attr_int(name, fallback); }
  double get_float(const char* name, double fallback) const override { return op_.attr_float(name, fallback); }
  std::string get_string(const char* name, const std::string& fallback) const override { return op_.attr_string(name, fallback); }
  std::vector<int64_t> get_ints(const char* name, const std::vector<int64_t>& fallback) const override {
    return op_.attr_ints(name, fallback);
  }

 private:
  const OpView& op_;
};

// A general tensor op: its rule gives the outputs, which the description must match (a prefix of
// them, for ops with optional outputs).
Checked check_tensor_op(const Checker& c) {
  const OpView& op = c.op();
  std::vector<TensorType> inputs;
  for (size_t i = 0; i < op.num_inputs(); ++i) inputs.push_back(TensorType{c.in(i).dtype, c.in(i).dims});
  TensorOpDescription d = describe_tensor_op(op.type(), inputs, DescAttrs(op));
  if (op.num_outputs() < 1 || op.num_outputs() > d.outputs.size())
    c.fail("has " + std::to_string(d.outputs.size() == 1 ? 1 : d.outputs.size()) + " output(s)" +
           (d.outputs.size() == 1 ? "" : " at most") + ", got " + std::to_string(op.num_outputs()));
  for (size_t o = 0; o < op.num_outputs(); ++o) {
    const std::string what = Checker::label("output", o);
    c.dtype(c.out(o), what, d.outputs[o].dtype);
    c.dims(c.out(o), what, d.outputs[o].dims);
  }
  if (auto* l = std::get_if<LayerNorm>(&d.sizes)) l->outputs = static_cast<int>(op.num_outputs());
  return std::visit([](auto& sizes) -> Checked { return sizes; }, d.sizes);
}

}  // namespace

std::vector<int64_t> reshape_target(const std::vector<int64_t>& input_dims, const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (int64_t d : input_dims) numel *= d;
  std::vector<int64_t> out = shape;
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (inferred >= 0) invalid("attribute 'shape' " + dims_string(shape) + " has more than one -1");
      inferred = static_cast<int>(i);
      continue;
    }
    if (out[i] == 0) {
      if (i >= input_dims.size())
        invalid("attribute 'shape' " + dims_string(shape) + " copies dim " + std::to_string(i) + " of a rank " +
                std::to_string(input_dims.size()) + " input");
      out[i] = input_dims[i];
    }
    if (out[i] < 0) invalid("attribute 'shape' " + dims_string(shape) + " has a negative entry other than -1");
    known *= out[i];
  }
  if (inferred >= 0) {
    if (known == 0 || numel % known != 0)
      invalid("attribute 'shape' " + dims_string(shape) + " cannot hold the input " + dims_string(input_dims));
    out[inferred] = numel / known;
  } else if (known != numel) {
    invalid("attribute 'shape' " + dims_string(shape) + " has " + std::to_string(known) + " elements, the input " +
            dims_string(input_dims) + " has " + std::to_string(numel));
  }
  return out;
}

Checked check(const OpView& op) {
  const Checker c(op);
  const std::string t = op.type();
  if (t == "embedding_bag") return check_embedding_bag(c);
  if (t == "linear") return check_linear(c);
  if (t == "mlp") return check_mlp(c);
  if (t == "cross_layer") return check_cross_layer(c);
  if (t == "relu") return check_unary(c, Activation::relu);
  if (t == "sigmoid") return check_unary(c, Activation::sigmoid);
  if (t == "add") return check_binary(c, false);
  if (t == "mul") return check_binary(c, true);
  if (t == "concat") return check_concat(c);
  if (t == "reshape") return check_reshape(c);
  if (t == "dot_interaction") return check_dot_interaction(c);
  if (t == "dlrm_interaction") return check_dlrm_interaction(c);
  if (t == "dlrm_embedding_interaction") return check_dlrm_embedding_interaction(c);
  if (t == "fm_interaction") return check_fm_interaction(c);
  if (t == "reduce_sum") return check_reduce_sum(c);
  if (t == "top_k") return check_top_k(c);
  if (t == "gather") return check_gather(c);
  if (is_tensor_op(t)) return check_tensor_op(c);
  plugin::unsupported("unknown op_type '" + t + "' (not in abi/OPS.md)");
}

LinearOperands linear_operands(const Checked& checked) {
  if (const auto* c = std::get_if<CrossLayer>(&checked)) return {c->linear, 1, 2, 3, true, 0, c->residual_input ? size_t{4} : size_t{1}};
  return {std::get<Linear>(checked)};
}

bool usually_constant(const OpView& op, size_t input_index) {
  const std::string t = op.type();
  if (t == "embedding_bag") {  // the tables and the padding rows; not the per-sample weights
    const size_t last = op.num_inputs() - 1;
    const bool padded = op.attr_int("padded", 0) == 1;
    const bool weights = op.attr_int("weighted", 0) == 1 && input_index == (padded ? last - 1 : last);
    return input_index >= 2 && !weights;
  }
  if (t == "dlrm_embedding_interaction") return input_index >= 3;
  if (t == "linear" || t == "mlp") return input_index >= 1;
  if (t == "cross_layer") return input_index == 2 || input_index == 3;
  return false;
}

void check_run_dims(const std::string& op_type, bool is_output, size_t index, const int64_t* created, size_t created_rank,
                    const int64_t* run, size_t run_rank) {
  bool same = run_rank == created_rank;
  for (size_t d = 1; same && d < run_rank; ++d) same = run[d] == created[d];
  if (same || is_tensor_op(op_type) || (op_type == "gather" && (is_output || index == 1))) return;
  plugin::invalid(op_type + ": " + (is_output ? "output " : "input ") + std::to_string(index) + " has shape " +
                  dims_string({run, run + run_rank}) + " at run, " + dims_string({created, created + created_rank}) +
                  " at kernel_create; only the first dim may change");
}

}  // namespace cagr::contract

// tensor_ops.cpp - the rules of abi/OPS.md's general tensor ops (ONNX semantics).
#include "tensor_ops.hpp"

#include <algorithm>
#include <map>

#include "cagr_plugin_support.hpp"

namespace cagr::contract {
namespace {

bool known(int64_t d) { return d >= 0; }

int64_t product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= dims[i];
  return p;
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + (known(dims[i]) ? std::to_string(dims[i]) : std::string("?"));
  return s + "]";
}

// One op's inputs and attributes, with messages that name the op.
class Rule {
 public:
  Rule(const std::string& type, const std::vector<TensorType>& inputs, const AttrSource& attrs)
      : type_(type), inputs_(inputs), attrs_(attrs) {}

  [[noreturn]] void fail(const std::string& what) const { plugin::invalid(type_ + ": " + what); }
  const AttrSource& attrs() const { return attrs_; }
  size_t count() const { return inputs_.size(); }

  void arity(size_t lo, size_t hi) const {
    if (inputs_.size() < lo || inputs_.size() > hi)
      fail("takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) + " inputs, got " +
           std::to_string(inputs_.size()));
  }
  const TensorType& in(size_t i) const {
    const TensorType& t = inputs_.at(i);
    if (plugin::dtype_size(t.dtype) == 0) fail("input " + std::to_string(i) + " has an invalid dtype");
    if (t.dims.size() > CAGR_MAX_RANK) fail("input " + std::to_string(i) + " has rank above " + std::to_string(CAGR_MAX_RANK));
    return t;
  }
  void dtype_in(size_t i, std::initializer_list<cagr_dtype> allowed) const {
    const cagr_dtype d = in(i).dtype;
    if (std::find(allowed.begin(), allowed.end(), d) != allowed.end()) return;
    std::string names;
    for (cagr_dtype a : allowed) names += std::string(names.empty() ? "" : ", ") + plugin::dtype_name(a);
    fail("input " + std::to_string(i) + " must be " + names + ", got " + plugin::dtype_name(d));
  }
  int64_t axis(int64_t a, size_t rank, const char* what) const {
    const int64_t r = static_cast<int64_t>(rank);
    if (a < -r || a >= r) fail(std::string(what) + " " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    return a < 0 ? a + r : a;
  }
  bool flag(const char* name, int64_t fallback) const {
    const int64_t v = attrs_.get_int(name, fallback);
    if (v != 0 && v != 1) fail("attribute '" + std::string(name) + "' must be 0 or 1, got " + std::to_string(v));
    return v == 1;
  }
  std::vector<int64_t> broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b) const {
    return broadcast_dims(a, b, type_);
  }

 private:
  const std::string& type_;
  const std::vector<TensorType>& inputs_;
  const AttrSource& attrs_;
};

// Strides of `dims` read as broadcast to `out` (right-aligned; 0 where the input's dim is 1).
std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& dims, const std::vector<int64_t>& out) {
  const std::vector<int64_t> own = strides_of(dims);
  std::vector<int64_t> s(out.size(), 0);
  for (size_t k = 0; k < dims.size(); ++k) {
    const size_t o = out.size() - dims.size() + k;
    s[o] = dims[k] == 1 ? 0 : own[k];
  }
  return s;
}

const std::map<std::string, std::pair<ElementwiseFn, int>>& elementwise_fns() {
  using F = ElementwiseFn;
  static const std::map<std::string, std::pair<ElementwiseFn, int>> fns = {
      {"neg", {F::neg, 1}}, {"abs", {F::abs, 1}}, {"sqrt", {F::sqrt, 1}}, {"exp", {F::exp, 1}}, {"log", {F::log, 1}},
      {"tanh", {F::tanh, 1}}, {"reciprocal", {F::reciprocal, 1}}, {"floor", {F::floor, 1}}, {"ceil", {F::ceil, 1}},
      {"not", {F::logical_not, 1}}, {"add", {F::add, 2}}, {"sub", {F::sub, 2}}, {"mul", {F::mul, 2}},
      {"div", {F::div, 2}}, {"pow", {F::pow, 2}}, {"max", {F::max, 2}}, {"min", {F::min, 2}},
      {"equal", {F::equal, 2}}, {"less", {F::less, 2}}, {"greater", {F::greater, 2}},
      {"less_or_equal", {F::less_or_equal, 2}}, {"greater_or_equal", {F::greater_or_equal, 2}},
      {"and", {F::logical_and, 2}}, {"or", {F::logical_or, 2}}, {"xor", {F::logical_xor, 2}}, {"where", {F::where, 3}}};
  return fns;
}

TensorOpDescription elementwise(const Rule& r) {
  const std::string name = r.attrs().get_string("fn", "");
  auto it = elementwise_fns().find(name);
  if (it == elementwise_fns().end()) r.fail("attribute 'fn' = '" + name + "' is not an element-wise function of abi/OPS.md");
  Elementwise e;
  e.fn = it->second.first;
  const size_t arity = static_cast<size_t>(it->second.second);
  r.arity(arity, arity);
  using F = ElementwiseFn;
  constexpr auto f32 = CAGR_DTYPE_F32, i32 = CAGR_DTYPE_I32, i64 = CAGR_DTYPE_I64, u8 = CAGR_DTYPE_U8;
  const size_t value = e.fn == F::where ? 1 : 0;  // first input holding values
  switch (e.fn) {
    case F::neg: case F::abs: case F::add: case F::sub: case F::mul: case F::div: case F::max: case F::min:
      r.dtype_in(0, {f32, i32, i64});
      break;
    case F::sqrt: case F::exp: case F::log: case F::tanh: case F::reciprocal: case F::floor: case F::ceil: case F::pow:
      r.dtype_in(0, {f32});
      break;
    case F::equal: case F::less: case F::greater: case F::less_or_equal: case F::greater_or_equal:
      r.dtype_in(0, {f32, i32, i64, u8});
      break;
    case F::logical_not: case F::logical_and: case F::logical_or: case F::logical_xor: case F::where:
      r.dtype_in(0, {u8});
      break;
  }
  e.dtype = r.in(value).dtype;
  for (size_t i = value + 1; i < arity; ++i)
    if (r.in(i).dtype != e.dtype)
      r.fail("input " + std::to_string(i) + " is " + plugin::dtype_name(r.in(i).dtype) + ", input " + std::to_string(value) +
             " is " + plugin::dtype_name(e.dtype) + "; they must match");
  const bool compares = e.fn >= F::equal && e.fn <= F::greater_or_equal;
  e.out_dtype = compares ? u8 : e.dtype;
  e.out_dims = r.in(0).dims;
  for (size_t i = 1; i < arity; ++i) e.out_dims = r.broadcast(e.out_dims, r.in(i).dims);
  for (size_t i = 0; i < arity; ++i) e.strides.push_back(broadcast_strides(r.in(i).dims, e.out_dims));
  e.numel = product(e.out_dims, 0, e.out_dims.size());
  return {e, {TensorType{e.out_dtype, e.out_dims}}};
}

TensorOpDescription cast(const Rule& r) {
  r.arity(1, 1);
  constexpr auto f32 = CAGR_DTYPE_F32, i32 = CAGR_DTYPE_I32, i64 = CAGR_DTYPE_I64, u8 = CAGR_DTYPE_U8, i8 = CAGR_DTYPE_I8;
  r.dtype_in(0, {f32, i32, i64, u8, i8});
  const std::string to = r.attrs().get_string("to", "");
  Cast c{r.in(0).dtype, abi::dtype_from_name(to), product(r.in(0).dims, 0, r.in(0).dims.size())};
  if (c.to != f32 && c.to != i32 && c.to != i64 && c.to != u8 && c.to != i8)
    r.fail("attribute 'to' = '" + to + "' must be f32, i32, i64, u8 or i8");
  return {c, {TensorType{c.to, r.in(0).dims}}};
}

TensorOpDescription transpose(const Rule& r) {
  r.arity(1, 1);
  const TensorType& x = r.in(0);
  std::vector<int64_t> perm(x.dims.size());
  for (size_t k = 0; k < perm.size(); ++k) perm[k] = static_cast<int64_t>(perm.size() - 1 - k);
  perm = r.attrs().get_ints("perm", perm);
  std::vector<bool> seen(x.dims.size(), false);
  if (perm.size() != x.dims.size()) r.fail("attribute 'perm' has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(x.dims.size()));
  const std::vector<int64_t> in_strides = strides_of(x.dims);
  StridedCopy s;
  s.elem_size = plugin::dtype_size(x.dtype);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[static_cast<size_t>(p)])
      r.fail("attribute 'perm' " + dims_text(perm) + " is not a permutation of the " + std::to_string(perm.size()) + " dims");
    seen[static_cast<size_t>(p)] = true;
    s.out_dims.push_back(x.dims[static_cast<size_t>(p)]);
    s.strides.push_back(in_strides[static_cast<size_t>(p)]);
  }
  s.numel = product(s.out_dims, 0, s.out_dims.size());
  return {s, {TensorType{x.dtype, s.out_dims}}};
}

// ONNX Slice on one axis of length `len`: the first element, the step and the count.
struct AxisSlice {
  int64_t first = 0, step = 1, count = 0;
};
AxisSlice slice_axis(int64_t len, int64_t start, int64_t end, int64_t step) {
  if (len == 0) return AxisSlice{0, step, 0};
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, len);
    end = std::clamp<int64_t>(end, 0, len);
  } else {
    start = std::clamp<int64_t>(start, 0, len - 1);
    end = std::clamp<int64_t>(end, -1, len - 1);
  }
  const int64_t span = end - start;  // written so that no step, however large, overflows
  const int64_t count = step > 0 ? (span > 0 ? (span - 1) / step + 1 : 0) : (span < 0 ? (span + 1) / step + 1 : 0);
  return AxisSlice{start, count > 1 ? step : 1, count};
}

TensorOpDescription slice(const Rule& r) {
  r.arity(1, 1);
  const TensorType& x = r.in(0);
  if (!r.attrs().has("starts") || !r.attrs().has("ends")) r.fail("attributes 'starts' and 'ends' are required");
  const std::vector<int64_t> starts = r.attrs().get_ints("starts", {}), ends = r.attrs().get_ints("ends", {});
  std::vector<int64_t> axes(starts.size());
  for (size_t k = 0; k < axes.size(); ++k) axes[k] = static_cast<int64_t>(k);
  axes = r.attrs().get_ints("axes", axes);
  const std::vector<int64_t> steps = r.attrs().get_ints("steps", std::vector<int64_t>(starts.size(), 1));
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    r.fail("attributes 'starts', 'ends', 'axes' and 'steps' must have the same length");
  StridedCopy s;
  s.elem_size = plugin::dtype_size(x.dtype);
  s.out_dims = x.dims;
  s.strides = strides_of(x.dims);
  std::vector<bool> seen(x.dims.size(), false);
  for (size_t k = 0; k < starts.size(); ++k) {
    const size_t a = static_cast<size_t>(r.axis(axes[k], x.dims.size(), "slice axis"));
    if (seen[a]) r.fail("attribute 'axes' names axis " + std::to_string(a) + " twice");
    seen[a] = true;
    if (steps[k] == 0) r.fail("attribute 'steps' has a 0");
    if (!known(x.dims[a])) {
      s.out_dims[a] = kUnknownDim;
      continue;
    }
    const AxisSlice sl = slice_axis(x.dims[a], starts[k], ends[k], steps[k]);
    s.offset += sl.first * s.strides[a];
    s.strides[a] *= sl.step;
    s.out_dims[a] = sl.count;
  }
  s.numel = product(s.out_dims, 0, s.out_dims.size());
  return {s, {TensorType{x.dtype, s.out_dims}}};
}

TensorOpDescription expand(const Rule& r) {
  r.arity(1, 1);
  const TensorType& x = r.in(0);
  if (!r.attrs().has("shape")) r.fail("attribute 'shape' is required");
  const std::vector<int64_t> shape = r.attrs().get_ints("shape", {});
  if (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 0; }))
    r.fail("attribute 'shape' " + dims_text(shape) + " has a negative entry");
  StridedCopy s;
  s.elem_size = plugin::dtype_size(x.dtype);
  s.out_dims = r.broadcast(x.dims, shape);
  s.strides = broadcast_strides(x.dims, s.out_dims);
  s.numel = product(s.out_dims, 0, s.out_dims.size());
  return {s, {TensorType{x.dtype, s.out_dims}}};
}

TensorOpDescription matmul(const Rule& r) {
  r.arity(2, 2);
  r.dtype_in(0, {CAGR_DTYPE_F32});
  r.dtype_in(1, {CAGR_DTYPE_F32});
  std::vector<int64_t> a = r.in(0).dims, b = r.in(1).dims;
  if (a.empty() || b.empty()) r.fail("inputs must have rank >= 1");
  const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
  if (a_vector) a.insert(a.begin(), 1);
  if (b_vector) b.push_back(1);
  MatMul m;
  m.m = a[a.size() - 2];
  m.k = a.back();
  m.n = b.back();
  if (known(m.k) && known(b[b.size() - 2]) && b[b.size() - 2] != m.k)
    r.fail("A " + dims_text(r.in(0).dims) + " and B " + dims_text(r.in(1).dims) + " differ in K");
  const std::vector<int64_t> a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  std::vector<int64_t> out = r.broadcast(a_batch, b_batch);
  const std::vector<int64_t> as = broadcast_strides(a_batch, out), bs = broadcast_strides(b_batch, out);
  const int64_t batches = product(out, 0, out.size());
  for (int64_t i = 0; known(batches) && i < batches; ++i) {
    int64_t ao = 0, bo = 0, rest = i;
    for (size_t d = out.size(); d-- > 0;) {
      const int64_t c = rest % out[d];
      rest /= out[d];
      ao += c * as[d];
      bo += c * bs[d];
    }
    m.a_offsets.push_back(ao * m.m * m.k);
    m.b_offsets.push_back(bo * m.k * m.n);
  }
  if (!a_vector) out.push_back(m.m);
  if (!b_vector) out.push_back(m.n);
  return {m, {TensorType{CAGR_DTYPE_F32, out}}};
}

TensorOpDescription take(const Rule& r) {
  r.arity(2, 2);
  const TensorType &data = r.in(0), &idx = r.in(1);
  if (data.dims.empty()) r.fail("data (input 0) must have rank >= 1");
  r.dtype_in(1, {CAGR_DTYPE_I32, CAGR_DTYPE_I64});
  const size_t axis = static_cast<size_t>(r.axis(r.attrs().get_int("axis", 0), data.dims.size(), "attribute 'axis'"));
  Take t;
  t.elem_size = plugin::dtype_size(data.dtype);
  t.outer = product(data.dims, 0, axis);
  t.axis_len = data.dims[axis];
  t.inner = product(data.dims, axis + 1, data.dims.size());
  t.count = product(idx.dims, 0, idx.dims.size());
  t.index_dtype = idx.dtype;
  std::vector<int64_t> out(data.dims.begin(), data.dims.begin() + static_cast<long>(axis));
  out.insert(out.end(), idx.dims.begin(), idx.dims.end());
  out.insert(out.end(), data.dims.begin() + static_cast<long>(axis) + 1, data.dims.end());
  if (out.size() > CAGR_MAX_RANK) r.fail("output rank " + std::to_string(out.size()) + " exceeds " + std::to_string(CAGR_MAX_RANK));
  return {t, {TensorType{data.dtype, out}}};
}

TensorOpDescription gather_elements(const Rule& r) {
  r.arity(2, 2);
  const TensorType &data = r.in(0), &idx = r.in(1);
  r.dtype_in(1, {CAGR_DTYPE_I32, CAGR_DTYPE_I64});
  if (data.dims.empty() || idx.dims.size() != data.dims.size())
    r.fail("indices " + dims_text(idx.dims) + " must have the rank of data " + dims_text(data.dims) + " (>= 1)");
  GatherElements g;
  g.axis = r.axis(r.attrs().get_int("axis", 0), data.dims.size(), "attribute 'axis'");
  for (size_t d = 0; d < data.dims.size(); ++d)
    if (static_cast<int64_t>(d) != g.axis && known(idx.dims[d]) && known(data.dims[d]) && idx.dims[d] > data.dims[d])
      r.fail("indices " + dims_text(idx.dims) + " exceed data " + dims_text(data.dims) + " in dim " + std::to_string(d));
  g.elem_size = plugin::dtype_size(data.dtype);
  g.index_dims = idx.dims;
  g.data_dims = data.dims;
  g.index_dtype = idx.dtype;
  return {g, {TensorType{data.dtype, idx.dims}}};
}

TensorOpDescription softmax(const Rule& r) {
  r.arity(1, 1);
  r.dtype_in(0, {CAGR_DTYPE_F32});
  const TensorType& x = r.in(0);
  if (x.dims.empty()) r.fail("input 0 must have rank >= 1");
  const size_t axis = static_cast<size_t>(r.axis(r.attrs().get_int("axis", -1), x.dims.size(), "attribute 'axis'"));
  Softmax s{product(x.dims, 0, axis), x.dims[axis], product(x.dims, axis + 1, x.dims.size()), r.flag("log", 0)};
  return {s, {x}};
}

TensorOpDescription reduce(const Rule& r) {
  r.arity(1, 1);
  r.dtype_in(0, {CAGR_DTYPE_F32});
  const TensorType& x = r.in(0);
  static const std::map<std::string, ReduceFn> fns = {
      {"sum", ReduceFn::sum}, {"mean", ReduceFn::mean}, {"max", ReduceFn::max}, {"min", ReduceFn::min}, {"prod", ReduceFn::prod}};
  const std::string name = r.attrs().get_string("fn", "");
  auto it = fns.find(name);
  if (it == fns.end()) r.fail("attribute 'fn' = '" + name + "' must be sum, mean, max, min or prod");
  Reduce red{it->second, x.dims, std::vector<bool>(x.dims.size(), false)};
  std::vector<int64_t> axes = r.attrs().get_ints("axes", {});
  if (axes.empty()) red.reduced.assign(x.dims.size(), true);
  for (int64_t a : axes) {
    const size_t axis = static_cast<size_t>(r.axis(a, x.dims.size(), "attribute 'axes'"));
    if (red.reduced[axis]) r.fail("attribute 'axes' names axis " + std::to_string(axis) + " twice");
    red.reduced[axis] = true;
  }
  const bool keepdims = r.flag("keepdims", 1);
  std::vector<int64_t> out;
  for (size_t d = 0; d < x.dims.size(); ++d) {
    if (!red.reduced[d]) out.push_back(x.dims[d]);
    else if (keepdims) out.push_back(1);
    if (red.reduced[d] && x.dims[d] == 0 && (red.fn == ReduceFn::max || red.fn == ReduceFn::min || red.fn == ReduceFn::mean))
      r.fail("reduces an empty dim " + std::to_string(d) + " with '" + name + "', which has no value");
  }
  return {red, {TensorType{CAGR_DTYPE_F32, out}}};
}

TensorOpDescription layer_norm(const Rule& r) {
  r.arity(2, 3);
  for (size_t i = 0; i < r.count(); ++i) r.dtype_in(i, {CAGR_DTYPE_F32});
  const TensorType& x = r.in(0);
  if (x.dims.empty()) r.fail("X (input 0) must have rank >= 1");
  const size_t axis = static_cast<size_t>(r.axis(r.attrs().get_int("axis", -1), x.dims.size(), "attribute 'axis'"));
  const std::vector<int64_t> normalized(x.dims.begin() + static_cast<long>(axis), x.dims.end());
  for (size_t i = 1; i < r.count(); ++i)
    if (r.in(i).dims != normalized)
      r.fail(std::string(i == 1 ? "scale" : "bias") + " (input " + std::to_string(i) + ") " + dims_text(r.in(i).dims) +
             " must have X's normalised dims " + dims_text(normalized));
  LayerNorm l;
  l.outer = product(x.dims, 0, axis);
  l.n = product(normalized, 0, normalized.size());
  l.epsilon = r.attrs().get_float("epsilon", 1e-5);
  l.has_bias = r.count() == 3;
  l.outputs = 3;
  std::vector<int64_t> stats = x.dims;
  for (size_t d = axis; d < stats.size(); ++d) stats[d] = 1;
  return {l, {x, TensorType{CAGR_DTYPE_F32, stats}, TensorType{CAGR_DTYPE_F32, stats}}};
}

TensorOpDescription fixed_bag_offsets(const Rule& r) {
  r.arity(1, 1);
  r.dtype_in(0, {CAGR_DTYPE_I32, CAGR_DTYPE_I64});
  const std::vector<int64_t>& dims = r.in(0).dims;
  const int64_t count = product(dims, 0, dims.size());
  const bool unknown = std::any_of(dims.begin(), dims.end(), [](int64_t d) { return !known(d); });
  BagOffsets b{0, r.attrs().get_int("bag_size", 1)};
  if (b.bag_size < 1) r.fail("attribute 'bag_size' must be >= 1, got " + std::to_string(b.bag_size));
  if (unknown) return {b, {TensorType{CAGR_DTYPE_I64, {kUnknownDim}}}};
  if (count % b.bag_size != 0)
    r.fail("input 0 " + dims_text(dims) + " holds " + std::to_string(count) + " indices, not a multiple of bag_size " + std::to_string(b.bag_size));
  b.bags = count / b.bag_size;
  return {b, {TensorType{CAGR_DTYPE_I64, {b.bags + 1}}}};
}

TensorOpDescription table_offsets(const Rule& r) {
  r.arity(2, 2);
  r.dtype_in(0, {CAGR_DTYPE_I32, CAGR_DTYPE_I64});
  r.dtype_in(1, {CAGR_DTYPE_I32, CAGR_DTYPE_I64});
  const std::vector<int64_t>&offsets = r.in(0).dims, &indices = r.in(1).dims;
  if (offsets.size() != 2 || indices.size() != 2)
    r.fail("offsets " + dims_text(offsets) + " and indices " + dims_text(indices) + " must both be 2-D ([T, B] and [T, L])");
  if (known(offsets[0]) && known(indices[0]) && offsets[0] != indices[0])
    r.fail("offsets " + dims_text(offsets) + " and indices " + dims_text(indices) + " differ in T");
  TableOffsets t{offsets[0], offsets[1], indices[1], r.in(0).dtype};
  const bool all_known = known(t.tables) && known(t.batch);
  return {t, {TensorType{CAGR_DTYPE_I64, {all_known ? t.tables * t.batch + 1 : kUnknownDim}}}};
}

}  // namespace

std::vector<int64_t> broadcast_dims(const std::vector<int64_t>& a, const std::vector<int64_t>& b, const std::string& op) {
  std::vector<int64_t> out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t da = i + a.size() < out.size() ? 1 : a[i + a.size() - out.size()];
    const int64_t db = i + b.size() < out.size() ? 1 : b[i + b.size() - out.size()];
    if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else if (!known(da)) out[i] = db;  // an unknown dim meets a size: the size (or unknown with unknown)
    else if (!known(db) || da == db) out[i] = da;
    else plugin::invalid(op + ": shapes " + dims_text(a) + " and " + dims_text(b) + " do not broadcast");
  }
  return out;
}

const std::vector<std::string>& tensor_op_types() {
  static const std::vector<std::string> types = {"elementwise", "cast", "transpose", "slice", "expand", "matmul",
                                                 "take", "gather_elements", "softmax", "reduce", "layer_norm",
                                                 "fixed_bag_offsets", "table_offsets"};
  return types;
}

bool is_tensor_op(const std::string& type) {
  const auto& t = tensor_op_types();
  return std::find(t.begin(), t.end(), type) != t.end();
}

TensorOpDescription describe_tensor_op(const std::string& type, const std::vector<TensorType>& inputs, const AttrSource& attrs) {
  const Rule r(type, inputs, attrs);
  if (type == "elementwise") return elementwise(r);
  if (type == "cast") return cast(r);
  if (type == "transpose") return transpose(r);
  if (type == "slice") return slice(r);
  if (type == "expand") return expand(r);
  if (type == "matmul") return matmul(r);
  if (type == "take") return take(r);
  if (type == "gather_elements") return gather_elements(r);
  if (type == "softmax") return softmax(r);
  if (type == "reduce") return reduce(r);
  if (type == "layer_norm") return layer_norm(r);
  if (type == "fixed_bag_offsets") return fixed_bag_offsets(r);
  if (type == "table_offsets") return table_offsets(r);
  plugin::unsupported("unknown op_type '" + type + "' (not in abi/OPS.md)");
}

}  // namespace cagr::contract

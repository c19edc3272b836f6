// op_cases.cpp - the random case generators.
#include "op_cases.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cagr_dtype.hpp"
#include "op_contract.hpp"

namespace cagr::conformance {

using OpDesc = abi::OwnedOpDesc;

namespace {

constexpr cagr_dtype F32 = CAGR_DTYPE_F32;
constexpr cagr_dtype I32 = CAGR_DTYPE_I32;
constexpr cagr_dtype I64 = CAGR_DTYPE_I64;
constexpr cagr_dtype U8 = CAGR_DTYPE_U8;
constexpr cagr_dtype I8 = CAGR_DTYPE_I8;

std::string dims_label(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

int64_t numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

Bytes uniform(Rng& rng, int64_t count, float bound = 1.0f) {
  std::uniform_real_distribution<float> u(-bound, bound);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = u(rng);
  return to_bytes(v);
}

// Integers in [0, bound) as `dtype`.
Bytes index_values(const std::vector<int64_t>& values, cagr_dtype dtype) {
  if (dtype == I64) return to_bytes(values);
  return to_bytes(std::vector<int32_t>(values.begin(), values.end()));
}

int64_t draw(Rng& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

Case unary_case(Rng& rng, const char* op, const std::vector<int64_t>& dims, float bound = 1.0f) {
  Case c{std::string(op) + " " + dims_label(dims) + (bound != 1.0f ? " of values in +-" + std::to_string(bound) : ""),
         OpDesc(op), {uniform(rng, numel(dims), bound)}};
  c.op.input(F32, dims).output(F32, dims);
  return c;
}

Case binary_case(Rng& rng, const char* op, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  Case c{std::string(op) + " A" + dims_label(a) + " B" + dims_label(b), OpDesc(op),
         {uniform(rng, numel(a)), uniform(rng, numel(b))}};
  c.op.input(F32, a).input(F32, b).output(F32, a);
  return c;
}

Case concat_case(Rng& rng, const std::vector<std::vector<int64_t>>& inputs, int64_t axis) {
  Case c{"concat axis " + std::to_string(axis), OpDesc("concat"), {}};
  std::vector<int64_t> out = inputs[0];
  const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(out.size()) : axis);
  out[a] = 0;
  for (const auto& dims : inputs) {
    c.label += " " + dims_label(dims);
    c.op.input(F32, dims);
    c.inputs.push_back(uniform(rng, numel(dims)));
    out[a] += dims[a];
  }
  c.op.output(F32, out).attr("axis", axis);
  return c;
}

Case reshape_case(Rng& rng, const std::vector<int64_t>& in, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& out) {
  Case c{"reshape " + dims_label(in) + " by " + dims_label(shape), OpDesc("reshape"), {uniform(rng, numel(in))}};
  c.op.input(F32, in).output(F32, out).attr("shape", shape);
  return c;
}

Case dot_case(Rng& rng, int64_t b, int64_t f, int64_t d, bool self) {
  const int64_t pairs = self ? f * (f + 1) / 2 : f * (f - 1) / 2;
  Case c{"dot_interaction B=" + std::to_string(b) + " F=" + std::to_string(f) + " D=" + std::to_string(d) +
             (self ? " self" : ""),
         OpDesc("dot_interaction"), {uniform(rng, b * f * d)}};
  c.op.input(F32, {b, f, d}).output(F32, {b, pairs}).attr("self_interaction", int64_t{self ? 1 : 0});
  return c;
}

// Output columns of DLRM's interaction layer: D, then the dots among T + 1 features, rounded up to pad_to.
int64_t interaction_cols(int64_t t, int64_t d, bool self, int64_t pad_to) {
  const int64_t f = t + 1;
  const int64_t pairs = self ? f * (f + 1) / 2 : f * (f - 1) / 2;
  return (d + pairs + pad_to - 1) / pad_to * pad_to;
}

// DLRM's interaction layer: dense [B, D] and T pooled embeddings [B, T, D].
Case dlrm_case(Rng& rng, int64_t b, int64_t t, int64_t d, bool self, int64_t pad_to) {
  Case c{"dlrm_interaction B=" + std::to_string(b) + " T=" + std::to_string(t) + " D=" + std::to_string(d) +
             (self ? " self" : "") + " pad_to " + std::to_string(pad_to),
         OpDesc("dlrm_interaction"), {uniform(rng, b * d), uniform(rng, b * t * d)}};
  c.op.input(F32, {b, d}).input(F32, {b, t, d}).output(F32, {b, interaction_cols(t, d, self, pad_to)});
  c.op.attr("self_interaction", int64_t{self ? 1 : 0});
  if (pad_to != 1) c.op.attr("pad_to", pad_to);
  return c;
}

Case fm_case(Rng& rng, int64_t b, int64_t f, int64_t d) {
  Case c{"fm_interaction B=" + std::to_string(b) + " F=" + std::to_string(f) + " D=" + std::to_string(d),
         OpDesc("fm_interaction"), {uniform(rng, b * f * d)}};
  c.op.input(F32, {b, f, d}).output(F32, {b, 1});
  return c;
}

Case reduce_case(Rng& rng, const std::vector<int64_t>& in, const std::vector<int64_t>& axes, bool keepdims) {
  std::vector<bool> reduced(in.size(), false);
  for (int64_t a : axes) reduced[static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(in.size()) : a)] = true;
  std::vector<int64_t> out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d]) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  Case c{"reduce_sum " + dims_label(in) + " axes " + dims_label(axes) + (keepdims ? " keepdims" : ""),
         OpDesc("reduce_sum"), {uniform(rng, numel(in))}};
  c.op.input(F32, in).output(F32, out).attr("axes", axes).attr("keepdims", int64_t{keepdims ? 1 : 0});
  return c;
}

// Scores with many ties (values on a coarse grid) and, when `nans`, a few NaNs: the cases where
// the order rule of OPS.md (NaN first, equal values by lower index) matters.
Case top_k_case(Rng& rng, int64_t b, int64_t n, int64_t k, bool ties, bool nans) {
  std::vector<float> scores(static_cast<size_t>(b * n));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& s : scores) s = ties ? std::round(u(rng) * 4) / 4 : u(rng);
  if (nans) {
    for (int64_t i = 0; i < b * n / 7 + 1; ++i) scores[static_cast<size_t>(draw(rng, 0, b * n - 1))] = std::numeric_limits<float>::quiet_NaN();
  }
  Case c{"top_k B=" + std::to_string(b) + " N=" + std::to_string(n) + " k=" + std::to_string(k) + (ties ? " ties" : "") +
             (nans ? " NaN" : ""),
         OpDesc("top_k"), {to_bytes(scores)}};
  c.op.input(F32, {b, n}).output(F32, {b, k}).output(I64, {b, k}).attr("k", k);
  return c;
}


// ---- the general tensor ops (abi/tensor_ops.hpp) ----------------------------------------------
// Output shapes are worked out here from ONNX's rules, independently of the contract's code.

// numpy broadcasting of two shapes.
std::vector<int64_t> broadcast(std::vector<int64_t> a, std::vector<int64_t> b) {
  if (a.size() < b.size()) a.insert(a.begin(), b.size() - a.size(), 1);
  if (b.size() < a.size()) b.insert(b.begin(), a.size() - b.size(), 1);
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] == 1) a[i] = b[i];
  return a;
}

// `count` values of `dtype`: integers drawn from [lo, hi], f32 from [lo, hi] (on a grid of quarters
// with `grid`, so that equal values and integers occur); `nonzero` keeps them at least 1 (f32:
// 0.25) away from zero.
struct Range {
  double lo = -1, hi = 1;
  bool grid = false;
  bool nonzero = false;
};
Bytes values(Rng& rng, cagr_dtype dtype, int64_t count, const Range& r) {
  const size_t n = static_cast<size_t>(count);
  if (dtype == F32) {
    std::uniform_real_distribution<double> u(r.lo, r.hi);
    std::vector<float> v(n);
    for (float& x : v) {
      double d = u(rng);
      if (r.grid) d = std::round(d * 4) / 4;
      if (r.nonzero && std::fabs(d) < 0.25) d = d < 0 ? d - 0.25 : d + 0.25;
      x = static_cast<float>(d);
    }
    return to_bytes(v);
  }
  if (dtype == CAGR_DTYPE_F16 || dtype == CAGR_DTYPE_BF16) {  // any bits: only copied (where)
    std::vector<uint16_t> v(n);
    for (uint16_t& x : v) x = static_cast<uint16_t>(rng());
    return to_bytes(v);
  }
  std::uniform_int_distribution<int64_t> u(static_cast<int64_t>(r.lo), static_cast<int64_t>(r.hi));
  std::vector<int64_t> v(n);
  for (int64_t& x : v) {
    x = u(rng);
    if (r.nonzero && x == 0) x = r.hi >= 1 ? 1 : -1;
  }
  switch (dtype) {
    case I32: return to_bytes(std::vector<int32_t>(v.begin(), v.end()));
    case U8: return to_bytes(std::vector<uint8_t>(v.begin(), v.end()));
    case I8: return to_bytes(std::vector<int8_t>(v.begin(), v.end()));
    default: return to_bytes(v);
  }
}

// Indices of an axis of `len`, negative ones included: uniform in [-len, len).
Bytes wrapped_indices(Rng& rng, int64_t count, int64_t len, cagr_dtype dtype) {
  std::vector<int64_t> idx(static_cast<size_t>(count));
  for (int64_t& i : idx) i = draw(rng, -len, len - 1);
  return index_values(idx, dtype);
}

// The values elementwise `fn` is tried on: inside its domain (sqrt, log, reciprocal: positive),
// free of integer overflow (mul, i32 / i64), with ties where it compares.
Range operand_range(const std::string& fn, cagr_dtype dtype, size_t operand) {
  const bool i32 = dtype == I32, i64 = dtype == I64;
  if (fn == "sqrt" || fn == "log" || fn == "reciprocal") return {0.1, 4};
  if (fn == "exp") return {-5, 5};
  if (fn == "tanh") return {-3, 3};
  if (fn == "floor" || fn == "ceil") return {-10, 10, true};
  if (fn == "pow") return operand == 0 ? Range{0.1, 3} : Range{-3, 3};
  if (fn == "not" || fn == "and" || fn == "or" || fn == "xor") return {0, 1};
  if (fn == "equal" || fn == "less" || fn == "greater" || fn == "less_or_equal" || fn == "greater_or_equal")
    return dtype == F32 ? Range{-2, 2, true} : Range{dtype == U8 ? 0.0 : -5.0, 5};
  if (fn == "mul") return i32 ? Range{-30000, 30000} : i64 ? Range{-2e9, 2e9} : Range{-2, 2};
  if (fn == "div" && operand == 1) return i32 ? Range{-1000, 1000, false, true} : i64 ? Range{-1e6, 1e6, false, true}
                                                                                    : Range{-2, 2, false, true};
  return i32 ? Range{-1e6, 1e6} : i64 ? Range{-3e12, 3e12} : Range{-1, 1};  // neg, abs, add, sub, max, min, div's A
}

// elementwise `fn` on operands of these shapes (where: condition, x, y), value dtype `dtype`.
Case elementwise_case(Rng& rng, const std::string& fn, cagr_dtype dtype, const std::vector<std::vector<int64_t>>& shapes) {
  const bool where = fn == "where";
  const bool compares = fn == "equal" || fn == "less" || fn == "greater" || fn == "less_or_equal" || fn == "greater_or_equal";
  Case c{"elementwise " + fn + " " + abi::dtype_name(dtype), OpDesc("elementwise"), {}};
  std::vector<int64_t> out;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const cagr_dtype t = where && i == 0 ? U8 : dtype;
    c.label += " " + dims_label(shapes[i]);
    c.op.input(t, shapes[i]);
    c.inputs.push_back(values(rng, t, numel(shapes[i]), where && i == 0 ? Range{0, 1} : operand_range(fn, t, i)));
    out = i == 0 ? shapes[0] : broadcast(out, shapes[i]);
  }
  c.op.output(compares ? U8 : dtype, out).attr("fn", fn);
  return c;
}

// pow with negative bases and integer exponents (defined there: (-2)^3 = -8).
Case pow_integer_exponents_case(Rng& rng, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  Case c{"elementwise pow f32 negative bases, integer exponents " + dims_label(a) + " " + dims_label(b),
         OpDesc("elementwise"), {values(rng, F32, numel(a), {-3, 3}), values(rng, F32, numel(b), {-3, 3})}};
  std::vector<float> e(static_cast<size_t>(numel(b)));
  for (float& x : e) x = static_cast<float>(draw(rng, -3, 4));
  c.inputs[1] = to_bytes(e);
  c.op.input(F32, a).input(F32, b).output(F32, broadcast(a, b)).attr("fn", "pow");
  return c;
}

// Values of `from` that `to` holds (so no cast is out of range, which ONNX leaves undefined), f32
// ones with fractions (truncated toward zero) and, to f32, integers too wide for it (rounded).
Case cast_case(Rng& rng, cagr_dtype from, cagr_dtype to, const std::vector<int64_t>& dims) {
  auto range_of = [](cagr_dtype d) -> Range {
    switch (d) {
      case U8: return {0, 255};
      case I8: return {-128, 127};
      case I32: return {-2147483648.0, 2147483647.0};
      case I64: return {-1099511627776.0, 1099511627776.0};  // 2^40: beyond f32's 24 bits
      default: return {-1e15, 1e15};
    }
  };
  Range r = range_of(from);
  if (from == F32 && to == I32) r = {-2e9, 2e9};  // f32 has no value next to 2^31 - 1 below it
  const Range target = range_of(to);
  r.lo = std::max(r.lo, target.lo);
  r.hi = std::min(r.hi, target.hi);
  Case c{std::string("cast ") + abi::dtype_name(from) + " -> " + abi::dtype_name(to) + " " + dims_label(dims),
         OpDesc("cast"), {values(rng, from, numel(dims), r)}};
  if (from == F32) {  // every other value small, with a fraction: -1.75 -> -1
    float* f = reinterpret_cast<float*>(c.inputs[0].data());
    std::uniform_real_distribution<float> small(static_cast<float>(std::max(r.lo, -300.0)), static_cast<float>(std::min(r.hi, 300.0)));
    for (int64_t i = 0; i < numel(dims); i += 2) f[i] = small(rng);
  }
  c.op.input(from, dims).output(to, dims).attr("to", abi::dtype_name(to));
  return c;
}

Case transpose_case(Rng& rng, cagr_dtype dtype, const std::vector<int64_t>& dims, const std::vector<int64_t>& perm) {
  std::vector<int64_t> out;
  for (size_t k = 0; k < dims.size(); ++k) out.push_back(dims[static_cast<size_t>(perm.empty() ? dims.size() - 1 - k : perm[k])]);
  Case c{std::string("transpose ") + abi::dtype_name(dtype) + " " + dims_label(dims) + " perm " +
             (perm.empty() ? "default" : dims_label(perm)),
         OpDesc("transpose"), {values(rng, dtype, numel(dims), dtype == F32 ? Range{} : Range{-100, 100})}};
  c.op.input(dtype, dims).output(dtype, out);
  if (!perm.empty()) c.op.attr("perm", perm);
  return c;
}

// ONNX Slice's element count on one axis: start and end counted from the end when negative, then
// clamped ([0, len] for a positive step; start to [0, len - 1], end to [-1, len - 1] for a negative one).
int64_t slice_count(int64_t len, int64_t start, int64_t end, int64_t step) {
  if (len == 0) return 0;
  if (start < 0) start += len;
  if (end < 0) end += len;
  int64_t count = 0;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, len);
    end = std::clamp<int64_t>(end, 0, len);
    for (int64_t i = start; i < end; i += step) ++count;
  } else {
    start = std::clamp<int64_t>(start, 0, len - 1);
    end = std::clamp<int64_t>(end, -1, len - 1);
    for (int64_t i = start; i > end; i += step) ++count;
  }
  return count;
}

Case slice_case(Rng& rng, cagr_dtype dtype, const std::vector<int64_t>& dims, const std::vector<int64_t>& starts,
                const std::vector<int64_t>& ends, const std::vector<int64_t>& axes, const std::vector<int64_t>& steps) {
  std::vector<int64_t> out = dims;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t a = axes.empty() ? static_cast<int64_t>(k) : axes[k];
    const size_t axis = static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(dims.size()) : a);
    out[axis] = slice_count(dims[axis], starts[k], ends[k], steps.empty() ? 1 : steps[k]);
  }
  Case c{std::string("slice ") + abi::dtype_name(dtype) + " " + dims_label(dims) + " starts " + dims_label(starts) +
             " ends " + dims_label(ends) + " axes " + dims_label(axes) + " steps " + dims_label(steps),
         OpDesc("slice"), {values(rng, dtype, numel(dims), dtype == F32 ? Range{} : Range{-100, 100})}};
  c.op.input(dtype, dims).output(dtype, out).attr("starts", starts).attr("ends", ends);
  if (!axes.empty()) c.op.attr("axes", axes);
  if (!steps.empty()) c.op.attr("steps", steps);
  return c;
}

Case expand_case(Rng& rng, cagr_dtype dtype, const std::vector<int64_t>& dims, const std::vector<int64_t>& shape) {
  Case c{std::string("expand ") + abi::dtype_name(dtype) + " " + dims_label(dims) + " to " + dims_label(shape),
         OpDesc("expand"), {values(rng, dtype, numel(dims), dtype == F32 ? Range{} : Range{-100, 100})}};
  c.op.input(dtype, dims).output(dtype, broadcast(dims, shape)).attr("shape", shape);
  return c;
}

// numpy matmul: a 1-D A is a row (its 1 dropped from the output), a 1-D B a column; batch dims broadcast.
Case matmul_case(Rng& rng, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> am = a, bm = b;
  if (a.size() == 1) am.insert(am.begin(), 1);
  if (b.size() == 1) bm.push_back(1);
  std::vector<int64_t> out = broadcast(std::vector<int64_t>(am.begin(), am.end() - 2), std::vector<int64_t>(bm.begin(), bm.end() - 2));
  if (a.size() > 1) out.push_back(am[am.size() - 2]);
  if (b.size() > 1) out.push_back(bm.back());
  Case c{"matmul A" + dims_label(a) + " B" + dims_label(b), OpDesc("matmul"), {uniform(rng, numel(a)), uniform(rng, numel(b))}};
  c.op.input(F32, a).input(F32, b).output(F32, out);
  return c;
}

Case take_case(Rng& rng, cagr_dtype dtype, const std::vector<int64_t>& data, const std::vector<int64_t>& idx,
               cagr_dtype index_dtype, int64_t axis) {
  const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(data.size()) : axis);
  std::vector<int64_t> out(data.begin(), data.begin() + static_cast<long>(a));
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), data.begin() + static_cast<long>(a) + 1, data.end());
  Case c{std::string("take ") + abi::dtype_name(dtype) + " data " + dims_label(data) + " indices " + dims_label(idx) +
             " " + abi::dtype_name(index_dtype) + " axis " + std::to_string(axis),
         OpDesc("take"),
         {values(rng, dtype, numel(data), dtype == F32 ? Range{} : Range{-100, 100}),
          wrapped_indices(rng, numel(idx), data[a], index_dtype)}};
  c.op.input(dtype, data).input(index_dtype, idx).output(dtype, out).attr("axis", axis);
  return c;
}

Case gather_elements_case(Rng& rng, cagr_dtype dtype, const std::vector<int64_t>& data, const std::vector<int64_t>& idx,
                          cagr_dtype index_dtype, int64_t axis) {
  const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(data.size()) : axis);
  Case c{std::string("gather_elements ") + abi::dtype_name(dtype) + " data " + dims_label(data) + " indices " +
             dims_label(idx) + " " + abi::dtype_name(index_dtype) + " axis " + std::to_string(axis),
         OpDesc("gather_elements"),
         {values(rng, dtype, numel(data), dtype == F32 ? Range{} : Range{-100, 100}),
          wrapped_indices(rng, numel(idx), data[a], index_dtype)}};
  c.op.input(dtype, data).input(index_dtype, idx).output(dtype, idx).attr("axis", axis);
  return c;
}

Case fixed_bag_offsets_case(Rng& rng, const std::vector<int64_t>& dims, cagr_dtype index_dtype, int64_t bag_size) {
  Case c{"fixed_bag_offsets indices " + dims_label(dims) + " " + abi::dtype_name(index_dtype) + " bag_size " +
             std::to_string(bag_size),
         OpDesc("fixed_bag_offsets"), {values(rng, index_dtype, numel(dims), {0, 1000})}};
  c.op.input(index_dtype, dims).output(I64, {numel(dims) / bag_size + 1}).attr("bag_size", bag_size);
  return c;
}

// Per-table offsets [T, B] into a [T, L] index matrix: each row starts at 0 and never decreases.
Case table_offsets_case(Rng& rng, int64_t tables, int64_t batch, int64_t row_length, cagr_dtype offset_dtype, cagr_dtype index_dtype) {
  std::vector<int64_t> offsets;
  for (int64_t t = 0; t < tables; ++t) {
    std::vector<int64_t> row{0};
    for (int64_t b = 1; b < batch; ++b) row.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(row_length + 1)));
    std::sort(row.begin(), row.end());
    offsets.insert(offsets.end(), row.begin(), row.end());
  }
  Bytes data = offset_dtype == I64 ? to_bytes(offsets) : to_bytes(std::vector<int32_t>(offsets.begin(), offsets.end()));
  Case c{"table_offsets T " + std::to_string(tables) + " B " + std::to_string(batch) + " L " + std::to_string(row_length),
         OpDesc("table_offsets"), {std::move(data), values(rng, index_dtype, tables * row_length, {0, 1000})}};
  c.op.input(offset_dtype, {tables, batch}).input(index_dtype, {tables, row_length}).output(I64, {tables * batch + 1});
  return c;
}

Case softmax_case(Rng& rng, const std::vector<int64_t>& dims, int64_t axis, bool log, float bound = 5) {
  Case c{std::string(log ? "log-softmax " : "softmax ") + dims_label(dims) + " axis " + std::to_string(axis) +
             " values +-" + std::to_string(static_cast<int>(bound)),
         OpDesc("softmax"), {uniform(rng, numel(dims), bound)}};
  c.op.input(F32, dims).output(F32, dims).attr("axis", axis);
  if (log) c.op.attr("log", int64_t{1});
  return c;
}

Case general_reduce_case(Rng& rng, const char* fn, const std::vector<int64_t>& in, const std::vector<int64_t>& axes,
                         bool keepdims) {
  std::vector<bool> reduced(in.size(), axes.empty());
  for (int64_t a : axes) reduced[static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(in.size()) : a)] = true;
  std::vector<int64_t> out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d]) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  const bool prod = std::string(fn) == "prod";  // factors of magnitude 0.5 .. 1.5, either sign
  Case c{std::string("reduce ") + fn + " " + dims_label(in) + " axes " + (axes.empty() ? "all" : dims_label(axes)) +
             (keepdims ? " keepdims" : ""),
         OpDesc("reduce"), {prod ? values(rng, F32, numel(in), {-1.5, 1.5, false, true}) : uniform(rng, numel(in))}};
  if (prod) {
    float* f = reinterpret_cast<float*>(c.inputs[0].data());
    for (int64_t i = 0; i < numel(in); ++i) f[i] = std::copysign(std::max(std::fabs(f[i]), 0.5f), f[i]);
  }
  c.op.input(F32, in).output(F32, out).attr("fn", fn).attr("keepdims", int64_t{keepdims ? 1 : 0});
  if (!axes.empty()) c.op.attr("axes", axes);
  return c;
}

// layer_norm of X over its dims from `axis` on, with `outputs` outputs (Y, Mean, InvStdDev).
Case layer_norm_case(Rng& rng, const std::vector<int64_t>& dims, int64_t axis, bool bias, int outputs,
                     double epsilon = 0, float offset = 0) {
  const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(dims.size()) : axis);
  const std::vector<int64_t> normalised(dims.begin() + static_cast<long>(a), dims.end());
  std::vector<int64_t> stats = dims;
  for (size_t d = a; d < stats.size(); ++d) stats[d] = 1;
  Case c{"layer_norm " + dims_label(dims) + " axis " + std::to_string(axis) + (bias ? " bias" : " no bias") + ", " +
             std::to_string(outputs) + " output(s)" + (epsilon > 0 ? ", epsilon " + std::to_string(epsilon) : "") +
             (offset != 0 ? ", X offset by " + std::to_string(offset) : ""),
         OpDesc("layer_norm"), {uniform(rng, numel(dims)), values(rng, F32, numel(normalised), {0.5, 1.5})}};
  float* x = reinterpret_cast<float*>(c.inputs[0].data());
  for (int64_t i = 0; i < numel(dims); ++i) x[i] += offset;
  c.op.input(F32, dims).input(F32, normalised);
  if (bias) {
    c.op.input(F32, normalised);
    c.inputs.push_back(uniform(rng, numel(normalised)));
  }
  c.op.output(F32, dims);
  for (int o = 1; o < outputs; ++o) c.op.output(F32, stats);
  c.op.attr("axis", axis);
  if (epsilon > 0) c.op.attr("epsilon", epsilon);
  return c;
}

// A table of `rows` x `dim` values stored as `dtype` (OPS.md): f32 values in -1..1, those rounded to
// f16 or bf16, or u8 rows of random codes with a scale (0.001 .. 0.02) and a bias (-1 .. 1) each.
Bytes table_values(Rng& rng, cagr_dtype dtype, int64_t rows, int64_t dim) {
  if (dtype == F32) return uniform(rng, rows * dim);
  Bytes out;
  auto put = [&out](const void* p, size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    out.insert(out.end(), b, b + n);
  };
  std::uniform_real_distribution<float> value(-1.0f, 1.0f), scale(0.001f, 0.02f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t d = 0; d < dim; ++d) {
      if (dtype == U8) {
        const auto code = static_cast<uint8_t>(draw(rng, 0, 255));
        put(&code, 1);
      } else {
        const float v = value(rng);
        const uint16_t bits = dtype == CAGR_DTYPE_F16 ? abi::f16_from_float(v) : abi::bf16_from_float(v);
        put(&bits, 2);
      }
    }
    if (dtype == U8) {
      const float row_scale = scale(rng), row_bias = value(rng);
      put(&row_scale, 4);
      put(&row_bias, 4);
    }
  }
  return out;
}

}  // namespace

Case embedding_bag_case(Rng& rng, uint64_t table_seed, const EmbeddingBagParams& p) {
  const int64_t tables = static_cast<int64_t>(p.rows.size());
  std::vector<int64_t> padding;  // constants like the tables: drawn from table_seed alone
  Rng padding_rng(table_seed + 1);
  for (int64_t t = 0; t < tables && p.padded; ++t)
    padding.push_back(t == 1 ? -1 : t == 2 ? p.rows[t] : draw(padding_rng, 0, p.rows[t] - 1));
  std::vector<int64_t> offsets = {0};
  std::vector<int64_t> indices;
  for (int64_t t = 0; t < tables; ++t) {
    for (int64_t b = 0; b < p.batch; ++b) {
      const int64_t len = draw(rng, p.min_pooling, p.max_pooling);
      for (int64_t i = 0; i < len; ++i) {
        const bool pad = p.padded && padding[t] >= 0 && draw(rng, 0, 2) == 0;
        indices.push_back(pad ? padding[t] : draw(rng, 0, p.rows[t] - 1));
      }
      offsets.push_back(static_cast<int64_t>(indices.size()));
    }
  }
  const int64_t count = static_cast<int64_t>(indices.size());
  std::string rows = "rows";
  for (int64_t r : p.rows) rows += " " + std::to_string(r);
  const char* mode = p.max ? "max" : p.mean ? "mean" : "sum";
  Case c{"embedding_bag T=" + std::to_string(tables) + " (" + rows + ") D=" + std::to_string(p.dim) + " B=" +
             std::to_string(p.batch) + " L=" + std::to_string(count) + " indices " + abi::dtype_name(p.index_dtype) +
             " offsets " + abi::dtype_name(p.offset_dtype) + " " + mode + (p.weighted ? ", weighted" : "") +
             (p.table_dtype != F32 ? std::string(", ") + abi::dtype_name(p.table_dtype) + " tables" : "") +
             (p.padded ? ", padding rows " + dims_label(padding) : ""),
         OpDesc("embedding_bag"),
         {index_values(indices, p.index_dtype), index_values(offsets, p.offset_dtype)}};
  c.op.input(p.index_dtype, {count}).input(p.offset_dtype, {static_cast<int64_t>(offsets.size())});
  Rng table_rng(table_seed);
  for (int64_t t = 0; t < tables; ++t) {
    c.op.input(p.table_dtype, {p.rows[t], p.table_dtype == U8 ? p.dim + 8 : p.dim});
    c.inputs.push_back(table_values(table_rng, p.table_dtype, p.rows[t], p.dim));
  }
  if (p.weighted) {
    c.op.input(F32, {count}).attr("weighted", int64_t{1});
    c.inputs.push_back(uniform(rng, count, 2.0f));
  }
  if (p.padded) {
    c.op.input(p.offset_dtype, {tables}).attr("padded", int64_t{1});
    c.inputs.push_back(index_values(padding, p.offset_dtype));
  }
  c.op.output(F32, {p.batch, tables, p.dim}).attr("mode", mode);
  c.optional = p.max || p.weighted || p.padded || p.table_dtype != F32;
  return c;
}

Case dlrm_embedding_case(Rng& rng, uint64_t table_seed, const DlrmEmbeddingParams& p) {
  const EmbeddingBagParams& e = p.lookup;
  Case lookup = embedding_bag_case(rng, table_seed, e);
  Case c{"dlrm_embedding_interaction of " + lookup.label + (p.self ? ", self" : "") + ", pad_to " +
             std::to_string(p.pad_to),
         OpDesc("dlrm_embedding_interaction"), {uniform(rng, e.batch * e.dim)}};
  c.op.input(F32, {e.batch, e.dim});
  for (size_t i = 0; i < lookup.inputs.size(); ++i) {  // indices, offsets, tables
    c.op.inputs().push_back(lookup.op.inputs()[i]);
    c.inputs.push_back(std::move(lookup.inputs[i]));
  }
  const int64_t tables = static_cast<int64_t>(e.rows.size());
  c.op.output(F32, {e.batch, interaction_cols(tables, e.dim, p.self, p.pad_to)});
  c.op.attr("mode", e.mean ? "mean" : "sum").attr("self_interaction", int64_t{p.self ? 1 : 0});
  if (p.pad_to != 1) c.op.attr("pad_to", p.pad_to);
  return c;
}

Case linear_case(Rng& rng, uint64_t weight_seed, const LinearParams& p) {
  Rng weight_rng(weight_seed);
  Case c{"linear M=" + std::to_string(p.m) + " K=" + std::to_string(p.k) + " N=" + std::to_string(p.n) +
             (p.bias ? " bias" : " no bias") + " activation " + p.activation,
         OpDesc("linear"), {uniform(rng, p.m * p.k), uniform(weight_rng, p.n * p.k)}};
  c.op.input(F32, {p.m, p.k}).input(F32, {p.n, p.k});
  if (p.bias) {
    c.op.input(F32, {p.n});
    c.inputs.push_back(uniform(weight_rng, p.n));
  }
  c.op.output(F32, {p.m, p.n}).attr("activation", p.activation);
  return c;
}

Case cross_layer_case(Rng& rng, uint64_t weight_seed, const CrossLayerParams& p) {
  Rng weight_rng(weight_seed);
  Case c{"cross_layer M=" + std::to_string(p.m) + " K=" + std::to_string(p.k) + " N=" + std::to_string(p.n) +
             (p.residual ? " R given" : " R = X"),
         OpDesc("cross_layer"),
         {uniform(rng, p.m * p.n), uniform(rng, p.m * p.k), uniform(weight_rng, p.n * p.k), uniform(weight_rng, p.n)}};
  c.op.input(F32, {p.m, p.n}).input(F32, {p.m, p.k}).input(F32, {p.n, p.k}).input(F32, {p.n});
  if (p.residual) {
    c.op.input(F32, {p.m, p.n});
    c.inputs.push_back(uniform(rng, p.m * p.n));
  }
  c.op.output(F32, {p.m, p.n});
  return c;
}

// W_l and b_l uniform(+-1/sqrt(K_l)), PyTorch's default: the activations then stay near 1 through
// the chain (a sigmoid is not saturated), and so does the tolerance, which grows with the sum of the
// terms' magnitudes through every layer.
Case mlp_case(Rng& rng, uint64_t weight_seed, const MlpParams& p) {
  Rng weight_rng(weight_seed);
  Case c{"mlp M=" + std::to_string(p.m) + " widths " + dims_label(p.widths) + " activations " + p.activations, OpDesc("mlp"),
         {uniform(rng, p.m * p.widths[0])}};
  c.op.input(F32, {p.m, p.widths[0]});
  for (size_t l = 0; l + 1 < p.widths.size(); ++l) {
    c.op.input(F32, {p.widths[l + 1], p.widths[l]}).input(F32, {p.widths[l + 1]});
    const float bound = 1.0f / std::sqrt(static_cast<float>(p.widths[l]));
    c.inputs.push_back(uniform(weight_rng, p.widths[l + 1] * p.widths[l], bound));
    c.inputs.push_back(uniform(weight_rng, p.widths[l + 1], bound));
  }
  c.op.output(F32, {p.m, p.widths.back()}).attr("activations", p.activations);
  return c;
}

Case gather_case(Rng& rng, uint64_t data_seed, const std::vector<int64_t>& data_dims,
                 const std::vector<int64_t>& index_dims, cagr_dtype index_dtype) {
  std::vector<int64_t> idx(static_cast<size_t>(numel(index_dims)));
  for (int64_t& i : idx) i = draw(rng, 0, data_dims[0] - 1);
  std::vector<int64_t> out = index_dims;
  out.insert(out.end(), data_dims.begin() + 1, data_dims.end());
  Rng data_rng(data_seed);
  Case c{"gather data " + dims_label(data_dims) + " indices " + dims_label(index_dims) + " " +
             abi::dtype_name(index_dtype),
         OpDesc("gather"), {uniform(data_rng, numel(data_dims)), index_values(idx, index_dtype)}};
  c.op.input(F32, data_dims).input(index_dtype, index_dims).output(F32, out);
  return c;
}

namespace {

// NaN, +Inf or -Inf at about one in `every` of input `i`'s f32 values (at least one); false where
// the input is empty.
bool poison(Case& c, size_t i, int64_t every, Rng& rng) {
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()};
  float* values = reinterpret_cast<float*>(c.inputs[i].data());
  const int64_t n = static_cast<int64_t>(c.inputs[i].size() / sizeof(float));
  if (n == 0) return false;
  for (int64_t k = 0; k < std::max<int64_t>(1, n / every); ++k) values[draw(rng, 0, n - 1)] = specials[draw(rng, 0, 2)];
  return true;
}

}  // namespace

bool with_non_finite_inputs(Case& c, Rng& rng) {
  const plugin::OpView view(&c.op.desc());
  bool poisoned = false;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (c.op.inputs()[i].dtype != CAGR_DTYPE_F32 || contract::usually_constant(view, i)) continue;
    poisoned = poison(c, i, 12, rng) || poisoned;
  }
  if (poisoned) c.label += " with NaN and Inf inputs";
  return poisoned;
}

void with_non_finite_tables(Case& c, int64_t tables, Rng& rng) {
  for (size_t t = 2; t < 2 + static_cast<size_t>(tables); ++t) poison(c, t, 6, rng);
  c.label += " with NaN and Inf in its tables";
}

Case rebatched(const Case& c, int64_t batch, Rng& rng) {
  Case r = c;
  r.label += " run with B=" + std::to_string(batch);
  for (auto& out : r.op.outputs()) out.dims[0] = batch;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    auto& in = r.op.inputs()[i];
    in.dims[0] = batch;
    r.inputs[i] = uniform(rng, numel(std::vector<int64_t>(in.dims, in.dims + in.rank)));
  }
  return r;
}

// The general tensor ops too: a plugin may refuse any of them (the core then places the node on one
// that runs it; the CPU plugin runs them all).
bool optional_op(const std::string& op_type) {
  return op_type == "dlrm_embedding_interaction" || op_type == "mlp" || op_type == "cross_layer" ||
         contract::is_tensor_op(op_type);
}

bool accumulates(const std::string& op_type) {
  return op_type == "embedding_bag" || op_type == "linear" || op_type == "mlp" || op_type == "cross_layer" ||
         op_type == "dot_interaction" ||
         op_type == "dlrm_interaction" || op_type == "dlrm_embedding_interaction" || op_type == "fm_interaction" ||
         op_type == "reduce_sum" || op_type == "matmul" || op_type == "reduce";
}

std::vector<Case> cases_for(const std::string& op, Rng& rng) {
  std::vector<Case> cases;
  const uint64_t seed = rng();
  if (op == "embedding_bag") {
    cases.push_back(embedding_bag_case(rng, seed, {{1}, 1, 1, 1, I32, I32, false}));
    cases.push_back(embedding_bag_case(rng, seed, {{17, 1000, 3}, 33, 17, 5, I64, I64, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{127, 1031}, 127, 33, 40, I32, I64, false}));
    cases.push_back(embedding_bag_case(rng, seed, {{5, 1, 64, 300}, 3, 3, 2, I64, I32, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{2000, 50}, 64, 1, 100, I32, I32, false}));
    cases.push_back(embedding_bag_case(rng, seed, {{37}, 1027, 3, 4, I64, I64, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{3, 9}, 16, 5, 0, I32, I32, true}));  // every bag empty
    // max, per-sample weights, padding rows: alone and together, odd D (scalar and vector lanes)
    // and empty bags.
    cases.push_back(embedding_bag_case(rng, seed, {{17, 1000, 3}, 33, 17, 5, I64, I64, false, 0, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{127, 1031}, 64, 33, 40, I32, I64, false, 1, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{3, 9}, 16, 5, 0, I32, I32, false, 0, true}));  // every bag empty
    cases.push_back(embedding_bag_case(rng, seed, {{17, 1000, 3}, 33, 17, 5, I32, I64, false, 0, false, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{37}, 1027, 3, 40, I64, I32, false, 0, false, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{17, 1000, 3, 5}, 33, 17, 5, I64, I64, false, 0, false, false, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{17, 1000, 3}, 8, 9, 4, I32, I32, true, 0, false, false, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{17, 1000, 3}, 7, 9, 4, I64, I32, false, 0, true, false, true}));
    cases.push_back(embedding_bag_case(rng, seed, {{127, 50, 9}, 64, 33, 40, I32, I64, false, 1, false, true, true}));
    // 16-bit and u8 row-wise tables (optional): odd D, rows and bag lengths 0..n, every pooling.
    for (cagr_dtype table : {CAGR_DTYPE_F16, CAGR_DTYPE_BF16, U8}) {
      auto with_table = [table](EmbeddingBagParams p) {
        p.table_dtype = table;
        return p;
      };
      cases.push_back(embedding_bag_case(rng, seed, with_table({{1}, 1, 1, 1, I32, I32, false})));
      cases.push_back(embedding_bag_case(rng, seed, with_table({{17, 1001, 3}, 3, 17, 5, I64, I64, false})));
      cases.push_back(embedding_bag_case(rng, seed, with_table({{127, 31}, 13, 33, 9, I32, I64, true})));
      cases.push_back(embedding_bag_case(rng, seed, with_table({{5, 1, 63, 301}, 16, 9, 40, I64, I32, false})));
      cases.push_back(embedding_bag_case(rng, seed, with_table({{37, 2001}, 17, 65, 7, I32, I32, true})));
      cases.push_back(embedding_bag_case(rng, seed, with_table({{3, 9}, 17, 5, 0, I32, I32, false})));  // every bag empty
      cases.push_back(embedding_bag_case(rng, seed, with_table({{17, 1001, 3}, 13, 17, 5, I64, I64, false, 0, true})));
      cases.push_back(embedding_bag_case(rng, seed, with_table({{17, 1001, 3}, 16, 17, 5, I32, I64, false, 0, false, true})));
      cases.push_back(embedding_bag_case(rng, seed, with_table({{17, 1001, 3, 5}, 3, 9, 5, I64, I64, false, 0, false, false, true})));
    }
  } else if (op == "linear") {
    cases.push_back(linear_case(rng, seed, {1, 1, 1, false, "none"}));
    cases.push_back(linear_case(rng, seed, {3, 17, 33, true, "relu"}));
    cases.push_back(linear_case(rng, seed, {17, 127, 3, true, "sigmoid"}));
    cases.push_back(linear_case(rng, seed, {33, 1000, 127, false, "relu"}));
    cases.push_back(linear_case(rng, seed, {127, 64, 1001, true, "none"}));
    cases.push_back(linear_case(rng, seed, {5, 3, 1, true, "sigmoid"}));
    // A short, unaligned K (a model's dense input: DLRM's 13 features) and K = 32.
    cases.push_back(linear_case(rng, seed, {515, 13, 300, true, "relu"}));
    cases.push_back(linear_case(rng, seed, {70, 32, 65, false, "none"}));
    cases.push_back(linear_case(rng, seed, {1000, 13, 512, true, "relu"}));  // DLRM's first layer, a partial row block
    // Every K rounded up to 4 that the GPU's short_k kernel is built for (4 .. 32), N not a multiple of 4.
    cases.push_back(linear_case(rng, seed, {1033, 7, 5, true, "sigmoid"}));
    cases.push_back(linear_case(rng, seed, {3, 10, 64, false, "relu"}));
    cases.push_back(linear_case(rng, seed, {77, 23, 131, true, "none"}));
    cases.push_back(linear_case(rng, seed, {200, 27, 129, true, "relu"}));
    // Narrow outputs (a ranking model's logit layer: the GPU's warp_per_row path), 16-byte rows and not.
    cases.push_back(linear_case(rng, seed, {515, 256, 1, true, "sigmoid"}));
    // More rows than a wave of warps on a 132-SM GPU (where the GPU's warp_per_row takes 4 per warp).
    cases.push_back(linear_case(rng, seed, {9001, 256, 1, true, "sigmoid"}));
    cases.push_back(linear_case(rng, seed, {8999, 37, 3, false, "relu"}));
    cases.push_back(linear_case(rng, seed, {33, 64, 8, false, "relu"}));
    cases.push_back(linear_case(rng, seed, {9, 37, 2, true, "none"}));
    // wgmma (Hopper): partial blocks of 128 / 256 rows and of 128 columns, a K tail of 4.
    cases.push_back(linear_case(rng, seed, {300, 516, 257, true, "relu"}));
    cases.push_back(linear_case(rng, seed, {131, 36, 128, false, "sigmoid"}));
  } else if (op == "cross_layer") {
    cases.push_back(cross_layer_case(rng, seed, {1, 1, 1, false}));
    cases.push_back(cross_layer_case(rng, seed, {17, 33, 33, false}));
    cases.push_back(cross_layer_case(rng, seed, {3, 5, 1, true}));
    cases.push_back(cross_layer_case(rng, seed, {65, 429, 429, false}));  // the gallery's DCN-v2 at benchmark size
    cases.push_back(cross_layer_case(rng, seed, {131, 37, 345, true}));   // low rank: K < N, odd sizes
    cases.push_back(cross_layer_case(rng, seed, {1027, 9, 13, true}));
  } else if (op == "mlp") {
    cases.push_back(mlp_case(rng, seed, {1, {1, 1}, "none"}));
    cases.push_back(mlp_case(rng, seed, {37, {13, 50, 24, 1}, "relu,relu,sigmoid"}));
    cases.push_back(mlp_case(rng, seed, {70, {368, 512, 256}, "relu,none"}));  // DLRM's top MLP after the padded interaction
    cases.push_back(mlp_case(rng, seed, {33, {20, 7}, "relu"}));  // one layer
    cases.push_back(mlp_case(rng, seed, {17, {9, 33, 5, 3}, "sigmoid,none,relu"}));
    cases.push_back(mlp_case(rng, seed, {515, {13, 512, 256, 64, 16}, "relu,relu,relu,relu"}));  // DLRM's bottom MLP
  } else if (op == "relu" || op == "sigmoid") {
    for (const auto& dims : std::vector<std::vector<int64_t>>{{1}, {3, 17}, {127, 33}, {2, 3, 1001}})
      cases.push_back(unary_case(rng, op.c_str(), dims));
    // Past where e^-x leaves the f32 range both ways (a vectorised exp clamps there).
    cases.push_back(unary_case(rng, op.c_str(), {5, 1003}, 150.0f));
  } else if (op == "add" || op == "mul") {
    cases.push_back(binary_case(rng, op.c_str(), {1}, {1}));
    cases.push_back(binary_case(rng, op.c_str(), {17, 33}, {17, 33}));
    cases.push_back(binary_case(rng, op.c_str(), {3, 5, 7}, {7}));
    cases.push_back(binary_case(rng, op.c_str(), {3, 5, 7}, {5, 7}));
    cases.push_back(binary_case(rng, op.c_str(), {127, 1000}, {1000}));
    cases.push_back(binary_case(rng, op.c_str(), {4, 3}, {}));
  } else if (op == "concat") {
    cases.push_back(concat_case(rng, {{17, 3}, {17, 1}, {17, 33}}, 1));
    cases.push_back(concat_case(rng, {{3, 5}, {1, 5}, {127, 5}}, 0));
    cases.push_back(concat_case(rng, {{2, 3, 4}, {2, 3, 1}}, -1));
    cases.push_back(concat_case(rng, {{3, 7, 5}, {3, 1, 5}, {3, 2, 5}}, 1));
    cases.push_back(concat_case(rng, {{33, 1000}}, 1));
  } else if (op == "reshape") {
    cases.push_back(reshape_case(rng, {17, 33}, {0, -1, 1}, {17, 33, 1}));
    cases.push_back(reshape_case(rng, {17, 3, 11}, {0, 33}, {17, 33}));
    cases.push_back(reshape_case(rng, {1}, {-1}, {1}));
    cases.push_back(reshape_case(rng, {127, 1000}, {-1, 8, 125}, {127, 8, 125}));
  } else if (op == "dot_interaction") {
    cases.push_back(dot_case(rng, 1, 1, 1, false));
    cases.push_back(dot_case(rng, 1, 2, 1, true));
    cases.push_back(dot_case(rng, 17, 27, 16, false));
    cases.push_back(dot_case(rng, 33, 8, 127, true));
    cases.push_back(dot_case(rng, 3, 3, 1000, false));
    // Short rows (the GPU's row_per_lane path): more features than a warp's lanes, a partial last block.
    cases.push_back(dot_case(rng, 9, 40, 32, true));
    cases.push_back(dot_case(rng, 70, 5, 4, false));
    // The GPU's tensor_core path: 32 features (its most), D = 24 (three k steps of 8).
    cases.push_back(dot_case(rng, 7, 32, 24, true));
  } else if (op == "dlrm_interaction") {
    cases.push_back(dlrm_case(rng, 1, 1, 1, false, 1));
    cases.push_back(dlrm_case(rng, 17, 26, 16, false, 4));  // the Kaggle DLRM's layer, as fused: 367 -> 368
    cases.push_back(dlrm_case(rng, 33, 7, 127, true, 1));
    cases.push_back(dlrm_case(rng, 5, 3, 12, true, 64));
    cases.push_back(dlrm_case(rng, 3, 2, 1000, false, 3));
    cases.push_back(dlrm_case(rng, 19, 33, 8, true, 4));   // 34 features: lanes take two rows
    cases.push_back(dlrm_case(rng, 6, 4, 8, false, 1));    // 18 columns: no 16-byte output rows
    cases.push_back(dlrm_case(rng, 11, 16, 32, false, 1));  // 17 features: one row in a second m-tile
  } else if (op == "dlrm_embedding_interaction") {
    std::vector<int64_t> kaggle_rows;  // 26 tables of assorted sizes, as the Kaggle DLRM's
    for (int64_t t = 0; t < 26; ++t) kaggle_rows.push_back(1 + (t * 7919) % 3000);
    cases.push_back(dlrm_embedding_case(rng, seed, {{{1}, 1, 1, 1, I32, I32, false}, false, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{17, 1000, 3}, 16, 37, 5, I64, I64, false}, false, 4}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{5, 1, 64, 300}, 8, 3, 2, I64, I32, true}, true, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{37, 9}, 6, 17, 4, I32, I64, true}, false, 1}));  // 24-byte rows
    cases.push_back(dlrm_embedding_case(rng, seed, {{{1031, 127}, 127, 9, 40, I32, I32, false}, true, 3}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{3, 9}, 16, 5, 0, I32, I32, true}, false, 64}));  // every bag empty
    cases.push_back(dlrm_embedding_case(rng, seed, {{kaggle_rows, 16, 33, 3, I64, I64, false}, false, 4}));  // 367 -> 368
    // One id per bag, as DLRM's inputs: bag k's id is indices[k], which the GPU kernel loads early.
    cases.push_back(dlrm_embedding_case(rng, seed, {{kaggle_rows, 16, 33, 1, I32, I64, false, 1}, false, 4}));
    // More of one id per bag, where the GPU loads rows with D / 4 lanes each: D = 4 with 32 features
    // (the most it takes that way), D = 8 with mean pooling, D = 32 (four rows per load); D = 24 and
    // 33 features, which it loads a lane per row.
    std::vector<int64_t> tables31 = kaggle_rows;
    for (int64_t r : {5, 1, 300, 64, 2}) tables31.push_back(r);
    std::vector<int64_t> tables32 = tables31;
    tables32.push_back(11);
    cases.push_back(dlrm_embedding_case(rng, seed, {{tables31, 4, 9, 1, I64, I64, false, 1}, false, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{7, 3000, 2}, 8, 21, 1, I32, I32, true, 1}, true, 4}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{40, 1, 9, 600, 2, 77, 3}, 32, 10, 1, I64, I32, false, 1}, false, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{{40, 9, 600, 2, 77}, 24, 12, 1, I32, I64, false, 1}, false, 1}));
    cases.push_back(dlrm_embedding_case(rng, seed, {{tables32, 16, 5, 1, I64, I64, false, 1}, false, 1}));
  } else if (op == "fm_interaction") {
    cases.push_back(fm_case(rng, 1, 1, 1));
    cases.push_back(fm_case(rng, 17, 27, 16));
    cases.push_back(fm_case(rng, 33, 39, 10));
    cases.push_back(fm_case(rng, 3, 2, 1000));
  } else if (op == "reduce_sum") {
    cases.push_back(reduce_case(rng, {17, 33}, {1}, true));
    cases.push_back(reduce_case(rng, {3, 5, 7}, {0, 2}, false));
    cases.push_back(reduce_case(rng, {127, 1000}, {0}, true));
    cases.push_back(reduce_case(rng, {2, 3, 4, 5}, {-1, 1}, true));
    cases.push_back(reduce_case(rng, {1}, {0}, false));
  } else if (op == "top_k") {
    cases.push_back(top_k_case(rng, 1, 1, 1, false, false));
    cases.push_back(top_k_case(rng, 17, 33, 5, false, false));
    cases.push_back(top_k_case(rng, 3, 1000, 127, false, false));
    cases.push_back(top_k_case(rng, 33, 127, 127, true, true));
    cases.push_back(top_k_case(rng, 5, 17, 1, true, true));
  } else if (op == "gather") {
    cases.push_back(gather_case(rng, seed, {1, 1}, {1}, I32));
    cases.push_back(gather_case(rng, seed, {1000, 33}, {17}, I64));
    cases.push_back(gather_case(rng, seed, {127, 3, 5}, {3, 4}, I32));
    cases.push_back(gather_case(rng, seed, {17, 127}, {127}, I64));
    cases.push_back(gather_case(rng, seed, {33}, {2, 2, 5}, I32));
  } else if (op == "elementwise") {
    // Every function with every dtype it takes, the shapes taken in turn from lists that broadcast
    // both ways (ranks 0 to 4, odd sizes).
    const std::vector<std::vector<int64_t>> one = {{1}, {3, 17}, {2, 3, 127}, {2, 3, 5, 33}, {1031}, {}};
    const std::vector<std::vector<std::vector<int64_t>>> two = {
        {{1}, {1}}, {{17, 33}, {17, 33}}, {{3, 1, 17}, {5, 1}}, {{1}, {127, 33}}, {{2, 3, 4, 5}, {3, 1, 5}},
        {{1000}, {}}, {{33, 1}, {1, 127}}, {{4, 1, 3, 1}, {1, 5, 1, 7}}, {{127}, {3, 1}}, {{}, {2, 17}}};
    const std::vector<std::vector<std::vector<int64_t>>> three = {
        {{17, 1}, {1, 33}, {}}, {{3, 1, 5}, {1, 4, 1}, {4, 5}}, {{1000}, {1000}, {1000}}, {{1}, {2, 3, 4, 5}, {5}}};
    size_t turn = 0;
    auto add = [&](const std::string& fn, std::initializer_list<cagr_dtype> dtypes, int arity) {
      for (cagr_dtype d : dtypes) {
        ++turn;
        if (arity == 1) cases.push_back(elementwise_case(rng, fn, d, {one[turn % one.size()]}));
        if (arity == 2) cases.push_back(elementwise_case(rng, fn, d, two[turn % two.size()]));
        if (arity == 3) cases.push_back(elementwise_case(rng, fn, d, three[turn % three.size()]));
      }
    };
    for (const char* fn : {"neg", "abs"}) add(fn, {F32, I32, I64}, 1);
    for (const char* fn : {"sqrt", "exp", "log", "tanh", "reciprocal", "floor", "ceil"}) add(fn, {F32}, 1);
    add("not", {U8}, 1);
    for (const char* fn : {"add", "sub", "mul", "div", "max", "min"}) add(fn, {F32, I32, I64}, 2);
    add("pow", {F32}, 2);
    for (const char* fn : {"equal", "less", "greater", "less_or_equal", "greater_or_equal"}) add(fn, {F32, I32, I64, U8}, 2);
    for (const char* fn : {"and", "or", "xor"}) add(fn, {U8}, 2);
    add("where", {F32, I32, I64, U8, I8, CAGR_DTYPE_F16, CAGR_DTYPE_BF16}, 3);
    cases.push_back(pow_integer_exponents_case(rng, {17, 33}, {33}));
    cases.push_back(elementwise_case(rng, "div", I32, {{127, 33}, {1}}));  // one divisor for all
    // Enough elements for the threads' row ranges (each starts its odometer mid-way), broadcast
    // both ways, as DIN's score x keys: [64, 21, 1] x [1, 21, 33].
    cases.push_back(elementwise_case(rng, "mul", F32, {{64, 21, 1}, {1, 21, 33}}));
  } else if (op == "cast") {
    const std::vector<std::vector<int64_t>> shapes = {{1}, {17, 33}, {3, 5, 127}, {1000}, {2, 3, 4, 5}, {}};
    size_t turn = 0;
    for (cagr_dtype from : {F32, I32, I64, U8, I8})
      for (cagr_dtype to : {F32, I32, I64, U8, I8}) cases.push_back(cast_case(rng, from, to, shapes[turn++ % shapes.size()]));
  } else if (op == "transpose") {
    cases.push_back(transpose_case(rng, F32, {17, 33}, {1, 0}));
    cases.push_back(transpose_case(rng, I64, {127, 5}, {}));  // default: reversed
    cases.push_back(transpose_case(rng, F32, {3, 17, 5}, {2, 0, 1}));
    cases.push_back(transpose_case(rng, U8, {2, 33, 1}, {1, 2, 0}));
    cases.push_back(transpose_case(rng, F32, {2, 3, 5, 7}, {3, 1, 0, 2}));
    cases.push_back(transpose_case(rng, I32, {1, 33, 1, 17}, {0, 3, 2, 1}));
    cases.push_back(transpose_case(rng, I8, {4, 5, 6, 7}, {0, 1, 3, 2}));
    cases.push_back(transpose_case(rng, U8, {1000, 3}, {1, 0}));
    cases.push_back(transpose_case(rng, F32, {7, 129, 41}, {1, 2, 0}));  // enough for the threads' row ranges
    cases.push_back(transpose_case(rng, F32, {2, 3, 4}, {}));
    // Two axes above the contiguous last one swapped (the tiled rows): a partial last tile, outer
    // slices before them, enough rows for the threads.
    cases.push_back(transpose_case(rng, F32, {45, 131, 16}, {1, 0, 2}));
    cases.push_back(transpose_case(rng, I64, {3, 5, 37, 2}, {0, 2, 1, 3}));
    cases.push_back(transpose_case(rng, U8, {2, 17, 20, 3}, {1, 0, 2, 3}));
    // Dims of 1 and dims the source steps over as one, merged (AutoInt's heads split).
    cases.push_back(transpose_case(rng, F32, {1, 26, 67, 3, 16}, {3, 1, 2, 0, 4}));
  } else if (op == "slice") {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
    cases.push_back(slice_case(rng, F32, {17, 33}, {2}, {-3}, {1}, {}));
    cases.push_back(slice_case(rng, F32, {1000}, {-1}, {-1001}, {}, {-1}));  // reversed, end clamped to -1
    cases.push_back(slice_case(rng, F32, {1000}, {kMax}, {kMin}, {}, {-3}));
    cases.push_back(slice_case(rng, I64, {3, 17, 33}, {0, 100, 5}, {kMax, -100, 2}, {}, {1, -3, -2}));
    cases.push_back(slice_case(rng, I32, {2, 3, 5, 7}, {1, -1}, {100, 0}, {-1, 1}, {2, -1}));
    cases.push_back(slice_case(rng, F32, {127, 5}, {5}, {2}, {0}, {}));  // nothing left
    cases.push_back(slice_case(rng, U8, {33, 17}, {-1000, 3}, {1000, 4}, {}, {}));
    cases.push_back(slice_case(rng, I8, {5, 1000}, {4, 999}, {-1000, -1000}, {}, {-2, -7}));
    cases.push_back(slice_case(rng, F32, {4, 5, 6, 7}, {1, 0, -2}, {3, 5, 1000}, {-3, 0, 3}, {1, 3, 1}));
  } else if (op == "expand") {
    cases.push_back(expand_case(rng, F32, {3, 1}, {2, 3, 17}));
    cases.push_back(expand_case(rng, I64, {1}, {1000}));
    cases.push_back(expand_case(rng, U8, {5, 1, 7}, {5, 3, 1}));  // a 1 in shape keeps X's dim
    cases.push_back(expand_case(rng, F32, {17}, {33, 1}));
    cases.push_back(expand_case(rng, I32, {2, 1, 4, 1}, {3, 1, 5}));
    cases.push_back(expand_case(rng, F32, {127}, {}));
    cases.push_back(expand_case(rng, I8, {1, 1}, {127, 33}));
    // Enough elements for the threads' row ranges: DIN's query over its history, odd sizes.
    cases.push_back(expand_case(rng, F32, {65, 1, 17}, {65, 37, 17}));
  } else if (op == "matmul") {
    cases.push_back(matmul_case(rng, {1, 1}, {1, 1}));
    cases.push_back(matmul_case(rng, {17}, {17, 33}));     // 1-D x 2-D
    cases.push_back(matmul_case(rng, {33, 127}, {127}));   // 2-D x 1-D
    cases.push_back(matmul_case(rng, {1000}, {1000}));     // 1-D x 1-D: rank 0
    cases.push_back(matmul_case(rng, {3, 17}, {17, 33}));
    cases.push_back(matmul_case(rng, {127, 1000}, {1000, 3}));
    cases.push_back(matmul_case(rng, {2, 1, 3, 17}, {5, 17, 4}));  // batch dims broadcast both ways
    cases.push_back(matmul_case(rng, {7, 3, 33}, {33, 5}));
    cases.push_back(matmul_case(rng, {67, 2, 26, 8}, {67, 2, 8, 26}));  // many small products, shared out over the threads
    cases.push_back(matmul_case(rng, {33}, {3, 33, 2}));
    cases.push_back(matmul_case(rng, {128, 26, 8}, {128, 8, 26}));  // attention heads' scores: many small products
    cases.push_back(matmul_case(rng, {4, 5, 3}, {3}));
    cases.push_back(matmul_case(rng, {3, 1, 1, 9}, {1, 2, 9, 1}));
  } else if (op == "take") {
    cases.push_back(take_case(rng, F32, {1000, 33}, {17}, I64, 0));
    cases.push_back(take_case(rng, F32, {3, 127, 5}, {2, 4}, I32, 1));
    cases.push_back(take_case(rng, I64, {17, 33}, {}, I64, -1));  // a rank-0 index
    cases.push_back(take_case(rng, F32, {33}, {3, 5, 7}, I32, 0));
    cases.push_back(take_case(rng, U8, {2, 3, 1}, {127}, I64, 2));
    cases.push_back(take_case(rng, I32, {4, 1000}, {33}, I32, -2));
    cases.push_back(take_case(rng, F32, {2, 3, 4, 5}, {3, 1}, I64, 3));
    cases.push_back(take_case(rng, F32, {1031, 10, 16}, {45}, I64, 1));  // FiBiNET's pairs: outer slices in order, threads
    cases.push_back(take_case(rng, I8, {1, 1}, {1}, I32, 0));
  } else if (op == "gather_elements") {
    cases.push_back(gather_elements_case(rng, F32, {17, 33}, {17, 5}, I64, 1));
    cases.push_back(gather_elements_case(rng, F32, {3, 5, 7}, {3, 9, 7}, I32, 1));
    cases.push_back(gather_elements_case(rng, F32, {1000}, {127}, I64, 0));
    cases.push_back(gather_elements_case(rng, I64, {2, 3, 4, 5}, {2, 2, 4, 11}, I32, -1));
    cases.push_back(gather_elements_case(rng, U8, {5, 7}, {3, 4}, I64, 0));
    cases.push_back(gather_elements_case(rng, F32, {33, 17}, {1, 17}, I32, -2));
    cases.push_back(gather_elements_case(rng, I32, {1}, {1}, I64, 0));
  } else if (op == "softmax") {
    cases.push_back(softmax_case(rng, {17, 33}, -1, false));
    cases.push_back(softmax_case(rng, {3, 17, 5}, 1, false));  // a middle axis
    cases.push_back(softmax_case(rng, {2, 3, 4, 5}, 2, true));
    cases.push_back(softmax_case(rng, {1000}, 0, false));
    cases.push_back(softmax_case(rng, {1300, 26}, -1, false));  // many short rows (attention scores), in parallel
    cases.push_back(softmax_case(rng, {127, 33}, 0, true));
    cases.push_back(softmax_case(rng, {5, 1, 3}, 1, false));  // one element: 1 (log: 0)
    cases.push_back(softmax_case(rng, {3, 33}, -1, false, 50));  // exp would overflow without the max
    cases.push_back(softmax_case(rng, {3, 1027}, -1, true, 50));
  } else if (op == "reduce") {
    cases.push_back(general_reduce_case(rng, "sum", {17, 33}, {1}, true));
    cases.push_back(general_reduce_case(rng, "mean", {3, 5, 7}, {0, 2}, false));
    cases.push_back(general_reduce_case(rng, "max", {127, 1000}, {0}, true));
    cases.push_back(general_reduce_case(rng, "min", {2, 3, 4, 5}, {-1, 1}, true));
    cases.push_back(general_reduce_case(rng, "prod", {3, 17}, {1}, false));
    cases.push_back(general_reduce_case(rng, "sum", {2, 3, 4, 5}, {}, false));  // every axis: rank 0
    cases.push_back(general_reduce_case(rng, "mean", {1000}, {}, true));
    cases.push_back(general_reduce_case(rng, "max", {5, 1, 3}, {0, 1, 2}, false));
    cases.push_back(general_reduce_case(rng, "prod", {2, 3, 4, 5}, {0, 2}, true));
    cases.push_back(general_reduce_case(rng, "min", {33, 17}, {-2}, false));
    cases.push_back(general_reduce_case(rng, "sum", {4, 5, 6, 7}, {1, 3}, false));
    cases.push_back(general_reduce_case(rng, "mean", {1, 127, 3}, {1}, true));
  } else if (op == "layer_norm") {
    cases.push_back(layer_norm_case(rng, {17, 33}, -1, true, 1));
    cases.push_back(layer_norm_case(rng, {3, 5, 127}, 1, false, 3));  // normalised over [5, 127]
    cases.push_back(layer_norm_case(rng, {1000, 7}, -1, true, 2));
    cases.push_back(layer_norm_case(rng, {2, 3, 4, 5}, -2, true, 3, 1e-3));
    cases.push_back(layer_norm_case(rng, {1, 1000}, 1, false, 1, 0, 3.0f));
    cases.push_back(layer_norm_case(rng, {127, 1}, -1, true, 3));  // one element a row: Y = bias
    cases.push_back(layer_norm_case(rng, {33}, 0, false, 3));
    cases.push_back(layer_norm_case(rng, {4, 1027}, 0, true, 2));  // the whole tensor one row
  } else if (op == "fixed_bag_offsets") {
    cases.push_back(fixed_bag_offsets_case(rng, {1}, I64, 1));
    cases.push_back(fixed_bag_offsets_case(rng, {1000}, I64, 1));  // nn.Embedding: one id a bag
    cases.push_back(fixed_bag_offsets_case(rng, {33, 4}, I32, 4));
    cases.push_back(fixed_bag_offsets_case(rng, {3, 5, 7}, I64, 35));
    cases.push_back(fixed_bag_offsets_case(rng, {127, 26}, I32, 1));
    cases.push_back(fixed_bag_offsets_case(rng, {0}, I32, 3));  // no indices: offsets {0}
  } else if (op == "table_offsets") {
    cases.push_back(table_offsets_case(rng, 1, 1, 1, I64, I64));
    cases.push_back(table_offsets_case(rng, 26, 33, 70, I64, I64));  // DLRM's lS_o / lS_i
    cases.push_back(table_offsets_case(rng, 3, 127, 1000, I32, I64));
    cases.push_back(table_offsets_case(rng, 5, 17, 0, I64, I32));  // every bag empty
  }
  return cases;
}

}  // namespace cagr::conformance

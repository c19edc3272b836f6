// tensor_ops.cpp - the reference of the general tensor ops (abi/tensor_ops.hpp), one plain loop nest
// per op, as ONNX's operator pages define them (https://onnx.ai/onnx/operators/). Element
// addresses come from the contract's sizes (strides, offsets); sums and statistics are kept in
// double. Choices where ONNX leaves the result undefined are written next to the code:
// - integer add, sub, mul, neg and abs wrap around (two's complement), as numpy's do;
// - integer div truncates toward zero (C++ `/`, ONNX Div on ints); a zero divisor, or the lowest
//   value divided by -1, throws (abi/OPS.md: INVALID_ARGUMENT);
// - max and min of f32 give NaN where either operand is NaN (numpy's maximum / minimum);
// - cast f32 -> integer truncates toward zero and saturates: NaN gives 0, values beyond the
//   target's range give its lowest or highest value (ONNX: undefined); integer -> narrower integer
//   keeps the low bits (two's complement, as C++20 and numpy); integer -> f32 rounds to nearest.
#include "reference_tensor_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace cagr::reference {

using namespace contract;

namespace {

// Row-major walk over the coordinates of a shape, one flat index after the other.
class Walk {
 public:
  explicit Walk(const std::vector<int64_t>& dims) : dims_(dims), coord_(dims.size(), 0) {}
  const std::vector<int64_t>& coord() const { return coord_; }
  void next() {
    for (size_t d = dims_.size(); d-- > 0;) {
      if (++coord_[d] < dims_[d]) return;
      coord_[d] = 0;
    }
  }
  // sum_k coord[k] * strides[k]: the element this coordinate addresses in a strided tensor.
  int64_t dot(const std::vector<int64_t>& strides) const {
    int64_t at = 0;
    for (size_t k = 0; k < coord_.size(); ++k) at += coord_[k] * strides[k];
    return at;
  }

 private:
  const std::vector<int64_t>& dims_;
  std::vector<int64_t> coord_;
};

std::string coord_text(const std::vector<int64_t>& c) { return dims_string(c); }

int64_t read_index(const void* data, cagr_dtype dtype, int64_t i) {
  return dtype == CAGR_DTYPE_I32 ? static_cast<const int32_t*>(data)[i] : static_cast<const int64_t*>(data)[i];
}

// An index of an axis of `len` entries, negative counting from the end once: [-len, len) is valid.
int64_t wrap_index(int64_t index, int64_t len, const std::string& op, int64_t position, const std::string& where) {
  if (index < -len || index >= len)
    throw std::invalid_argument(op + ": index " + std::to_string(index) + " at position " + std::to_string(position) +
                                where + " is out of range for an axis of length " + std::to_string(len) +
                                " (valid: -" + std::to_string(len) + " .. " + std::to_string(len - 1) + ")");
  return index < 0 ? index + len : index;
}

// Calls f(T{}) with T the C++ type of `dtype` (the dtypes of arithmetic and cast).
template <class F>
void with_type(cagr_dtype dtype, F&& f) {
  switch (dtype) {
    case CAGR_DTYPE_F32: return f(float{});
    case CAGR_DTYPE_I32: return f(int32_t{});
    case CAGR_DTYPE_I64: return f(int64_t{});
    case CAGR_DTYPE_U8: return f(uint8_t{});
    case CAGR_DTYPE_I8: return f(int8_t{});
    default: break;
  }
  throw std::invalid_argument(std::string("reference: no arithmetic on dtype ") + plugin::dtype_name(dtype));
}

// ---- elementwise ------------------------------------------------------------------------------

// Integer arithmetic that wraps around instead of overflowing (signed overflow is undefined in C++).
template <class T>
T wrapping(T a, T b, char op) {
  using U = std::make_unsigned_t<T>;
  const U ua = static_cast<U>(a), ub = static_cast<U>(b);
  const U r = op == '+' ? static_cast<U>(ua + ub) : op == '-' ? static_cast<U>(ua - ub) : static_cast<U>(ua * ub);
  return static_cast<T>(r);
}

template <class T>
T unary_value(ElementwiseFn fn, T x) {
  using F = ElementwiseFn;
  if constexpr (std::is_same_v<T, float>) {
    const double d = x;
    switch (fn) {
      case F::neg: return -x;
      case F::abs: return std::fabs(x);
      case F::sqrt: return static_cast<float>(std::sqrt(d));
      case F::exp: return static_cast<float>(std::exp(d));
      case F::log: return static_cast<float>(std::log(d));
      case F::tanh: return static_cast<float>(std::tanh(d));
      case F::reciprocal: return static_cast<float>(1.0 / d);
      case F::floor: return std::floor(x);
      case F::ceil: return std::ceil(x);
      default: break;
    }
  } else if constexpr (std::is_signed_v<T>) {
    switch (fn) {
      case F::neg: return wrapping<T>(0, x, '-');
      case F::abs: return x < 0 ? wrapping<T>(0, x, '-') : x;
      default: break;
    }
  }
  throw std::logic_error("elementwise: no such unary function for this dtype");
}

template <class T>
T binary_value(ElementwiseFn fn, T a, T b, int64_t position) {
  using F = ElementwiseFn;
  if constexpr (std::is_same_v<T, float>) {
    switch (fn) {
      case F::add: return a + b;  // one IEEE f32 operation each: correctly rounded
      case F::sub: return a - b;
      case F::mul: return a * b;
      case F::div: return a / b;
      case F::pow: return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b)));
      case F::max: return std::isnan(a) || std::isnan(b) ? std::numeric_limits<float>::quiet_NaN() : (a > b ? a : b);
      case F::min: return std::isnan(a) || std::isnan(b) ? std::numeric_limits<float>::quiet_NaN() : (a < b ? a : b);
      default: break;
    }
  } else if constexpr (std::is_signed_v<T>) {
    switch (fn) {
      case F::add: return wrapping(a, b, '+');
      case F::sub: return wrapping(a, b, '-');
      case F::mul: return wrapping(a, b, '*');
      case F::div:
        if (b == 0)
          throw std::invalid_argument("elementwise div: integer division by zero at output position " +
                                      std::to_string(position));
        if (b == -1 && a == std::numeric_limits<T>::lowest())  // the quotient does not fit (OPS.md: an error)
          throw std::invalid_argument("elementwise div: integer overflow, " + std::to_string(a) +
                                      " / -1 at output position " + std::to_string(position));
        return static_cast<T>(a / b);  // truncates toward zero
      case F::max: return a > b ? a : b;
      case F::min: return a < b ? a : b;
      default: break;
    }
  }
  throw std::logic_error("elementwise: no such binary function for this dtype");
}

template <class T>
bool compare(ElementwiseFn fn, T a, T b) {
  using F = ElementwiseFn;
  switch (fn) {
    case F::equal: return a == b;
    case F::less: return a < b;
    case F::greater: return a > b;
    case F::less_or_equal: return a <= b;
    case F::greater_or_equal: return a >= b;
    default: break;
  }
  throw std::logic_error("elementwise: not a comparison");
}

bool is_compare(ElementwiseFn fn) { return fn >= ElementwiseFn::equal && fn <= ElementwiseFn::greater_or_equal; }
bool is_logical(ElementwiseFn fn) {
  return fn == ElementwiseFn::logical_not || fn == ElementwiseFn::logical_and || fn == ElementwiseFn::logical_or ||
         fn == ElementwiseFn::logical_xor;
}

}  // namespace

void elementwise(const Elementwise& e, const void* const* in, void* const* out) {
  using F = ElementwiseFn;
  const size_t arity = e.strides.size();
  Walk walk(e.out_dims);
  std::vector<int64_t> at(arity);  // the element of each input that output element i reads
  auto locate = [&] {
    for (size_t k = 0; k < arity; ++k) at[k] = walk.dot(e.strides[k]);
  };

  if (e.fn == F::where) {  // condition (u8) picks x (input 1) or y (input 2); any value dtype, as bytes
    const auto* cond = static_cast<const uint8_t*>(in[0]);
    const size_t size = plugin::dtype_size(e.dtype);
    auto* y = static_cast<std::byte*>(out[0]);
    for (int64_t i = 0; i < e.numel; ++i, walk.next()) {
      locate();
      const size_t pick = cond[at[0]] != 0 ? 1 : 2;
      std::memcpy(y + i * size, static_cast<const std::byte*>(in[pick]) + at[pick] * size, size);
    }
    return;
  }
  if (is_logical(e.fn)) {  // u8 booleans: any non-zero byte is true; results are 0 or 1
    const auto* a = static_cast<const uint8_t*>(in[0]);
    const auto* b = arity > 1 ? static_cast<const uint8_t*>(in[1]) : nullptr;
    auto* y = static_cast<uint8_t*>(out[0]);
    for (int64_t i = 0; i < e.numel; ++i, walk.next()) {
      locate();
      const bool x = a[at[0]] != 0;
      const bool z = b != nullptr && b[at[1]] != 0;
      bool r = false;
      switch (e.fn) {
        case F::logical_not: r = !x; break;
        case F::logical_and: r = x && z; break;
        case F::logical_or: r = x || z; break;
        default: r = x != z; break;  // xor
      }
      y[i] = r ? 1 : 0;
    }
    return;
  }
  with_type(e.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* a = static_cast<const T*>(in[0]);
    const T* b = arity > 1 ? static_cast<const T*>(in[1]) : nullptr;
    for (int64_t i = 0; i < e.numel; ++i, walk.next()) {
      locate();
      if (is_compare(e.fn)) {
        static_cast<uint8_t*>(out[0])[i] = compare(e.fn, a[at[0]], b[at[1]]) ? 1 : 0;
      } else if constexpr (!std::is_same_v<T, uint8_t> && !std::is_same_v<T, int8_t>) {  // the contract's dtypes
        T* y = static_cast<T*>(out[0]);
        y[i] = arity == 1 ? unary_value(e.fn, a[at[0]]) : binary_value(e.fn, a[at[0]], b[at[1]], i);
      } else {
        throw std::logic_error("elementwise: arithmetic on a byte dtype");
      }
    }
  });
}

// ---- cast -------------------------------------------------------------------------------------

namespace {

template <class To, class From>
To convert(From x) {
  if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(x)) return 0;
    const double t = std::trunc(static_cast<double>(x));
    const double lowest = static_cast<double>(std::numeric_limits<To>::lowest());  // exact: -2^(bits-1) or 0
    const double past_max = static_cast<double>(std::numeric_limits<To>::max()) + 1.0;  // 2^(bits-1) or 2^bits
    if (t < lowest) return std::numeric_limits<To>::lowest();
    if (t >= past_max) return std::numeric_limits<To>::max();
    return static_cast<To>(t);
  } else {
    return static_cast<To>(x);  // int -> int: low bits; int -> f32: nearest; f32 -> f32: the value
  }
}

}  // namespace

void cast(const Cast& c, const void* const* in, void* const* out) {
  with_type(c.from, [&](auto from_zero) {
    using From = decltype(from_zero);
    with_type(c.to, [&](auto to_zero) {
      using To = decltype(to_zero);
      const From* x = static_cast<const From*>(in[0]);
      To* y = static_cast<To*>(out[0]);
      for (int64_t i = 0; i < c.numel; ++i) y[i] = convert<To>(x[i]);
    });
  });
}

// ---- transpose, slice, expand -----------------------------------------------------------------

void strided_copy(const StridedCopy& s, const void* const* in, void* const* out) {
  const auto* x = static_cast<const std::byte*>(in[0]);
  auto* y = static_cast<std::byte*>(out[0]);
  Walk walk(s.out_dims);
  for (int64_t i = 0; i < s.numel; ++i, walk.next()) {
    const int64_t from = s.offset + walk.dot(s.strides);
    std::memcpy(y + i * s.elem_size, x + from * static_cast<int64_t>(s.elem_size), s.elem_size);
  }
}

// ---- matmul -----------------------------------------------------------------------------------

void matmul(const MatMul& m, const void* const* in, void* const* out) {
  const float* a_all = static_cast<const float*>(in[0]);
  const float* b_all = static_cast<const float*>(in[1]);
  float* y = static_cast<float*>(out[0]);
  for (size_t batch = 0; batch < m.a_offsets.size(); ++batch) {
    const float* a = a_all + m.a_offsets[batch];
    const float* b = b_all + m.b_offsets[batch];
    float* c = y + static_cast<int64_t>(batch) * m.m * m.n;
    for (int64_t i = 0; i < m.m; ++i) {
      for (int64_t j = 0; j < m.n; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < m.k; ++k) acc += static_cast<double>(a[i * m.k + k]) * b[k * m.n + j];
        c[i * m.n + j] = static_cast<float>(acc);
      }
    }
  }
}

// ---- take, gather_elements --------------------------------------------------------------------

void take(const Take& t, const void* const* in, void* const* out) {
  const auto* data = static_cast<const std::byte*>(in[0]);
  auto* y = static_cast<std::byte*>(out[0]);
  const size_t row = static_cast<size_t>(t.inner) * t.elem_size;  // bytes of one [inner] block
  std::vector<int64_t> picked(static_cast<size_t>(t.count));
  for (int64_t j = 0; j < t.count; ++j) picked[j] = wrap_index(read_index(in[1], t.index_dtype, j), t.axis_len, "take", j, "");
  for (int64_t o = 0; o < t.outer; ++o) {
    for (int64_t j = 0; j < t.count; ++j) {
      const std::byte* from = data + ((o * t.axis_len + picked[j]) * t.inner) * static_cast<int64_t>(t.elem_size);
      if (row > 0) std::memcpy(y + ((o * t.count + j) * t.inner) * static_cast<int64_t>(t.elem_size), from, row);
    }
  }
}

void gather_elements(const GatherElements& g, const void* const* in, void* const* out) {
  const auto* data = static_cast<const std::byte*>(in[0]);
  auto* y = static_cast<std::byte*>(out[0]);
  const size_t rank = g.data_dims.size();
  std::vector<int64_t> data_strides(rank, 1);  // data is dense row-major
  for (size_t d = rank; d-- > 1;) data_strides[d - 1] = data_strides[d] * g.data_dims[d];
  const size_t axis = static_cast<size_t>(g.axis);
  int64_t numel = 1;
  for (int64_t d : g.index_dims) numel *= d;
  Walk walk(g.index_dims);
  for (int64_t p = 0; p < numel; ++p, walk.next()) {
    const int64_t index = wrap_index(read_index(in[1], g.index_dtype, p), g.data_dims[axis], "gather_elements", p,
                                     " (coordinates " + coord_text(walk.coord()) + ", axis " + std::to_string(axis) + ")");
    const int64_t from = walk.dot(data_strides) - walk.coord()[axis] * data_strides[axis] + index * data_strides[axis];
    std::memcpy(y + p * static_cast<int64_t>(g.elem_size), data + from * static_cast<int64_t>(g.elem_size), g.elem_size);
  }
}

// ---- softmax ----------------------------------------------------------------------------------

// softmax(x)_j = exp(x_j - max) / sum_k exp(x_k - max); log: (x_j - max) - log(sum_k exp(x_k - max)).
void softmax(const Softmax& s, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  float* y = static_cast<float*>(out[0]);
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t r = 0; r < s.inner; ++r) {
      auto at = [&](int64_t j) { return (o * s.n + j) * s.inner + r; };
      double max = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < s.n; ++j) max = std::max(max, static_cast<double>(x[at(j)]));
      double sum = 0;
      for (int64_t j = 0; j < s.n; ++j) sum += std::exp(x[at(j)] - max);
      for (int64_t j = 0; j < s.n; ++j) {
        const double shifted = x[at(j)] - max;
        y[at(j)] = static_cast<float>(s.log ? shifted - std::log(sum) : std::exp(shifted) / sum);
      }
    }
  }
}

// ---- reduce -----------------------------------------------------------------------------------

void reduce(const Reduce& r, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  const size_t rank = r.dims.size();
  int64_t numel = 1, out_numel = 1, count = 1;  // count: elements per output (product of reduced dims)
  for (size_t d = 0; d < rank; ++d) {
    numel *= r.dims[d];
    (r.reduced[d] ? count : out_numel) *= r.dims[d];
  }
  double start = 0;
  if (r.fn == ReduceFn::prod) start = 1;
  if (r.fn == ReduceFn::max) start = -std::numeric_limits<double>::infinity();
  if (r.fn == ReduceFn::min) start = std::numeric_limits<double>::infinity();
  std::vector<double> acc(static_cast<size_t>(out_numel), start);
  Walk walk(r.dims);
  for (int64_t i = 0; i < numel; ++i, walk.next()) {
    int64_t o = 0;  // row-major over the kept dims (keepdims' 1s change no position)
    for (size_t d = 0; d < rank; ++d)
      if (!r.reduced[d]) o = o * r.dims[d] + walk.coord()[d];
    const double v = x[i];
    double& a = acc[static_cast<size_t>(o)];
    switch (r.fn) {
      case ReduceFn::sum: case ReduceFn::mean: a += v; break;
      case ReduceFn::prod: a *= v; break;
      case ReduceFn::max: if (std::isnan(v) || v > a) a = v; break;  // NaN, once seen, stays
      case ReduceFn::min: if (std::isnan(v) || v < a) a = v; break;
    }
  }
  float* y = static_cast<float*>(out[0]);
  for (int64_t o = 0; o < out_numel; ++o)
    y[o] = static_cast<float>(r.fn == ReduceFn::mean ? acc[o] / static_cast<double>(count) : acc[o]);
}

// ---- layer_norm -------------------------------------------------------------------------------

// ONNX LayerNormalization over each row of n: Mean = mean(x), Var = mean((x - Mean)^2),
// InvStdDev = 1 / sqrt(Var + epsilon), Y = (x - Mean) * InvStdDev * scale + bias.
void layer_norm(const LayerNorm& l, const void* const* in, void* const* out) {
  const float* x = static_cast<const float*>(in[0]);
  const float* scale = static_cast<const float*>(in[1]);
  const float* bias = l.has_bias ? static_cast<const float*>(in[2]) : nullptr;
  float* y = static_cast<float*>(out[0]);
  float* mean_out = l.outputs >= 2 ? static_cast<float*>(out[1]) : nullptr;
  float* inv_std_out = l.outputs >= 3 ? static_cast<float*>(out[2]) : nullptr;
  for (int64_t o = 0; o < l.outer; ++o) {
    const float* row = x + o * l.n;
    double mean = 0;
    for (int64_t j = 0; j < l.n; ++j) mean += row[j];
    mean /= static_cast<double>(l.n);
    double var = 0;
    for (int64_t j = 0; j < l.n; ++j) var += (row[j] - mean) * (row[j] - mean);
    var /= static_cast<double>(l.n);
    const double inv_std = 1.0 / std::sqrt(var + l.epsilon);
    for (int64_t j = 0; j < l.n; ++j)
      y[o * l.n + j] = static_cast<float>((row[j] - mean) * inv_std * scale[j] + (bias ? bias[j] : 0.0));
    if (mean_out) mean_out[o] = static_cast<float>(mean);
    if (inv_std_out) inv_std_out[o] = static_cast<float>(inv_std);
  }
}

// ---- fixed_bag_offsets ------------------------------------------------------------------------

// 0, bag_size, 2 bag_size, .., n: the offsets of `bags` bags of bag_size consecutive indices (the
// indices' values are not read).
void fixed_bag_offsets(const BagOffsets& b, const void* const* /*in*/, void* const* out) {
  int64_t* offsets = static_cast<int64_t*>(out[0]);
  for (int64_t i = 0; i <= b.bags; ++i) offsets[i] = i * b.bag_size;
}

// ---- table_offsets ----------------------------------------------------------------------------

// offsets[t, b] + t * L for every table t and bag b, then T * L; a table whose first offset is not
// 0, or an offset outside 0..L, is refused (OPS.md).
void table_offsets(const TableOffsets& t, const void* const* in, void* const* out) {
  int64_t* y = static_cast<int64_t*>(out[0]);
  for (int64_t row = 0; row < t.tables; ++row) {
    for (int64_t b = 0; b < t.batch; ++b) {
      const int64_t i = row * t.batch + b;
      const int64_t offset = read_index(in[0], t.offset_dtype, i);
      if (offset < 0 || offset > t.row_length || (b == 0 && offset != 0))
        throw std::invalid_argument("table_offsets: offset " + std::to_string(offset) + " at position " + std::to_string(i) +
                                    " is out of range for a row of " + std::to_string(t.row_length) + " indices");
      y[i] = offset + row * t.row_length;
    }
  }
  y[t.tables * t.batch] = t.tables * t.row_length;
}

}  // namespace cagr::reference

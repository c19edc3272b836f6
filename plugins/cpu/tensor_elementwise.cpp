// tensor_elementwise.cpp - the general element-wise op (abi/OPS.md "elementwise": numpy
// broadcasting, ONNX's functions) and cast. Rows of the output's last dim are the unit of work: each
// input is read along the row with its own stride (1, or 0 where it is broadcast).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu_kernel.hpp"
#include "parallel_loop.hpp"
#include "row_odometer.hpp"

namespace cagr::cpu {
namespace {

using contract::Cast;
using contract::Elementwise;
using Fn = contract::ElementwiseFn;

// Calls body(first, inner, offsets) for every row of the output, offsets[i] being input i's first
// element of that row.
template <class Body>
void for_each_row(const Elementwise& e, Body body) {
  const int64_t inner = e.out_dims.empty() ? 1 : e.out_dims.back();
  if (inner == 0 || e.numel == 0) return;
  std::vector<const std::vector<int64_t>*> strides;
  for (const auto& s : e.strides) strides.push_back(&s);
  const int64_t start[3] = {0, 0, 0};
  cpu::for_each_row(e.out_dims, e.numel / inner, strides, start, e.numel >= kParallelThreshold,
                    [&](int64_t row, const int64_t* offsets) { body(row * inner, inner, offsets); });
}

int64_t inner_stride(const Elementwise& e, size_t input) { return e.out_dims.empty() ? 0 : e.strides[input].back(); }

template <class In, class Out, class F>
void map1(const Elementwise& e, const void* const* in, void* const* out, F f) {
  const In* a = static_cast<const In*>(in[0]);
  Out* y = static_cast<Out*>(out[0]);
  const int64_t sa = inner_stride(e, 0);
  for_each_row(e, [&](int64_t first, int64_t n, const int64_t* o) {
    for (int64_t j = 0; j < n; ++j) y[first + j] = f(a[o[0] + j * sa]);
  });
}

template <class In, class Out, class F>
void map2(const Elementwise& e, const void* const* in, void* const* out, F f) {
  const In* a = static_cast<const In*>(in[0]);
  const In* b = static_cast<const In*>(in[1]);
  Out* y = static_cast<Out*>(out[0]);
  const int64_t sa = inner_stride(e, 0), sb = inner_stride(e, 1);
  // Each input's stride along a row is 1 or 0 (broadcast): as compile-time constants the loop
  // vectorises.
  auto rows_with = [&](auto stride_a, auto stride_b) {
    for_each_row(e, [&](int64_t first, int64_t n, const int64_t* o) {
      for (int64_t j = 0; j < n; ++j) y[first + j] = f(a[o[0] + j * stride_a], b[o[1] + j * stride_b]);
    });
  };
  using One = std::integral_constant<int64_t, 1>;
  using Zero = std::integral_constant<int64_t, 0>;
  if (sa == 1 && sb == 1) return rows_with(One{}, One{});
  if (sa == 1 && sb == 0) return rows_with(One{}, Zero{});
  if (sa == 0 && sb == 1) return rows_with(Zero{}, One{});
  rows_with(sa, sb);
}

template <class T>
void where(const Elementwise& e, const void* const* in, void* const* out) {
  const uint8_t* c = static_cast<const uint8_t*>(in[0]);
  const T* x = static_cast<const T*>(in[1]);
  const T* z = static_cast<const T*>(in[2]);
  T* y = static_cast<T*>(out[0]);
  const int64_t sc = inner_stride(e, 0), sx = inner_stride(e, 1), sz = inner_stride(e, 2);
  for_each_row(e, [&](int64_t first, int64_t n, const int64_t* o) {
    for (int64_t j = 0; j < n; ++j) y[first + j] = c[o[0] + j * sc] ? x[o[1] + j * sx] : z[o[2] + j * sz];
  });
}

// Integer division: by zero, or the one quotient that overflows, has no value (C++ would trap).
template <class T>
void check_integer_divisors(const Elementwise& e, const void* const* in) {
  const T* a = static_cast<const T*>(in[0]);
  const T* b = static_cast<const T*>(in[1]);
  const int64_t sa = inner_stride(e, 0), sb = inner_stride(e, 1);
  std::atomic<bool> bad{false};
  for_each_row(e, [&](int64_t, int64_t n, const int64_t* o) {
    for (int64_t j = 0; j < n; ++j) {
      const T d = b[o[1] + j * sb];
      if (d == 0 || (d == -1 && a[o[0] + j * sa] == std::numeric_limits<T>::min())) bad.store(true, std::memory_order_relaxed);
    }
  });
  if (bad) plugin::invalid("elementwise: integer div by zero (or of the smallest value by -1), which has no value");
}

// Integer +, -, * wrap around (two's complement), as ONNX runtimes do; computed unsigned, where
// wrapping is defined.
template <class T, class Op>
T wrapped(T a, T b, Op op) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(op(static_cast<U>(a), static_cast<U>(b))));
  } else {
    return op(a, b);
  }
}

// max / min: NaN if either operand is NaN (ONNX's Max and Min propagate it).
template <class T>
T pick(T a, T b, bool larger) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return (larger ? a > b : a < b) ? a : b;
}

template <class T>
void arithmetic(const Elementwise& e, const void* const* in, void* const* out) {
  switch (e.fn) {
    case Fn::neg: return map1<T, T>(e, in, out, [](T a) { return wrapped<T>(0, a, std::minus<>()); });
    case Fn::abs: return map1<T, T>(e, in, out, [](T a) { return a < 0 ? wrapped<T>(0, a, std::minus<>()) : a; });
    case Fn::add: return map2<T, T>(e, in, out, [](T a, T b) { return wrapped<T>(a, b, std::plus<>()); });
    case Fn::sub: return map2<T, T>(e, in, out, [](T a, T b) { return wrapped<T>(a, b, std::minus<>()); });
    case Fn::mul: return map2<T, T>(e, in, out, [](T a, T b) { return wrapped<T>(a, b, std::multiplies<>()); });
    case Fn::div:
      if constexpr (std::is_integral_v<T>) check_integer_divisors<T>(e, in);
      return map2<T, T>(e, in, out, [](T a, T b) { return static_cast<T>(a / b); });
    case Fn::max: return map2<T, T>(e, in, out, [](T a, T b) { return pick(a, b, true); });
    case Fn::min: return map2<T, T>(e, in, out, [](T a, T b) { return pick(a, b, false); });
    default: break;
  }
  plugin::invalid("elementwise: function not defined for this dtype");
}

template <class T>
void compare(const Elementwise& e, const void* const* in, void* const* out) {
  switch (e.fn) {
    case Fn::equal: return map2<T, uint8_t>(e, in, out, [](T a, T b) { return static_cast<uint8_t>(a == b); });
    case Fn::less: return map2<T, uint8_t>(e, in, out, [](T a, T b) { return static_cast<uint8_t>(a < b); });
    case Fn::greater: return map2<T, uint8_t>(e, in, out, [](T a, T b) { return static_cast<uint8_t>(a > b); });
    case Fn::less_or_equal: return map2<T, uint8_t>(e, in, out, [](T a, T b) { return static_cast<uint8_t>(a <= b); });
    case Fn::greater_or_equal: return map2<T, uint8_t>(e, in, out, [](T a, T b) { return static_cast<uint8_t>(a >= b); });
    default: break;
  }
  plugin::invalid("elementwise: not a comparison");
}

void floating(const Elementwise& e, const void* const* in, void* const* out) {
  switch (e.fn) {
    case Fn::sqrt: return map1<float, float>(e, in, out, [](float a) { return std::sqrt(a); });
    case Fn::exp: return map1<float, float>(e, in, out, [](float a) { return std::exp(a); });
    case Fn::log: return map1<float, float>(e, in, out, [](float a) { return std::log(a); });
    case Fn::tanh: return map1<float, float>(e, in, out, [](float a) { return std::tanh(a); });
    case Fn::reciprocal: return map1<float, float>(e, in, out, [](float a) { return 1.0f / a; });
    case Fn::floor: return map1<float, float>(e, in, out, [](float a) { return std::floor(a); });
    case Fn::ceil: return map1<float, float>(e, in, out, [](float a) { return std::ceil(a); });
    case Fn::pow: return map2<float, float>(e, in, out, [](float a, float b) { return std::pow(a, b); });
    default: return arithmetic<float>(e, in, out);
  }
}

void logical(const Elementwise& e, const void* const* in, void* const* out) {
  auto truth = [](uint8_t v) { return v != 0; };
  switch (e.fn) {
    case Fn::logical_not: return map1<uint8_t, uint8_t>(e, in, out, [&](uint8_t a) { return static_cast<uint8_t>(!truth(a)); });
    case Fn::logical_and: return map2<uint8_t, uint8_t>(e, in, out, [&](uint8_t a, uint8_t b) { return static_cast<uint8_t>(truth(a) && truth(b)); });
    case Fn::logical_or: return map2<uint8_t, uint8_t>(e, in, out, [&](uint8_t a, uint8_t b) { return static_cast<uint8_t>(truth(a) || truth(b)); });
    case Fn::logical_xor: return map2<uint8_t, uint8_t>(e, in, out, [&](uint8_t a, uint8_t b) { return static_cast<uint8_t>(truth(a) != truth(b)); });
    default: return compare<uint8_t>(e, in, out);
  }
}

template <class T>
void typed(const Elementwise& e, const void* const* in, void* const* out) {
  if (e.fn >= Fn::equal && e.fn <= Fn::greater_or_equal) return compare<T>(e, in, out);
  if constexpr (std::is_same_v<T, float>) return floating(e, in, out);
  else return arithmetic<T>(e, in, out);
}

void elementwise(const Elementwise& e, const void* const* in, void* const* out) {
  if (e.fn == Fn::where) {
    switch (e.dtype) {
      case CAGR_DTYPE_I64: return where<uint64_t>(e, in, out);
      case CAGR_DTYPE_F32: case CAGR_DTYPE_I32: return where<uint32_t>(e, in, out);
      case CAGR_DTYPE_F16: case CAGR_DTYPE_BF16: return where<uint16_t>(e, in, out);
      default: return where<uint8_t>(e, in, out);
    }
  }
  switch (e.dtype) {
    case CAGR_DTYPE_F32: return typed<float>(e, in, out);
    case CAGR_DTYPE_I32: return typed<int32_t>(e, in, out);
    case CAGR_DTYPE_I64: return typed<int64_t>(e, in, out);
    default: return logical(e, in, out);
  }
}

// Float to integer: truncated toward zero, saturated at the type's range, NaN to 0 (ONNX leaves
// these undefined; C++'s conversion would be undefined behaviour).
template <class To>
To float_to_int(float v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<float>(std::numeric_limits<To>::min())) return std::numeric_limits<To>::min();
  if (v >= static_cast<float>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
  return static_cast<To>(v);
}

// A block of elements, in a function with restrict pointers so that the loop vectorises.
template <class From, class To>
void convert_block(const From* __restrict x, To* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) y[i] = float_to_int<To>(x[i]);
    else y[i] = static_cast<To>(x[i]);
  }
}

template <class From, class To>
void convert(const Cast& c, const void* in, void* out) {
  constexpr int64_t kBlock = 4096;
  const From* x = static_cast<const From*>(in);
  To* y = static_cast<To*>(out);
  parallel_for((c.numel + kBlock - 1) / kBlock, c.numel >= kParallelThreshold, [&](int64_t b) {
    convert_block(x + b * kBlock, y + b * kBlock, std::min(kBlock, c.numel - b * kBlock));
  });
}

template <class From>
void convert_from(const Cast& c, const void* in, void* out) {
  switch (c.to) {
    case CAGR_DTYPE_F32: return convert<From, float>(c, in, out);
    case CAGR_DTYPE_I32: return convert<From, int32_t>(c, in, out);
    case CAGR_DTYPE_I64: return convert<From, int64_t>(c, in, out);
    case CAGR_DTYPE_U8: return convert<From, uint8_t>(c, in, out);
    default: return convert<From, int8_t>(c, in, out);
  }
}

void cast(const Cast& c, const void* const* in, void* const* out) {
  switch (c.from) {
    case CAGR_DTYPE_F32: return convert_from<float>(c, in[0], out[0]);
    case CAGR_DTYPE_I32: return convert_from<int32_t>(c, in[0], out[0]);
    case CAGR_DTYPE_I64: return convert_from<int64_t>(c, in[0], out[0]);
    case CAGR_DTYPE_U8: return convert_from<uint8_t>(c, in[0], out[0]);
    default: return convert_from<int8_t>(c, in[0], out[0]);
  }
}

Cost elementwise_cost(const contract::Checked& shapes) {
  const auto& e = std::get<Elementwise>(shapes);
  return Cost{static_cast<double>(e.numel), 4.0 * static_cast<double>(e.numel) * static_cast<double>(e.strides.size() + 1)};
}

Cost cast_cost(const contract::Checked& shapes) {
  const auto& c = std::get<Cast>(shapes);
  return Cost{0, 12.0 * static_cast<double>(c.numel)};
}

}  // namespace

OpImpl elementwise_impl() { return OpImpl{{{"omp_rows", true, FunctionKernel<Elementwise, elementwise>::create}}, elementwise_cost}; }
OpImpl cast_impl() { return OpImpl{{{"omp_loop", true, FunctionKernel<Cast, cast>::create}}, cast_cost}; }

}  // namespace cagr::cpu

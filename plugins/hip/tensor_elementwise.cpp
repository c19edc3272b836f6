// elementwise (OPS.md's general tensor op, ONNX semantics) on f32: neg, abs, sqrt, exp, log, tanh,
// reciprocal, floor, ceil, add, sub, mul, div, pow, max, min, and the comparisons (u8 output); and
// where, whose values are copied as bits of any dtype. Operands broadcast numpy's way: each reads
// through the contract's strides (0 where broadcast), merged first (tensor_op.hpp), so that operands
// of the output's shape cost no division. Integer and u8 (logical) functions are refused by
// variants() with the reason; the CPU plugin runs them.
#include <variant>

#include "gpu_check.hpp"
#include "launch.hpp"
#include "tensor_op.hpp"

namespace cagr::gpu {
namespace {

using contract::ElementwiseFn;

bool is_compare(ElementwiseFn fn) { return fn >= ElementwiseFn::equal && fn <= ElementwiseFn::greater_or_equal; }

// The functions as the reference computes them (reference/tensor_ops.cpp): the CUDA / HIP math
// library's f32 functions (a few ulp at most, within OPS.md's 1e-5), max and min NaN where either
// operand is NaN (numpy's maximum / minimum).
__device__ __forceinline__ float unary_f32(ElementwiseFn fn, float x) {
  using F = ElementwiseFn;
  switch (fn) {
    case F::neg: return -x;
    case F::abs: return fabsf(x);
    case F::sqrt: return sqrtf(x);
    case F::exp: return expf(x);
    case F::log: return logf(x);
    case F::tanh: return tanhf(x);
    case F::reciprocal: return 1.0f / x;
    case F::floor: return floorf(x);
    case F::ceil: return ceilf(x);
    default: return x;  // not reached: variants() takes only the functions above
  }
}

__device__ __forceinline__ float binary_f32(ElementwiseFn fn, float a, float b) {
  using F = ElementwiseFn;
  const bool nan = a != a || b != b;
  switch (fn) {
    case F::add: return a + b;
    case F::sub: return a - b;
    case F::mul: return a * b;
    case F::div: return a / b;
    case F::pow: return powf(a, b);
    case F::max: return nan ? __int_as_float(0x7fc00000) : (a > b ? a : b);
    case F::min: return nan ? __int_as_float(0x7fc00000) : (a < b ? a : b);
    default: return a;  // not reached
  }
}

__device__ __forceinline__ bool compare_f32(ElementwiseFn fn, float a, float b) {
  using F = ElementwiseFn;
  switch (fn) {
    case F::equal: return a == b;
    case F::less: return a < b;
    case F::greater: return a > b;
    case F::less_or_equal: return a <= b;
    case F::greater_or_equal: return a >= b;
    default: return false;  // not reached
  }
}

template <class Index>
__global__ void unary_f32_kernel(StridedWalk<Index, 1> walk, ElementwiseFn fn, const float* x, float* y, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    Index at[1];
    walk.locate(Index(i), at);
    y[i] = unary_f32(fn, x[at[0]]);
  }
}

template <class Index>
__global__ void binary_f32_kernel(StridedWalk<Index, 2> walk, ElementwiseFn fn, const float* a, const float* b, float* y,
                                  int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    Index at[2];
    walk.locate(Index(i), at);
    y[i] = binary_f32(fn, a[at[0]], b[at[1]]);
  }
}

template <class Index>
__global__ void compare_f32_kernel(StridedWalk<Index, 2> walk, ElementwiseFn fn, const float* a, const float* b,
                                   uint8_t* y, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    Index at[2];
    walk.locate(Index(i), at);
    y[i] = compare_f32(fn, a[at[0]], b[at[1]]) ? 1 : 0;
  }
}

// where(condition, x, y): a non-zero condition byte picks x.
template <class Index, class T>
__global__ void where_kernel(StridedWalk<Index, 3> walk, const uint8_t* condition, const T* x, const T* y, T* out,
                             int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    Index at[3];
    walk.locate(Index(i), at);
    out[i] = condition[at[0]] != 0 ? x[at[1]] : y[at[2]];
  }
}

class ElementwiseKernel : public TensorOpKernel {
 public:
  using TensorOpKernel::TensorOpKernel;
  void run(const RunTensors& t) override {
    const auto e = std::get<contract::Elementwise>(check_run(t));
    if (e.numel == 0) return;
    const MergedWalk walk(e.out_dims, e.strides, std::vector<int64_t>(e.strides.size(), 0));
    const unsigned blocks = blocks_for(e.numel);
    const auto* a = static_cast<const float*>(t.inputs[0]);
    const auto* b = e.strides.size() > 1 ? static_cast<const float*>(t.inputs[1]) : nullptr;
    if (e.fn == ElementwiseFn::where) {
      with_element_bits(plugin::dtype_size(e.dtype), type(), [&](auto zero) {
        using T = decltype(zero);
        walk.dispatch<3>([&](auto w) {
          using Index = typename decltype(w)::index_type;
          where_kernel<Index, T><<<blocks, kBlockThreads, 0, t.stream>>>(
              w, static_cast<const uint8_t*>(t.inputs[0]), static_cast<const T*>(t.inputs[1]),
              static_cast<const T*>(t.inputs[2]), static_cast<T*>(t.outputs[0]), e.numel);
        });
      });
      check_launch("where_kernel");
    } else if (e.strides.size() == 1) {
      walk.dispatch<1>([&](auto w) {
        using Index = typename decltype(w)::index_type;
        unary_f32_kernel<Index><<<blocks, kBlockThreads, 0, t.stream>>>(w, e.fn, a, static_cast<float*>(t.outputs[0]), e.numel);
      });
      check_launch("unary_f32_kernel");
    } else if (is_compare(e.fn)) {
      walk.dispatch<2>([&](auto w) {
        using Index = typename decltype(w)::index_type;
        compare_f32_kernel<Index><<<blocks, kBlockThreads, 0, t.stream>>>(w, e.fn, a, b, static_cast<uint8_t*>(t.outputs[0]),
                                                                          e.numel);
      });
      check_launch("compare_f32_kernel");
    } else {
      walk.dispatch<2>([&](auto w) {
        using Index = typename decltype(w)::index_type;
        binary_f32_kernel<Index><<<blocks, kBlockThreads, 0, t.stream>>>(w, e.fn, a, b, static_cast<float*>(t.outputs[0]), e.numel);
      });
      check_launch("binary_f32_kernel");
    }
  }
};

class ElementwiseOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    const auto e = std::get<contract::Elementwise>(contract::check(op));
    if (e.fn != ElementwiseFn::where && e.dtype != CAGR_DTYPE_F32)
      plugin::unsupported("elementwise: fn '" + op.attr_string("fn", "") + "' on " + plugin::dtype_name(e.dtype) +
                          " has no GPU kernel (this plugin runs elementwise on f32, and where on any dtype)");
    double bytes = double(e.numel) * double(plugin::dtype_size(e.out_dtype));
    for (size_t i = 0; i < op.num_inputs(); ++i) bytes += double(op.input(i).bytes());
    return {{{"strided_elementwise", double(e.numel), bytes}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    if (setup.variant != 0) plugin::invalid("elementwise: variant " + std::to_string(setup.variant) + " does not exist");
    return std::make_unique<ElementwiseKernel>(setup.op);
  }
};

}  // namespace

const GpuOp& elementwise_op() {
  static const ElementwiseOp op;
  return op;
}

}  // namespace cagr::gpu

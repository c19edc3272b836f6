// tensor_op.hpp - what the GPU kernels of OPS.md's general tensor ops share (tensor_copy.cpp,
// tensor_elementwise.cpp):
// - any dim of these ops may change between kernel_create and kernel_run, so a kernel keeps the op
//   description it was made from (its attributes) and checks each run's shapes through the
//   contract (abi/op_contract.hpp), as the CPU plugin does; only the dtypes are fixed;
// - a strided walk: the element of each operand that an output element reads, from the output's
//   flat index, with the dims merged first (dims of 1 dropped, neighbours that every operand walks
//   in step joined), so that a dense operand costs no division and most walks are 1-D or 2-D.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "gpu_op.hpp"
#include "op_contract.hpp"
#include "owned_op_desc.hpp"

namespace cagr::gpu {

// A general tensor op's kernel.
class TensorOpKernel : public GpuKernel {
 public:
  explicit TensorOpKernel(const OpView& op) : op_(abi::OwnedOpDesc::copy_of(op.desc())) {}

 protected:
  const std::string& type() const { return op_.type(); }

  // The contract's sizes at this run's shapes (throws INVALID_ARGUMENT naming what is wrong). The
  // dtypes must be kernel_create's; every dim may differ (OPS.md).
  contract::Checked check_run(const RunTensors& t) const {
    abi::OwnedOpDesc run = op_;
    if (t.input_shapes.size() != run.inputs().size() || t.output_shapes.size() != run.outputs().size())
      plugin::invalid(type() + ": kernel_run got another number of inputs or outputs than kernel_create");
    auto substitute = [&](cagr_tensor_desc& created, const Shape& now, const std::string& what) {
      if (now.dtype != created.dtype)
        plugin::invalid(type() + ": " + what + " is " + plugin::dtype_name(now.dtype) + " at run, " +
                        plugin::dtype_name(created.dtype) + " at kernel_create");
      created = abi::tensor_desc(now.dtype, now.dims);
    };
    for (size_t i = 0; i < t.input_shapes.size(); ++i) substitute(run.inputs()[i], t.input_shapes[i], "input " + std::to_string(i));
    for (size_t o = 0; o < t.output_shapes.size(); ++o) substitute(run.outputs()[o], t.output_shapes[o], "output " + std::to_string(o));
    return contract::check(OpView(&run.desc()));
  }

 private:
  abi::OwnedOpDesc op_;
};

// The element each of N operands reads at an output's flat index: operand n's element is
// offset[n] + sum_d coord_d * strides[n][d] (strides may be 0 or negative). Dims innermost first.
// Index is int32_t where every flat index and every partial address fits (MergedWalk::fits_32).
template <class Index, int N>
struct StridedWalk {
  using index_type = Index;
  int rank = 0;
  Index dims[CAGR_MAX_RANK] = {};
  Index strides[N][CAGR_MAX_RANK] = {};
  Index offset[N] = {};

  __host__ __device__ __forceinline__ void locate(Index flat, Index (&at)[N]) const {
#pragma unroll
    for (int n = 0; n < N; ++n) at[n] = offset[n];
#pragma unroll
    for (int d = 0; d < CAGR_MAX_RANK; ++d) {
      if (d >= rank) break;
      Index c = flat;  // the outermost coordinate is what is left: no division
      if (d + 1 < rank) {
        const Index q = flat / dims[d];
        c = flat - q * dims[d];
        flat = q;
      }
#pragma unroll
      for (int n = 0; n < N; ++n) at[n] += c * strides[n][d];
    }
  }
};

// A walk over an output of `out_dims` (row-major), merged on the host.
struct MergedWalk {
  std::vector<int64_t> dims;                  // innermost first
  std::vector<std::vector<int64_t>> strides;  // per operand, innermost first
  std::vector<int64_t> offsets;               // per operand
  int64_t numel = 1;

  // strides[n][k]: operand n's element stride along output dim k (row-major order, as the
  // contract gives them).
  MergedWalk(const std::vector<int64_t>& out_dims, const std::vector<std::vector<int64_t>>& operand_strides,
             std::vector<int64_t> operand_offsets)
      : strides(operand_strides.size()), offsets(std::move(operand_offsets)) {
    for (int64_t d : out_dims) numel *= d;
    for (size_t k = out_dims.size(); k-- > 0;) {
      if (out_dims[k] == 1) continue;  // its coordinate is always 0
      bool joins = !dims.empty();      // dim k walks as an outer extension of the current innermost run
      for (size_t n = 0; joins && n < strides.size(); ++n)
        joins = operand_strides[n][k] == strides[n].back() * dims.back();
      if (joins) {
        dims.back() *= out_dims[k];
        continue;
      }
      dims.push_back(out_dims[k]);
      for (size_t n = 0; n < strides.size(); ++n) strides[n].push_back(operand_strides[n][k]);
    }
  }

  int rank() const { return static_cast<int>(dims.size()); }

  // Whether int32_t holds every flat index and every partial sum of every operand's address.
  bool fits_32() const {
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    if (numel > kMax) return false;
    for (size_t n = 0; n < strides.size(); ++n) {
      int64_t reach = std::llabs(offsets[n]);
      for (size_t d = 0; d < dims.size(); ++d) reach += (dims[d] - 1) * std::llabs(strides[n][d]);
      if (reach > kMax) return false;
    }
    return true;
  }

  // Calls launch(walk) with the walk in int32_t where it fits, else in int64_t.
  template <int N, class Launch>
  void dispatch(Launch&& launch) const {
    if (fits_32()) launch(get<int32_t, N>());
    else launch(get<int64_t, N>());
  }

  template <class Index, int N>
  StridedWalk<Index, N> get() const {
    if (strides.size() != N || dims.size() > CAGR_MAX_RANK) plugin::invalid("strided walk: operand count or rank out of range");
    StridedWalk<Index, N> w;
    w.rank = rank();
    for (size_t d = 0; d < dims.size(); ++d) {
      w.dims[d] = static_cast<Index>(dims[d]);
      for (int n = 0; n < N; ++n) w.strides[n][d] = static_cast<Index>(strides[n][d]);
    }
    for (int n = 0; n < N; ++n) w.offset[n] = static_cast<Index>(offsets[n]);
    return w;
  }
};

// Calls f(T{}) with T an unsigned integer of `bytes` bytes: elements copied as bits, whatever their dtype.
template <class F>
void with_element_bits(size_t bytes, const std::string& op, F&& f) {
  switch (bytes) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: plugin::invalid(op + ": elements of " + std::to_string(bytes) + " bytes");
  }
}

}  // namespace cagr::gpu

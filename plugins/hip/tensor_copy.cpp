// The general tensor ops of OPS.md that move data without arithmetic: transpose, slice and expand
// (one strided copy), take (ONNX Gather along any axis), and embedding_bag's offsets computed on the
// device (fixed_bag_offsets, table_offsets), so that an imported model's lookup inputs stay on the
// GPU. Every kernel is a grid-stride loop, one thread per output element, with 32-bit index math
// where the sizes allow it; every shape is checked again at each run (tensor_op.hpp).
#include <algorithm>
#include <limits>
#include <variant>

#include "device_error.hpp"
#include "gpu_check.hpp"
#include "launch.hpp"
#include "tensor_op.hpp"

namespace cagr::gpu {
namespace {

// ---- transpose, slice, expand -----------------------------------------------------------------

template <class Index, class T>
__global__ void strided_copy_kernel(StridedWalk<Index, 1> walk, const T* __restrict__ x, T* __restrict__ y, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    Index at[1];
    walk.locate(Index(i), at);
    y[i] = x[at[0]];
  }
}

// out[c] = in[offset + sum_k c_k * strides[k]] (contract::StridedCopy).
void strided_copy(const contract::StridedCopy& s, const std::string& op, const void* in, void* out, hipStream_t stream) {
  if (s.numel == 0) return;
  const MergedWalk walk(s.out_dims, {s.strides}, {s.offset});
  if (walk.rank() == 0 || (walk.rank() == 1 && walk.strides[0][0] == 1)) {  // one dense run: a plain copy
    const void* from = static_cast<const char*>(in) + s.offset * static_cast<int64_t>(s.elem_size);
    if (from != out)
      check(hipMemcpyAsync(out, from, static_cast<size_t>(s.numel) * s.elem_size, hipMemcpyDeviceToDevice, stream),
            "strided copy (dense)");
    return;
  }
  with_element_bits(s.elem_size, op, [&](auto zero) {
    using T = decltype(zero);
    const auto* x = static_cast<const T*>(in);
    auto* y = static_cast<T*>(out);
    walk.dispatch<1>([&](auto w) {
      using Index = typename decltype(w)::index_type;
      strided_copy_kernel<Index, T><<<blocks_for(s.numel), kBlockThreads, 0, stream>>>(w, x, y, s.numel);
    });
    check_launch("strided_copy_kernel");
  });
}

class StridedCopyKernel : public TensorOpKernel {
 public:
  using TensorOpKernel::TensorOpKernel;
  void run(const RunTensors& t) override {
    const auto s = std::get<contract::StridedCopy>(check_run(t));
    strided_copy(s, type(), t.inputs[0], t.outputs[0], t.stream);
  }
};

// transpose, slice, expand: the contract reduces each to a StridedCopy.
class StridedCopyOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    const auto s = std::get<contract::StridedCopy>(contract::check(op));
    const double out_bytes = double(s.numel) * double(s.elem_size);
    return {{{"strided_copy", 0, out_bytes + std::min(out_bytes, double(op.input(0).bytes()))}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    if (setup.variant != 0) plugin::invalid(setup.op.type() + ": variant " + std::to_string(setup.variant) + " does not exist");
    return std::make_unique<StridedCopyKernel>(setup.op);
  }
};

// ---- take -------------------------------------------------------------------------------------

// out[o, j, r] = data[o, wrap(indices[j]), r]: data is [outer, axis_len, inner], out [outer, count, inner].
// An index outside [-axis_len, axis_len) is reported (by the thread of o = 0, r = 0) and gives zeros.
template <class Index, class T>
__global__ void take_kernel(const T* __restrict__ data, IndexInput indices, T* __restrict__ out, int64_t total,
                            Index count, Index axis_len, Index inner, DeviceErrorRecord* error) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const Index flat = Index(i);
    const Index q = flat / inner;
    const Index r = flat - q * inner;
    const Index o = q / count;
    const Index j = q - o * count;
    const int64_t value = indices[j];
    const int64_t k = value < 0 ? value + axis_len : value;
    if (k < 0 || k >= axis_len) {
      if (o == 0 && r == 0)
        report_device_error(error, ErrorOp::take, ErrorKind::index_out_of_range, 0, j, value, axis_len);
      out[i] = T(0);
      continue;
    }
    out[i] = data[(o * axis_len + Index(k)) * inner + r];
  }
}

// take's index check alone, for an output without elements (outer or inner 0) whose indices must
// still be valid (OPS.md; the reference checks them all).
__global__ void check_take_indices_kernel(IndexInput indices, int64_t count, int64_t axis_len, DeviceErrorRecord* error) {
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < count; j += int64_t(gridDim.x) * blockDim.x) {
    const int64_t value = indices[j];
    if (value < -axis_len || value >= axis_len)
      report_device_error(error, ErrorOp::take, ErrorKind::index_out_of_range, 0, j, value, axis_len);
  }
}

class TakeKernel : public TensorOpKernel {
 public:
  TakeKernel(const OpView& op, DeviceState& device) : TensorOpKernel(op), device_(device) {}
  void run(const RunTensors& t) override {
    const auto s = std::get<contract::Take>(check_run(t));
    const IndexInput indices{t.inputs[1], s.index_dtype == CAGR_DTYPE_I64};
    DeviceErrorRecord* error = device_.error_record_for_kernels();
    const int64_t total = s.outer * s.count * s.inner;
    if (total == 0) {
      if (s.count == 0) return;
      check_take_indices_kernel<<<blocks_for(s.count), kBlockThreads, 0, t.stream>>>(indices, s.count, s.axis_len, error);
      check_launch("check_take_indices_kernel");
      return;
    }
    const bool fits_32 = total <= std::numeric_limits<int32_t>::max() &&
                         s.outer * s.axis_len * s.inner <= std::numeric_limits<int32_t>::max();
    with_element_bits(s.elem_size, type(), [&](auto zero) {
      using T = decltype(zero);
      const auto* data = static_cast<const T*>(t.inputs[0]);
      auto* out = static_cast<T*>(t.outputs[0]);
      if (fits_32)
        take_kernel<int32_t, T><<<blocks_for(total), kBlockThreads, 0, t.stream>>>(
            data, indices, out, total, int32_t(s.count), int32_t(s.axis_len), int32_t(s.inner), error);
      else
        take_kernel<int64_t, T><<<blocks_for(total), kBlockThreads, 0, t.stream>>>(data, indices, out, total, s.count,
                                                                                    s.axis_len, s.inner, error);
      check_launch("take_kernel");
    });
  }

 private:
  DeviceState& device_;
};

class TakeOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    const auto s = std::get<contract::Take>(contract::check(op));
    const double out_bytes = double(s.outer) * double(s.count) * double(s.inner) * double(s.elem_size);
    return {{{"thread_per_element", 0, 2.0 * out_bytes + double(op.input(1).bytes())}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    if (setup.variant != 0) plugin::invalid("take: variant " + std::to_string(setup.variant) + " does not exist");
    return std::make_unique<TakeKernel>(setup.op, setup.device);
  }
};

// ---- fixed_bag_offsets ------------------------------------------------------------------------

// 0, bag_size, 2 bag_size, .., bags * bag_size: the indices' values are not read.
__global__ void fixed_bag_offsets_kernel(int64_t* __restrict__ offsets, int64_t count, int64_t bag_size) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    offsets[i] = i * bag_size;
}

class BagOffsetsKernel : public TensorOpKernel {
 public:
  using TensorOpKernel::TensorOpKernel;
  void run(const RunTensors& t) override {
    const auto b = std::get<contract::BagOffsets>(check_run(t));
    const int64_t count = b.bags + 1;
    fixed_bag_offsets_kernel<<<blocks_for(count), kBlockThreads, 0, t.stream>>>(static_cast<int64_t*>(t.outputs[0]), count,
                                                                                 b.bag_size);
    check_launch("fixed_bag_offsets_kernel");
  }
};

class BagOffsetsOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    const auto b = std::get<contract::BagOffsets>(contract::check(op));
    return {{{"thread_per_offset", 0, 8.0 * double(b.bags + 1)}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    if (setup.variant != 0) plugin::invalid("fixed_bag_offsets: variant " + std::to_string(setup.variant) + " does not exist");
    return std::make_unique<BagOffsetsKernel>(setup.op);
  }
};

// ---- table_offsets ----------------------------------------------------------------------------

// out[t * B + b] = offsets[t, b] + t * L for the `count` = T * B bag offsets, then out[count] = T * L.
// A table's first offset must be 0 and every offset lie in [0, L] (OPS.md); a bad one is reported
// with its table, flat position and value, and gives 0.
template <class Index>
__global__ void table_offsets_kernel(IndexInput offsets, int64_t* __restrict__ out, Index count, Index batch,
                                     int64_t row_length, int64_t total_indices, DeviceErrorRecord* error) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i <= count; i += int64_t(gridDim.x) * blockDim.x) {
    const Index flat = Index(i);
    if (flat == count) {
      out[i] = total_indices;
      continue;
    }
    const Index table = flat / batch;
    const Index bag = flat - table * batch;
    const int64_t value = offsets[flat];
    if (value < 0 || value > row_length) {
      report_device_error(error, ErrorOp::table_offsets, ErrorKind::offset_out_of_range, int(table), flat, value, row_length);
      out[i] = 0;
    } else if (bag == 0 && value != 0) {
      report_device_error(error, ErrorOp::table_offsets, ErrorKind::first_offset_not_zero, int(table), flat, value, 0);
      out[i] = 0;
    } else {
      out[i] = value + int64_t(table) * row_length;
    }
  }
}

class TableOffsetsKernel : public TensorOpKernel {
 public:
  TableOffsetsKernel(const OpView& op, DeviceState& device) : TensorOpKernel(op), device_(device) {}
  void run(const RunTensors& t) override {
    const auto s = std::get<contract::TableOffsets>(check_run(t));
    const IndexInput offsets{t.inputs[0], s.offset_dtype == CAGR_DTYPE_I64};
    auto* out = static_cast<int64_t*>(t.outputs[0]);
    const int64_t count = s.tables * s.batch;
    const int64_t total_indices = s.tables * s.row_length;
    DeviceErrorRecord* error = device_.error_record_for_kernels();
    if (count < std::numeric_limits<int32_t>::max())  // count + 1 threads' indices fit
      table_offsets_kernel<int32_t><<<blocks_for(count + 1), kBlockThreads, 0, t.stream>>>(
          offsets, out, int32_t(count), int32_t(s.batch), s.row_length, total_indices, error);
    else
      table_offsets_kernel<int64_t><<<blocks_for(count + 1), kBlockThreads, 0, t.stream>>>(
          offsets, out, count, s.batch, s.row_length, total_indices, error);
    check_launch("table_offsets_kernel");
  }

 private:
  DeviceState& device_;
};

class TableOffsetsOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    const auto s = std::get<contract::TableOffsets>(contract::check(op));
    return {{{"thread_per_offset", 0, double(op.input(0).bytes()) + 8.0 * double(s.tables * s.batch + 1)}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    if (setup.variant != 0) plugin::invalid("table_offsets: variant " + std::to_string(setup.variant) + " does not exist");
    return std::make_unique<TableOffsetsKernel>(setup.op, setup.device);
  }
};

}  // namespace

const GpuOp& strided_copy_op() {
  static const StridedCopyOp op;
  return op;
}
const GpuOp& take_op() {
  static const TakeOp op;
  return op;
}
const GpuOp& fixed_bag_offsets_op() {
  static const BagOffsetsOp op;
  return op;
}
const GpuOp& table_offsets_op() {
  static const TableOffsetsOp op;
  return op;
}

}  // namespace cagr::gpu

// concat, reshape, gather (OPS.md): data movement only.
#include "device_error.hpp"
#include "gpu_check.hpp"
#include "gpu_op.hpp"
#include "launch.hpp"

namespace cagr::gpu {
namespace {

void require_f32(const Shape& s, const std::string& what) {
  if (s.dtype != CAGR_DTYPE_F32) plugin::invalid(what + " must be f32, not " + plugin::dtype_name(s.dtype));
}

// ---- concat ---------------------------------------------------------------------------------

// Copies an [outer, inner] block into columns [offset, offset + inner) of an [outer, out_inner] one.
// Index is uint32_t whenever the block fits: a 64-bit division per element costs several times a
// 32-bit one and made this copy instruction-bound.
template <class Index>
__global__ void copy_columns_kernel(const float* src, float* dst, Index outer, Index inner, Index out_inner, Index offset) {
  const Index count = outer * inner;
  for (Index i = blockIdx.x * Index(blockDim.x) + threadIdx.x; i < count; i += Index(gridDim.x) * blockDim.x)
    dst[int64_t(i / inner) * out_inner + offset + i % inner] = src[i];
}

struct ConcatLayout {
  int64_t outer = 1;
  std::vector<int64_t> inner;  // per input: elements per outer step
  int64_t out_inner = 0;

  ConcatLayout(const std::vector<Shape>& in, const std::vector<Shape>& out, int64_t axis_attr) {
    if (in.empty() || out.size() != 1) plugin::invalid("concat: takes at least one input and one output");
    const int rank = in[0].rank();
    const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
    if (axis < 0 || axis >= rank) plugin::invalid("concat: axis " + std::to_string(axis_attr) + " out of range for rank " + std::to_string(rank));
    std::vector<int64_t> expected = in[0].dims;
    expected[axis] = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      require_f32(in[i], "concat: input " + std::to_string(i));
      if (in[i].rank() != rank) plugin::invalid("concat: input " + std::to_string(i) + " has another rank");
      for (int d = 0; d < rank; ++d)
        if (d != axis && in[i].dims[d] != in[0].dims[d])
          plugin::invalid("concat: input " + std::to_string(i) + " differs from input 0 in dimension " + std::to_string(d));
      expected[axis] += in[i].dims[axis];
    }
    require_f32(out[0], "concat: output");
    if (out[0].dims != expected) plugin::invalid("concat: output shape is not the inputs stacked along the axis");
    for (int64_t d = 0; d < axis; ++d) outer *= in[0].dims[d];
    for (const Shape& s : in) {
      int64_t n = 1;
      for (int d = static_cast<int>(axis); d < rank; ++d) n *= s.dims[d];
      inner.push_back(n);
      out_inner += n;
    }
  }
};

class ConcatKernel : public GpuKernel {
 public:
  explicit ConcatKernel(int64_t axis) : axis_(axis) {}
  void run(const RunTensors& t) override {
    const ConcatLayout layout(t.input_shapes, t.output_shapes, axis_);
    int64_t offset = 0;
    for (size_t i = 0; i < t.inputs.size(); ++i) {
      const int64_t count = layout.outer * layout.inner[i];
      const auto* src = static_cast<const float*>(t.inputs[i]);
      auto* dst = static_cast<float*>(t.outputs[0]);
      if (count > 0 && layout.outer * layout.out_inner < (int64_t(1) << 32)) {
        copy_columns_kernel<uint32_t><<<blocks_for(count), kBlockThreads, 0, t.stream>>>(
            src, dst, uint32_t(layout.outer), uint32_t(layout.inner[i]), uint32_t(layout.out_inner), uint32_t(offset));
      } else if (count > 0) {
        copy_columns_kernel<int64_t><<<blocks_for(count), kBlockThreads, 0, t.stream>>>(
            src, dst, layout.outer, layout.inner[i], layout.out_inner, offset);
      }
      if (count > 0) check_launch("copy_columns_kernel");
      offset += layout.inner[i];
    }
  }

 private:
  int64_t axis_;
};

class ConcatOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    ConcatLayout(input_shapes(op), output_shapes(op), op.attr_int("axis", 1));
    return {{{"copy_columns", 0, 2.0 * double(op.output(0).bytes())}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    return std::make_unique<ConcatKernel>(setup.op.attr_int("axis", 1));
  }
};

// ---- reshape --------------------------------------------------------------------------------

void check_reshape(const Shape& in, const Shape& out, const std::vector<int64_t>& target) {
  if (out.dtype != in.dtype) plugin::invalid("reshape: output dtype differs from the input's");
  if (static_cast<int>(target.size()) != out.rank()) plugin::invalid("reshape: output rank differs from the shape attribute");
  int inferred = -1;
  int64_t known = 1;
  std::vector<int64_t> dims(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (inferred >= 0) plugin::invalid("reshape: more than one -1 in shape");
      inferred = static_cast<int>(i);
      continue;
    }
    if (target[i] == 0 && static_cast<int>(i) >= in.rank()) plugin::invalid("reshape: 0 at a position the input lacks");
    dims[i] = target[i] == 0 ? in.dims[i] : target[i];
    if (dims[i] < 0) plugin::invalid("reshape: negative dimension in shape");
    known *= dims[i];
  }
  if (inferred >= 0) {
    if (known == 0 || in.numel() % known != 0) plugin::invalid("reshape: cannot infer the -1 dimension");
    dims[inferred] = in.numel() / known;
  }
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  if (count != in.numel()) plugin::invalid("reshape: shape has another element count than the input");
  if (dims != out.dims) plugin::invalid("reshape: output shape differs from the one the shape attribute gives");
}

class ReshapeKernel : public GpuKernel {
 public:
  explicit ReshapeKernel(std::vector<int64_t> target) : target_(std::move(target)) {}
  void run(const RunTensors& t) override {
    check_reshape(t.input_shapes[0], t.output_shapes[0], target_);
    const size_t bytes = t.input_shapes[0].bytes();
    if (bytes > 0 && t.outputs[0] != t.inputs[0])
      check(hipMemcpyAsync(t.outputs[0], t.inputs[0], bytes, hipMemcpyDeviceToDevice, t.stream), "reshape copy");
  }

 private:
  std::vector<int64_t> target_;
};

class ReshapeOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    if (op.num_inputs() != 1 || op.num_outputs() != 1) plugin::invalid("reshape: takes one input and one output");
    if (!op.has_attr("shape")) plugin::invalid("reshape: attribute 'shape' is required");
    check_reshape(op.input(0), op.output(0), op.attr_ints("shape", {}));
    return {{{"copy", 0, 2.0 * double(op.input(0).bytes())}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    return std::make_unique<ReshapeKernel>(setup.op.attr_ints("shape", {}));
  }
};

// ---- gather ---------------------------------------------------------------------------------

__global__ void gather_kernel(const float* data, IndexInput indices, float* rows, int64_t count, int64_t row_size,
                              int64_t num_rows, DeviceErrorRecord* error) {
  const int64_t total = count * row_size;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t position = i / row_size;
    const int64_t row = indices[position];
    if (row < 0 || row >= num_rows) {
      if (i % row_size == 0)
        report_device_error(error, ErrorOp::gather, ErrorKind::index_out_of_range, 0, position, row, num_rows);
      rows[i] = 0.f;
      continue;
    }
    rows[i] = data[row * row_size + i % row_size];
  }
}

struct GatherShape {
  int64_t count, row_size, num_rows;
  GatherShape(const std::vector<Shape>& in, const std::vector<Shape>& out) {
    if (in.size() != 2 || out.size() != 1) plugin::invalid("gather: takes data, indices and one output");
    require_f32(in[0], "gather: data");
    if (in[0].rank() < 1) plugin::invalid("gather: data must have at least one dimension");
    if (!is_index_dtype(in[1].dtype)) plugin::invalid("gather: indices must be i32 or i64");
    std::vector<int64_t> expected = in[1].dims;
    expected.insert(expected.end(), in[0].dims.begin() + 1, in[0].dims.end());
    require_f32(out[0], "gather: output");
    if (out[0].dims != expected) plugin::invalid("gather: output must be indices' shape followed by data's row shape");
    count = in[1].numel();
    num_rows = in[0].dims[0];
    row_size = 1;
    for (int d = 1; d < in[0].rank(); ++d) row_size *= in[0].dims[d];
  }
};

class GatherKernel : public GpuKernel {
 public:
  explicit GatherKernel(DeviceState& device) : device_(device) {}
  void run(const RunTensors& t) override {
    const GatherShape s(t.input_shapes, t.output_shapes);
    const int64_t total = s.count * s.row_size;
    if (total == 0) return;
    gather_kernel<<<blocks_for(total), kBlockThreads, 0, t.stream>>>(
        static_cast<const float*>(t.inputs[0]), IndexInput{t.inputs[1], t.input_shapes[1].dtype == CAGR_DTYPE_I64},
        static_cast<float*>(t.outputs[0]), s.count, s.row_size, s.num_rows, device_.error_record_for_kernels());
    check_launch("gather_kernel");
  }

 private:
  DeviceState& device_;
};

class GatherOp : public GpuOp {
 public:
  OpVariants variants(const OpView& op, DeviceState&, const cagr_context&) const override {
    const GatherShape s(input_shapes(op), output_shapes(op));
    return {{{"thread_per_element", 0, 8.0 * s.count * s.row_size + double(op.input(1).bytes())}}, {}};
  }
  std::unique_ptr<GpuKernel> create(const KernelSetup& setup) const override {
    variants(setup.op, setup.device, setup.context);
    return std::make_unique<GatherKernel>(setup.device);
  }
};

}  // namespace

const GpuOp& concat_op() {
  static const ConcatOp op;
  return op;
}
const GpuOp& reshape_op() {
  static const ReshapeOp op;
  return op;
}
const GpuOp& gather_op() {
  static const GatherOp op;
  return op;
}

}  // namespace cagr::gpu

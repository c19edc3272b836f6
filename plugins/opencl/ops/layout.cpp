// layout.cpp - concat and reshape (OPS.md): pure data movement, done by the queue's copy
// commands rather than kernels.
#include <numeric>

#include "device.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

int64_t product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  return std::accumulate(dims.begin() + static_cast<std::ptrdiff_t>(begin), dims.begin() + static_cast<std::ptrdiff_t>(end),
                         int64_t{1}, std::multiplies<>());
}

// ---- concat ----------------------------------------------------------------------------------

constexpr const char* kConcatOp = "concat";

size_t concat_axis(int64_t axis, const std::vector<plugin::Shape>& in) {
  require(!in.empty(), kConcatOp, "needs at least one input");
  const int64_t rank = in[0].rank();
  const int64_t normal = axis < 0 ? axis + rank : axis;
  require(normal >= 0 && normal < rank, kConcatOp,
          "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return static_cast<size_t>(normal);
}

void check_concat(size_t axis, const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  require(out.size() == 1, kConcatOp, "has one output");
  std::vector<int64_t> dims = in[0].dims;
  dims[axis] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string what = "input " + std::to_string(i);
    require_f32(in[i], kConcatOp, what);
    require(in[i].rank() == in[0].rank(), kConcatOp, what + " has rank " + std::to_string(in[i].rank()) + ", input 0 has " + std::to_string(in[0].rank()));
    for (size_t d = 0; d < dims.size(); ++d)
      require(d == axis || in[i].dims[d] == in[0].dims[d], kConcatOp,
              what + " " + dims_text(in[i].dims) + " differs from input 0 " + dims_text(in[0].dims) + " outside axis " + std::to_string(axis));
    dims[axis] += in[i].dims[axis];
  }
  require_f32(out[0], kConcatOp, "output");
  require_dims(out[0], dims, kConcatOp, "output");
}

std::vector<VariantCost> concat_variants(const plugin::OpView& op, const Device&) {
  const auto in = input_shapes(op);
  check_concat(concat_axis(op.attr_int("axis", 1), in), in, output_shapes(op));
  return {{"copy_rect", 0, 2.0 * static_cast<double>(op.output(0).bytes()), 0.6}};
}

class Concat final : public OpKernel {
 public:
  explicit Concat(int64_t axis) : axis_(axis) {}

  // The output is [outer, total * inner]; input i fills a band of width dims[axis] * inner of it.
  void run(const Launch& launch) override {
    const size_t axis = concat_axis(axis_, launch.input_shapes);
    check_concat(axis, launch.input_shapes, launch.output_shapes);
    const auto& out = launch.output_shapes[0].dims;
    const size_t outer = static_cast<size_t>(product(out, 0, axis));
    const size_t inner_bytes = static_cast<size_t>(product(out, axis + 1, out.size())) * sizeof(float);
    const size_t out_row = static_cast<size_t>(out[axis]) * inner_bytes;
    size_t column = 0;
    for (size_t i = 0; i < launch.inputs.size(); ++i) {
      const size_t width = static_cast<size_t>(launch.input_shapes[i].dims[axis]) * inner_bytes;
      if (width > 0 && outer > 0) {
        const size_t src_origin[3] = {0, 0, 0}, dst_origin[3] = {column, 0, 0}, region[3] = {width, outer, 1};
        check_cl(clEnqueueCopyBufferRect(launch.queue, launch.inputs[i], launch.outputs[0], src_origin, dst_origin, region,
                                         width, 0, out_row, 0, 0, nullptr, nullptr),
                 "clEnqueueCopyBufferRect (concat)");
      }
      column += width;
    }
  }

 private:
  int64_t axis_;
};

std::unique_ptr<OpKernel> concat_create(Device& device, const plugin::OpView& op, const std::string&,
                                        const std::vector<cl_mem>&) {
  concat_variants(op, device);
  return std::make_unique<Concat>(op.attr_int("axis", 1));
}

// ---- reshape ---------------------------------------------------------------------------------

constexpr const char* kReshapeOp = "reshape";

std::vector<int64_t> reshaped(const std::vector<int64_t>& spec, const plugin::Shape& in) {
  std::vector<int64_t> dims = spec;
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0) {
      require(static_cast<int>(i) < in.rank(), kReshapeOp, "shape entry 0 at position " + std::to_string(i) + " has no input dim to copy");
      dims[i] = in.dims[i];
    }
    if (dims[i] == -1) {
      require(inferred < 0, kReshapeOp, "shape " + dims_text(spec) + " has more than one -1");
      inferred = static_cast<int>(i);
      continue;
    }
    require(dims[i] >= 0, kReshapeOp, "shape " + dims_text(spec) + " has a negative entry other than -1");
    known *= dims[i];
  }
  if (inferred >= 0) {
    require(known > 0 && in.numel() % known == 0, kReshapeOp,
            "cannot infer the -1 of " + dims_text(spec) + " for input " + dims_text(in.dims));
    dims[static_cast<size_t>(inferred)] = in.numel() / known;
  }
  return dims;
}

void check_reshape(const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  require(in.size() == 1 && out.size() == 1, kReshapeOp, "takes one input and has one output");
  require(out[0].dtype == in[0].dtype, kReshapeOp, "output dtype differs from the input's");
  require(out[0].numel() == in[0].numel(), kReshapeOp,
          "output " + dims_text(out[0].dims) + " and input " + dims_text(in[0].dims) + " differ in element count");
}

std::vector<VariantCost> reshape_variants(const plugin::OpView& op, const Device&) {
  const auto in = input_shapes(op), out = output_shapes(op);
  check_reshape(in, out);
  require(op.has_attr("shape"), kReshapeOp, "attribute 'shape' is required");
  require_dims(out[0], reshaped(op.attr_ints("shape", {}), in[0]), kReshapeOp, "output");
  return {{"copy", 0, 2.0 * static_cast<double>(in[0].bytes()), 0.6}};
}

// The output is a separate buffer: the "view" costs one device-side copy.
class Reshape final : public OpKernel {
 public:
  void run(const Launch& launch) override {
    check_reshape(launch.input_shapes, launch.output_shapes);
    const size_t bytes = launch.input_shapes[0].bytes();
    if (bytes == 0 || launch.inputs[0] == launch.outputs[0]) return;
    check_cl(clEnqueueCopyBuffer(launch.queue, launch.inputs[0], launch.outputs[0], 0, 0, bytes, 0, nullptr, nullptr),
             "clEnqueueCopyBuffer (reshape)");
  }
};

std::unique_ptr<OpKernel> reshape_create(Device& device, const plugin::OpView& op, const std::string&,
                                         const std::vector<cl_mem>&) {
  reshape_variants(op, device);
  return std::make_unique<Reshape>();
}

}  // namespace

const OpDefinition kConcat = {kConcatOp, concat_variants, concat_create};
const OpDefinition kReshape = {kReshapeOp, reshape_variants, reshape_create};

}  // namespace cagr::opencl

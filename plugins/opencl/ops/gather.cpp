// gather.cpp - rows of a tensor picked by indices (OPS.md, gather); indices out of range are
// found on the device and reported through the stream's error record.
#include "device.hpp"
#include "gather_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

constexpr const char* kOp = "gather";

struct Sizes {
  int64_t rows = 0, width = 0, count = 0;
};

Sizes check_shapes(const std::vector<plugin::Shape>& in, const std::vector<plugin::Shape>& out) {
  require(in.size() == 2 && out.size() == 1, kOp, "takes data and indices and has one output");
  require_f32(in[0], kOp, "data");
  require(in[0].rank() >= 1, kOp, "data must have at least one dimension");
  require_index_type(in[1], kOp, "indices");
  std::vector<int64_t> dims = in[1].dims;
  dims.insert(dims.end(), in[0].dims.begin() + 1, in[0].dims.end());
  require(in[1].rank() + in[0].rank() - 1 <= CAGR_MAX_RANK, kOp, "output rank exceeds " + std::to_string(CAGR_MAX_RANK));
  require_f32(out[0], kOp, "output");
  require_dims(out[0], dims, kOp, "output");
  return {in[0].dims[0], in[0].numel() / std::max<int64_t>(1, in[0].dims[0]), in[1].numel()};
}

std::vector<VariantCost> variants(const plugin::OpView& op, const Device&) {
  const Sizes s = check_shapes(input_shapes(op), output_shapes(op));
  return {{"element_per_item", 0, 8.0 * s.count * s.width + static_cast<double>(op.input(1).bytes()), 0.6}};
}

class Gather final : public OpKernel {
 public:
  Gather(Device& device, cagr_dtype index_type)
      : kernel_(make_kernel(device, source::gather, std::string("-DINDEX_T=") + cl_index_type(index_type), "gather")),
        group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const Sizes s = check_shapes(launch.input_shapes, launch.output_shapes);
    set_args(kernel_.get(), launch.inputs[0], launch.inputs[1], launch.outputs[0], static_cast<cl_long>(s.count),
             static_cast<cl_long>(s.rows), static_cast<cl_long>(s.width), launch.error_record);
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(s.count * s.width), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> create(Device& device, const plugin::OpView& op, const std::string&, const std::vector<cl_mem>&) {
  variants(op, device);
  return std::make_unique<Gather>(device, op.input(1).dtype);
}

}  // namespace

const OpDefinition kGather = {kOp, variants, create};

}  // namespace cagr::opencl

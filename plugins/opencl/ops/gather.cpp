// gather.cpp - rows of a tensor picked by indices (OPS.md, gather); indices out of range are
// found on the device and reported through the stream's error record.
#include "device.hpp"
#include "gather_cl.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

using Sizes = contract::Gather;

std::vector<VariantCost> variants(const contract::Checked& checked, const Device&) {
  const Sizes& s = std::get<Sizes>(checked);
  const double index_bytes = static_cast<double>(plugin::dtype_size(s.index_dtype)) * s.count;
  return {{"element_per_item", 0, 8.0 * s.count * s.row_elems + index_bytes, 0.6}};
}

class Gather final : public OpKernel {
 public:
  Gather(Device& device, cagr_dtype index_type)
      : kernel_(make_kernel(device, source::gather, std::string("-DINDEX_T=") + cl_index_type(index_type), "gather")),
        group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const Sizes& s = std::get<Sizes>(launch.sizes);
    set_args(kernel_.get(), launch.inputs[0], launch.inputs[1], launch.outputs[0], static_cast<cl_long>(s.count),
             static_cast<cl_long>(s.rows), static_cast<cl_long>(s.row_elems), launch.error_record);
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(s.count * s.row_elems), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> create(Device& device, const contract::Checked& checked, const std::string&,
                                 const std::vector<cl_mem>&) {
  return std::make_unique<Gather>(device, std::get<Sizes>(checked).index_dtype);
}

}  // namespace

const OpDefinition kGather = {"gather", variants, create};

}  // namespace cagr::opencl

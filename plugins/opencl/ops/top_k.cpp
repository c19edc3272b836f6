// top_k.cpp - the k largest entries of each row (OPS.md, top_k).
#include "device.hpp"
#include "ops/ops.hpp"
#include "top_k_cl.hpp"

namespace cagr::opencl {

namespace {

using Sizes = contract::TopK;

std::vector<VariantCost> variants(const contract::Checked& checked, const Device&) {
  const Sizes& s = std::get<Sizes>(checked);
  return {{"row_per_item", static_cast<double>(s.batch * s.n * s.k), 4.0 * s.batch * (s.n + 3 * s.k), 0.05}};
}

class TopK final : public OpKernel {
 public:
  explicit TopK(Device& device) : kernel_(make_kernel(device, source::top_k, "", "top_k")), group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const Sizes& s = std::get<Sizes>(launch.sizes);
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], launch.outputs[1], static_cast<cl_int>(s.batch),
             static_cast<cl_int>(s.n), static_cast<cl_int>(s.k));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(s.batch), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> create(Device& device, const contract::Checked&, const std::string&, const std::vector<cl_mem>&) {
  return std::make_unique<TopK>(device);
}

}  // namespace

const OpDefinition kTopK = {"top_k", variants, create};

}  // namespace cagr::opencl

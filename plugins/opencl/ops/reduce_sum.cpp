// reduce_sum.cpp - sums over a set of axes (OPS.md, reduce_sum).
#include <functional>
#include <numeric>

#include "device.hpp"
#include "ops/ops.hpp"
#include "reduce_sum_cl.hpp"

namespace cagr::opencl {

namespace {

using Sizes = contract::ReduceSum;

// Up to 8 values (the ABI's largest rank) as an OpenCL long8, unused slots set to `fill`.
cl_long8 long8(const std::vector<int64_t>& values, int64_t fill) {
  cl_long8 out;
  for (size_t i = 0; i < 8; ++i) out.s[i] = i < values.size() ? values[i] : fill;
  return out;
}

std::vector<VariantCost> variants(const contract::Checked& checked, const Device&) {
  const Sizes& s = std::get<Sizes>(checked);
  double n = 1, outputs = 1;
  for (size_t d = 0; d < s.dims.size(); ++d) {
    n *= static_cast<double>(s.dims[d]);
    if (!s.reduced[d]) outputs *= static_cast<double>(s.dims[d]);
  }
  return {{"output_per_item", n, 4.0 * (n + outputs), 0.3}};
}

class ReduceSum final : public OpKernel {
 public:
  explicit ReduceSum(Device& device)
      : kernel_(make_kernel(device, source::reduce_sum, "", "reduce_sum")), group_(simple_group(device)) {}

  void run(const Launch& launch) override {
    const Sizes& s = std::get<Sizes>(launch.sizes);
    std::vector<int64_t> strides(s.dims.size());
    int64_t stride = 1;
    for (size_t d = s.dims.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= s.dims[d];
    }
    // Kept and reduced dims, outermost first, with their strides in the input.
    std::vector<int64_t> kept_sizes, kept_strides, reduced_sizes, reduced_strides;
    for (size_t d = 0; d < s.dims.size(); ++d) {
      (s.reduced[d] ? reduced_sizes : kept_sizes).push_back(s.dims[d]);
      (s.reduced[d] ? reduced_strides : kept_strides).push_back(strides[d]);
    }
    const auto product = [](const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{1}, std::multiplies<>()); };
    const int64_t outputs = product(kept_sizes);
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_long>(outputs),
             static_cast<cl_long>(product(reduced_sizes)), long8(kept_sizes, 1), long8(kept_strides, 0),
             static_cast<cl_int>(kept_sizes.size()), long8(reduced_sizes, 1), long8(reduced_strides, 0),
             static_cast<cl_int>(reduced_sizes.size()));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(outputs), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> create(Device& device, const contract::Checked&, const std::string&, const std::vector<cl_mem>&) {
  return std::make_unique<ReduceSum>(device);
}

}  // namespace

const OpDefinition kReduceSum = {"reduce_sum", variants, create};

}  // namespace cagr::opencl

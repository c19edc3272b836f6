// layout.cpp - concat and reshape (OPS.md): pure data movement, done by the queue's copy
// commands rather than kernels.
#include <numeric>

#include "device.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

namespace {

// ---- concat ----------------------------------------------------------------------------------

std::vector<VariantCost> concat_variants(const contract::Checked& checked, const Device&) {
  const auto& c = std::get<contract::Concat>(checked);
  const double elements = static_cast<double>(c.outer) * std::accumulate(c.chunk.begin(), c.chunk.end(), 0.0);
  return {{"copy_rect", 0, 8.0 * elements, 0.6}};
}

// The output is `outer` rows; input i fills a band of chunk[i] elements of each row, which one
// rectangular copy moves.
class Concat final : public OpKernel {
 public:
  void run(const Launch& launch) override {
    const auto& c = std::get<contract::Concat>(launch.sizes);
    const size_t outer = static_cast<size_t>(c.outer);
    const size_t out_row = static_cast<size_t>(std::accumulate(c.chunk.begin(), c.chunk.end(), int64_t{0})) * sizeof(float);
    size_t column = 0;
    for (size_t i = 0; i < launch.inputs.size(); ++i) {
      const size_t width = static_cast<size_t>(c.chunk[i]) * sizeof(float);
      if (width > 0 && outer > 0) {
        const size_t src_origin[3] = {0, 0, 0}, dst_origin[3] = {column, 0, 0}, region[3] = {width, outer, 1};
        check_cl(clEnqueueCopyBufferRect(launch.queue, launch.inputs[i], launch.outputs[0], src_origin, dst_origin, region,
                                         width, 0, out_row, 0, 0, nullptr, nullptr),
                 "clEnqueueCopyBufferRect (concat)");
      }
      column += width;
    }
  }
};

std::unique_ptr<OpKernel> concat_create(Device&, const contract::Checked&, const std::string&, const std::vector<cl_mem>&) {
  return std::make_unique<Concat>();
}

// ---- reshape ---------------------------------------------------------------------------------

std::vector<VariantCost> reshape_variants(const contract::Checked& checked, const Device&) {
  return {{"copy", 0, 2.0 * static_cast<double>(std::get<contract::Reshape>(checked).bytes), 0.6}};
}

// The output is a separate buffer: the "view" costs one device-side copy.
class Reshape final : public OpKernel {
 public:
  void run(const Launch& launch) override {
    const size_t bytes = std::get<contract::Reshape>(launch.sizes).bytes;
    if (bytes == 0 || launch.inputs[0] == launch.outputs[0]) return;
    check_cl(clEnqueueCopyBuffer(launch.queue, launch.inputs[0], launch.outputs[0], 0, 0, bytes, 0, nullptr, nullptr),
             "clEnqueueCopyBuffer (reshape)");
  }
};

std::unique_ptr<OpKernel> reshape_create(Device&, const contract::Checked&, const std::string&, const std::vector<cl_mem>&) {
  return std::make_unique<Reshape>();
}

}  // namespace

const OpDefinition kConcat = {"concat", concat_variants, concat_create};
const OpDefinition kReshape = {"reshape", reshape_variants, reshape_create};

}  // namespace cagr::opencl

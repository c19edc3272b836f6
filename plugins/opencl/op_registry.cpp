// op_registry.cpp - the table of ops and the helpers they share.
#include "op_registry.hpp"

#include <algorithm>

#include "device.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

const OpDefinition* find_op(const std::string& type) {
  static const OpDefinition* const kAll[] = {&kEmbeddingBag, &kLinear, &kCrossLayer, &kRelu, &kSigmoid, &kAdd, &kMul, &kConcat,
                                             &kReshape, &kDotInteraction, &kDlrmInteraction, &kFmInteraction, &kReduceSum, &kTopK, &kGather,
                                             // the general tensor ops it runs (ops/tensor_ops.cpp)
                                             &kTranspose, &kSlice, &kExpand, &kTake, &kFixedBagOffsets, &kTableOffsets,
                                             &kCast, &kTensorElementwise};
  for (const OpDefinition* op : kAll)
    if (type == op->type) return op;
  return nullptr;
}

KernelHandle make_kernel(Device& device, const char* source, const std::string& options, const char* name) {
  cl_int status = CL_SUCCESS;
  KernelHandle kernel(clCreateKernel(device.program(source, options), name, &status));
  check_cl(status, (std::string("clCreateKernel ") + name).c_str());
  return kernel;
}

size_t simple_group(const Device& device) { return std::min<size_t>(256, device.max_work_group_size()); }

const char* cl_index_type(cagr_dtype dtype) { return dtype == CAGR_DTYPE_I64 ? "long" : "int"; }

}  // namespace cagr::opencl

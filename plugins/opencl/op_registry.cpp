// op_registry.cpp - the table of ops and the checks they share.
#include "op_registry.hpp"

#include <algorithm>

#include "device.hpp"
#include "ops/ops.hpp"

namespace cagr::opencl {

const OpDefinition* find_op(const std::string& type) {
  static const OpDefinition* const kAll[] = {&kEmbeddingBag, &kLinear, &kRelu, &kSigmoid, &kAdd, &kMul, &kConcat,
                                             &kReshape, &kDotInteraction, &kFmInteraction, &kReduceSum, &kTopK, &kGather};
  for (const OpDefinition* op : kAll)
    if (type == op->type) return op;
  return nullptr;
}

std::vector<plugin::Shape> input_shapes(const plugin::OpView& op) {
  std::vector<plugin::Shape> shapes;
  for (size_t i = 0; i < op.num_inputs(); ++i) shapes.push_back(op.input(i));
  return shapes;
}

std::vector<plugin::Shape> output_shapes(const plugin::OpView& op) {
  std::vector<plugin::Shape> shapes;
  for (size_t i = 0; i < op.num_outputs(); ++i) shapes.push_back(op.output(i));
  return shapes;
}

void require(bool condition, const std::string& op, const std::string& what) {
  if (!condition) plugin::invalid(op + ": " + what);
}

void require_f32(const plugin::Shape& shape, const std::string& op, const std::string& what) {
  require(shape.dtype == CAGR_DTYPE_F32, op, what + " must be f32, got " + plugin::dtype_name(shape.dtype));
}

void require_index_type(const plugin::Shape& shape, const std::string& op, const std::string& what) {
  require(shape.dtype == CAGR_DTYPE_I32 || shape.dtype == CAGR_DTYPE_I64, op,
          what + " must be i32 or i64, got " + plugin::dtype_name(shape.dtype));
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

void require_dims(const plugin::Shape& shape, const std::vector<int64_t>& dims, const std::string& op,
                  const std::string& what) {
  require(shape.dims == dims, op, what + " must have shape " + dims_text(dims) + ", got " + dims_text(shape.dims));
}

size_t simple_group(const Device& device) { return std::min<size_t>(256, device.max_work_group_size()); }

const char* cl_index_type(cagr_dtype dtype) { return dtype == CAGR_DTYPE_I64 ? "long" : "int"; }

KernelHandle make_kernel(Device& device, const char* source, const std::string& options, const char* name) {
  cl_int status = CL_SUCCESS;
  KernelHandle kernel(clCreateKernel(device.program(source, options), name, &status));
  check_cl(status, (std::string("clCreateKernel ") + name).c_str());
  return kernel;
}

}  // namespace cagr::opencl

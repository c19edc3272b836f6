// reference_tensor_ops.hpp (reference, internal) - the plain loops of the general tensor ops
// (abi/tensor_ops.hpp: ONNX semantics), called from reference_ops.cpp's run(). Each takes the sizes
// that the contract derived (contract::check) and dense host memory: in[i] the data of input i,
// out[i] of output i. Index errors throw std::invalid_argument naming the op, position and value.
#pragma once

#include "op_contract.hpp"

namespace cagr::reference {

void elementwise(const contract::Elementwise& e, const void* const* in, void* const* out);
void cast(const contract::Cast& c, const void* const* in, void* const* out);
// transpose, slice and expand: one strided walk over the input.
void strided_copy(const contract::StridedCopy& s, const void* const* in, void* const* out);
void matmul(const contract::MatMul& m, const void* const* in, void* const* out);
void take(const contract::Take& t, const void* const* in, void* const* out);
void gather_elements(const contract::GatherElements& g, const void* const* in, void* const* out);
void softmax(const contract::Softmax& s, const void* const* in, void* const* out);
void reduce(const contract::Reduce& r, const void* const* in, void* const* out);
void layer_norm(const contract::LayerNorm& l, const void* const* in, void* const* out);
void fixed_bag_offsets(const contract::BagOffsets& b, const void* const* in, void* const* out);
void table_offsets(const contract::TableOffsets& t, const void* const* in, void* const* out);

}  // namespace cagr::reference

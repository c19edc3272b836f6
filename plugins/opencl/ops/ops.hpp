// ops.hpp - the definitions of every op the plugin runs, one file each under ops/.
#pragma once

#include "op_registry.hpp"

namespace cagr::opencl {

extern const OpDefinition kEmbeddingBag;
extern const OpDefinition kLinear, kCrossLayer;  // linear.cpp
extern const OpDefinition kRelu, kSigmoid, kAdd, kMul;  // elementwise.cpp
extern const OpDefinition kConcat, kReshape;            // layout.cpp
extern const OpDefinition kDotInteraction, kDlrmInteraction, kFmInteraction;  // interaction.cpp
extern const OpDefinition kReduceSum;
extern const OpDefinition kTopK;
extern const OpDefinition kGather;
// tensor_ops.cpp: the general tensor ops of OPS.md that this plugin runs
extern const OpDefinition kTranspose, kSlice, kExpand, kTake, kFixedBagOffsets, kTableOffsets, kCast,
    kTensorElementwise;

}  // namespace cagr::opencl

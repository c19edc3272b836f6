// reference_ops.hpp - the plain, obviously-correct implementation of every op of abi/OPS.md on
// host memory: the oracle that plugins and whole graphs are checked against.
#pragma once

#include "cagr_plugin.h"

namespace cagr::reference {

// Runs `op` (semantics: abi/OPS.md) on dense host memory: inputs[i] is the data of op.inputs[i]
// (constants included, in input order), outputs[i] of op.outputs[i] (already sized by the caller).
// Throws std::invalid_argument with a message naming the op and what is wrong (bad shape,
// dtype, attribute, index out of range with its position and value).
void run(const cagr_op_desc& op, const void* const* inputs, void* const* outputs);

}  // namespace cagr::reference

// op_attributes.hpp - the attribute names each op of abi/OPS.md takes, so that a model file naming
// one an op does not take (a misspelling: `activaton`) is refused instead of the attribute being
// silently ignored and its default used.
#pragma once

#include <string>
#include <vector>

namespace cagr {

// The attributes OPS.md lists for `op`, or nullptr for an op not in OPS.md (shape inference names
// unknown ops).
const std::vector<std::string>* attributes_of_op(const std::string& op);

}  // namespace cagr

// run_reference_op.hpp - running one op description on the reference, for the hand-computed tests.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "owned_op_desc.hpp"
#include "reference_ops.hpp"

namespace cagr::testing {

inline void run(abi::OwnedOpDesc& op, std::vector<const void*> in, std::vector<void*> out) {
  reference::run(op.desc(), in.data(), out.data());
}

// The message of the std::invalid_argument that running `op` throws ("" when none).
inline std::string error_of(abi::OwnedOpDesc& op, std::vector<const void*> in, std::vector<void*> out) {
  try {
    run(op, std::move(in), std::move(out));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace cagr::testing

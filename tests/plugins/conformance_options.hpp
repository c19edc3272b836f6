// conformance_options.hpp - what the conformance suite's command line chose (conformance_main.cpp).
#pragma once

namespace cagr::conformance {

// --offered-ops: a plugin may refuse any op of OPS.md, and is checked on those it offers.
inline bool& offered_ops_only() {
  static bool only = false;
  return only;
}

}  // namespace cagr::conformance

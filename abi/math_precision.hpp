// math_precision.hpp - the math precision an op is allowed (ABI 1.2's cagr_math_precision_extension,
// int8 since 1.3):
// read on the plugin side, named for files and flags on the host side.
//
// Header-only C++17; depends on nothing but abi/ and the standard library.
#ifndef CAGR_MATH_PRECISION_HPP_
#define CAGR_MATH_PRECISION_HPP_

#include <optional>
#include <string>

#include "cagr_plugin.h"
#include "cagr_struct.hpp"

namespace cagr::abi {

inline const char* math_precision_name(cagr_math_precision p) {
  switch (p) {
    case CAGR_MATH_TF32: return "tf32";
    case CAGR_MATH_BF16: return "bf16";
    case CAGR_MATH_INT8: return "int8";
    default: return "f32";
  }
}

// The names math_precision_named accepts, for messages that list them.
inline const char* math_precision_choices() { return "f32, tf32, bf16 or int8"; }

// "f32", "tf32", "bf16" or "int8"; nothing for any other text.
inline std::optional<cagr_math_precision> math_precision_named(const std::string& name) {
  for (cagr_math_precision p : {CAGR_MATH_F32, CAGR_MATH_TF32, CAGR_MATH_BF16, CAGR_MATH_INT8})
    if (name == math_precision_name(p)) return p;
  return std::nullopt;
}

// The loosest precision the host allows `op`: its cagr_math_precision_extension's, f32 when none
// is chained (a 1.0/1.1 host) or the value is not one this side knows: a newer host's looser
// precision is one this plugin has no variant for, and f32 is always allowed. (A plugin built
// against 1.2's copy of this header read 1.3's CAGR_MATH_INT8 as f32 this way: abi_tests
// MathPrecision.UnknownAllowanceReadsAsF32.) Other extension types are skipped; the walk stops
// after 64 links, so a cyclic chain cannot hang the plugin.
inline cagr_math_precision allowed_math_precision(const cagr_op_desc& op) {
  const cagr_op_desc d = read_struct(&op);
  const cagr_extension* link = d.extensions;
  for (int hops = 0; link != nullptr && hops < 64; ++hops) {
    const cagr_extension head = read_struct(link);
    if (head.type == CAGR_EXTENSION_MATH_PRECISION) {
      const auto ext = read_struct(reinterpret_cast<const cagr_math_precision_extension*>(link));
      return ext.allowed >= CAGR_MATH_F32 && ext.allowed <= CAGR_MATH_INT8 ? static_cast<cagr_math_precision>(ext.allowed)
                                                                            : CAGR_MATH_F32;
    }
    link = head.next;
  }
  return CAGR_MATH_F32;
}

}  // namespace cagr::abi

#endif  // CAGR_MATH_PRECISION_HPP_

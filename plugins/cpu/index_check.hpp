// index_check.hpp - reading index tensors (i32 or i64) and reporting the first bad index, for the
// ops that look rows up (embedding_bag, gather).
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "cagr_plugin_support.hpp"

namespace cagr::cpu {

// "No bad index found" in a min-reduction over positions.
constexpr int64_t kNoBadIndex = std::numeric_limits<int64_t>::max();

inline int64_t index_at(const void* data, cagr_dtype dtype, int64_t i) {
  return dtype == CAGR_DTYPE_I32 ? static_cast<const int32_t*>(data)[i] : static_cast<const int64_t*>(data)[i];
}

[[noreturn]] inline void bad_index(const std::string& op, int64_t position, int64_t value, const std::string& range) {
  plugin::invalid(op + ": index " + std::to_string(value) + " at position " + std::to_string(position) +
                  " is out of range for " + range);
}

// Calls body(Index*) with the index data typed as its dtype says.
template <class F>
void with_index_type(cagr_dtype dtype, const void* data, F&& body) {
  if (dtype == CAGR_DTYPE_I32) body(static_cast<const int32_t*>(data));
  else body(static_cast<const int64_t*>(data));
}

}  // namespace cagr::cpu

// error_record.cpp - messages for faults recorded on the device.
#include "error_record.hpp"

namespace cagr::opencl {

std::string describe(const ErrorRecord& r) {
  const std::string position = std::to_string(r.position), value = std::to_string(r.value), limit = std::to_string(r.limit);
  switch (r.op) {
    case kOpTake:  // as the reference words it: indices in [-len, len), negative ones from the end
      return "take: index " + value + " at position " + position + " is out of range for an axis of length " + limit +
             " (valid: -" + limit + " .. " + std::to_string(r.limit - 1) + ")";
    case kOpTableOffsets: {
      const bool first = r.value >= 0 && r.value <= r.limit;  // in range, so it broke the first-offset rule
      return "table_offsets: table " + std::to_string(r.table) + ": offset " + value + " at position " + position +
             (first ? " is the table's first offset, which must be 0"
                    : " is out of range for a row of " + limit + " indices (valid: 0 .. " + limit + ")");
    }
    case kOpElementwiseDiv:
      if (r.kind == kFaultOverflow)
        return "elementwise div: integer overflow, " + value + " / -1 at output position " + position;
      return "elementwise div: integer division by zero at output position " + position + " (dividend " + value + ")";
    default:
      break;
  }
  const std::string op = r.op == kOpEmbeddingBag ? "embedding_bag" : r.op == kOpGather ? "gather" : "unknown op";
  const std::string where = r.op == kOpEmbeddingBag ? " table " + std::to_string(r.table) : "";
  if (r.kind == kFaultOffsets) {
    return op + ":" + where + " offsets invalid at position " + position + ": value " + value +
           " (offsets must start at 0, never decrease and end at the number of indices, " + limit + ")";
  }
  return op + ":" + where + " index out of range at position " + position + ": value " + value + " (valid: 0 .. " +
         std::to_string(r.limit - 1) + ")";
}

}  // namespace cagr::opencl

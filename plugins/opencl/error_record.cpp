// error_record.cpp - messages for faults recorded on the device.
#include "error_record.hpp"

namespace cagr::opencl {

std::string describe(const ErrorRecord& r) {
  const std::string op = r.op == kOpEmbeddingBag ? "embedding_bag" : r.op == kOpGather ? "gather" : "unknown op";
  const std::string where = r.op == kOpEmbeddingBag ? " table " + std::to_string(r.table) : "";
  if (r.kind == kFaultOffsets) {
    return op + ":" + where + " offsets invalid at position " + std::to_string(r.position) + ": value " +
           std::to_string(r.value) + " (offsets must start at 0, never decrease and end at the number of indices, " +
           std::to_string(r.limit) + ")";
  }
  return op + ":" + where + " index out of range at position " + std::to_string(r.position) + ": value " +
         std::to_string(r.value) + " (valid: 0 .. " + std::to_string(r.limit - 1) + ")";
}

}  // namespace cagr::opencl

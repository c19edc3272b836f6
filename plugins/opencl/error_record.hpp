// error_record.hpp - the host side of the device-side error record (kernels/common.cl): kernels
// that find bad input (an index out of range, offsets that go backwards) write the first such
// fault into their stream's record; the host reads it when the stream is synchronized.
#pragma once

#include <CL/cl.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace cagr::opencl {

// Layout and codes exactly as in kernels/common.cl.
struct ErrorRecord {
  cl_int flag;   // 1 once a fault was recorded
  cl_int op;     // kOp*
  cl_int kind;   // kFault*
  cl_int table;  // embedding_bag's and table_offsets' table
  cl_long position;
  cl_long value;
  cl_long limit;
};
static_assert(sizeof(ErrorRecord) == 40 && offsetof(ErrorRecord, position) == 16);

constexpr cl_int kOpEmbeddingBag = 1, kOpGather = 2, kOpTake = 3, kOpTableOffsets = 4, kOpElementwiseDiv = 5;
constexpr cl_int kFaultIndex = 1, kFaultOffsets = 2, kFaultDivideByZero = 3, kFaultOverflow = 4;

// The message the host sees for a recorded fault, naming op, table, position and value.
std::string describe(const ErrorRecord& record);

}  // namespace cagr::opencl

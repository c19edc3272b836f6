// device_error.hpp - bad input found by a kernel (an index out of range), reported to the host.
//
// Kernels cannot throw, and checking indices on the host would cost a copy and a synchronisation
// per run. So each device has one record in pinned, mapped host memory: the first kernel thread
// that finds a bad value claims it with an atomic and writes what it found; the host reads it after
// the next stream_synchronize on that device and turns it into CAGR_ERROR_INVALID_ARGUMENT. The
// record lives at a fixed address, so kernels captured into a graph report through it too.
#pragma once

#include <string>

#include "gpu_runtime.h"

namespace cagr::gpu {

enum class ErrorOp : int { embedding_bag = 1, gather = 2, dlrm_embedding_interaction = 3, take = 4, table_offsets = 5 };
enum class ErrorKind : int {
  index_out_of_range = 1,
  offsets_decrease = 2,
  offset_out_of_range = 3,
  first_offset_not_zero = 4,  // table_offsets: a table's first bag offset must be 0
};

struct DeviceErrorRecord {
  unsigned int claimed;  // 0 while no error was found
  int op;                // an ErrorOp
  int kind;              // an ErrorKind
  int table;             // embedding_bag, table_offsets: which table; else 0
  long long position;    // where in the indices / offsets input
  long long value;       // the bad value found there
  long long limit;       // the bound it broke (rows of the table, length of the indices; take: the axis length)
};

__device__ __forceinline__ void report_device_error(DeviceErrorRecord* record, ErrorOp op, ErrorKind kind, int table,
                                                   long long position, long long value, long long limit) {
  if (atomicCAS(&record->claimed, 0u, 1u) != 0u) return;  // the first error found wins
  record->op = static_cast<int>(op);
  record->kind = static_cast<int>(kind);
  record->table = table;
  record->position = position;
  record->value = value;
  record->limit = limit;
  __threadfence_system();
}

// One line naming the op, table, position and value of a claimed record.
std::string describe(const DeviceErrorRecord& record);

}  // namespace cagr::gpu

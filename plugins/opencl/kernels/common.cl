// common.cl - put in front of every program: the accumulator type and the device-side error record.

#ifdef CAGR_HAS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
// Sums accumulate in double where the device has it: the reference accumulates in double.
typedef double acc_t;
#else
typedef float acc_t;
#endif

// The error record of a stream (error_record.hpp reads it on the host; keep the two in step):
// 12 ints. int [0]: set 0 -> 1 by the first failure only; [1] op; [2] kind; [3] table.
// long [2] position; [3] offending value; [4] limit it broke.
#define CAGR_OP_EMBEDDING_BAG 1
#define CAGR_OP_GATHER 2
#define CAGR_OP_TAKE 3
#define CAGR_OP_TABLE_OFFSETS 4
#define CAGR_OP_ELEMENTWISE_DIV 5
#define CAGR_FAULT_INDEX 1
#define CAGR_FAULT_OFFSETS 2
#define CAGR_FAULT_DIVIDE_BY_ZERO 3
#define CAGR_FAULT_OVERFLOW 4

void cagr_report(__global int* record, int op, int kind, int table, long position, long value, long limit) {
  if (atomic_cmpxchg(record, 0, 1) == 0) {
    record[1] = op;
    record[2] = kind;
    record[3] = table;
    __global long* wide = (__global long*)record;
    wide[2] = position;
    wide[3] = value;
    wide[4] = limit;
  }
}

// gather.cl - rows of `data` picked by `indices` (OPS.md, gather). Build option: INDEX_T.

// One work-item per output element; the first work-item of each row checks its index.
__kernel void gather(__global const float* data, __global const INDEX_T* indices, __global float* rows_out,
                     long count, long rows, long width, __global int* errors) {
  const long item = get_global_id(0);
  if (item >= count * width) return;
  const long i = item / width, c = item % width;
  const long row = indices[i];
  if (row < 0 || row >= rows) {
    if (c == 0) cagr_report(errors, CAGR_OP_GATHER, CAGR_FAULT_INDEX, 0, i, row, rows);
    return;
  }
  rows_out[item] = data[row * width + c];
}

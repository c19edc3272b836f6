// embedding_bag.cl - every table's bags pooled in one launch (OPS.md, embedding_bag).
// Build options: INDEX_T, OFFSET_T, PADDING_T (int or long), VEC (4: float4 loads, D % 4 == 0;
// 1: scalar), MODE (0 sum, 1 mean, 2 max), WEIGHTED and PADDED (0/1: per-sample weights, padding
// rows).
//
// A bag is looked up by `lanes_per_bag` work-items, each owning VEC-wide columns of the row, so a
// row of D floats is read as one contiguous burst; short rows put several bags in one work-group.

#if VEC == 4
typedef float4 row_t;
#ifdef CAGR_HAS_FP64
typedef double4 sum_t;
#define TO_SUM(x) convert_double4(x)
#define TO_ROW(x) convert_float4(x)
#else
typedef float4 sum_t;
#define TO_SUM(x) (x)
#define TO_ROW(x) (x)
#endif
#else
typedef float row_t;
typedef acc_t sum_t;
#define TO_SUM(x) ((acc_t)(x))
#define TO_ROW(x) ((float)(x))
#endif

// Row `indices[i]` of the table, lane `lane`; zeros (and a recorded fault) when out of range.
inline sum_t fetch(__global const INDEX_T* indices, long i, __global const row_t* table, long rows, int lanes,
                   int lane, int t, int reporter, __global int* errors) {
  const long row = indices[i];
  if (row < 0 || row >= rows) {
    if (reporter) cagr_report(errors, CAGR_OP_EMBEDDING_BAG, CAGR_FAULT_INDEX, t, i, row, rows);
    return (sum_t)(0);
  }
  return TO_SUM(table[row * lanes + lane]);
}

#define PLAIN_SUM (MODE != 2 && !WEIGHTED && !PADDED)

__kernel void embedding_bag(__global const INDEX_T* indices, long num_indices, __global const OFFSET_T* offsets,
                            __global const row_t* tables,      // all tables, packed one after another
                            __global const long* table_rows,   // [T] rows of each table
                            __global const long* table_first,  // [T] first row of each table in `tables`
                            __global const float* weights,     // [L] with WEIGHTED, else unread
                            __global const PADDING_T* padding,  // [T] with PADDED, else unread
                            __global row_t* pooled, int num_tables, int batch,
                            int lanes,          // D / VEC
                            int lanes_per_bag,  // work-items sharing one bag
                            __global int* errors) {
  const int item = get_local_id(0);
  const int bags_per_group = get_local_size(0) / lanes_per_bag;
  const int slot = item / lanes_per_bag;
  if (slot >= bags_per_group) return;
  const int first_lane = item % lanes_per_bag;
  const long bags = (long)num_tables * batch;
  const long bag = (long)get_group_id(0) * bags_per_group + slot;  // t * batch + b, as offsets are laid out
  if (bag >= bags) return;
  const int t = (int)(bag / batch);
  const int b = (int)(bag % batch);
  const int reporter = first_lane == 0;

  const long start = offsets[bag];
  const long end = offsets[bag + 1];
  const int start_bad = start < 0 || start > num_indices || (bag == 0 && start != 0);
  const int end_bad = end < start || end > num_indices || (bag == bags - 1 && end != num_indices);
  if (start_bad || end_bad) {
    if (reporter)
      cagr_report(errors, CAGR_OP_EMBEDDING_BAG, CAGR_FAULT_OFFSETS, t, start_bad ? bag : bag + 1,
                  start_bad ? start : end, num_indices);
    return;
  }

  const long rows = table_rows[t];
  __global const row_t* table = tables + table_first[t] * lanes;
  __global row_t* out = pooled + ((long)b * num_tables + t) * lanes;
#if PADDED
  const long skip = padding[t];  // PyTorch's padding_idx: neither pooled nor counted; negative: none
#endif
  for (int lane = first_lane; lane < lanes; lane += lanes_per_bag) {
    sum_t acc = (sum_t)(0);
    long count = 0;  // rows pooled
#if PLAIN_SUM
    long i = start;
    // Four rows in flight at once: the loads are independent, so their latencies overlap.
    for (; i + 4 <= end; i += 4) {
      const sum_t r0 = fetch(indices, i, table, rows, lanes, lane, t, reporter, errors);
      const sum_t r1 = fetch(indices, i + 1, table, rows, lanes, lane, t, reporter, errors);
      const sum_t r2 = fetch(indices, i + 2, table, rows, lanes, lane, t, reporter, errors);
      const sum_t r3 = fetch(indices, i + 3, table, rows, lanes, lane, t, reporter, errors);
      acc += (r0 + r1) + (r2 + r3);
    }
    for (; i < end; ++i) acc += fetch(indices, i, table, rows, lanes, lane, t, reporter, errors);
    count = end - start;
#else
    for (long i = start; i < end; ++i) {
#if PADDED
      if (skip >= 0 && indices[i] == skip) continue;
#endif
      const sum_t r = fetch(indices, i, table, rows, lanes, lane, t, reporter, errors);
#if MODE == 2
      // A value is taken where it is greater, as PyTorch's max does (not fmax, which drops NaN).
      acc = count == 0 ? r : (r > acc ? r : acc);  // per component for vectors
#elif WEIGHTED
      acc += (acc_t)weights[i] * r;
#else
      acc += r;
#endif
      ++count;
    }
#endif
#if MODE == 1
    if (count > 0) acc /= (acc_t)count;
#endif
    out[lane] = TO_ROW(acc);
  }
}

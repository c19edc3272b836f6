// embedding_bag.cl - every table's bags pooled in one launch (OPS.md, embedding_bag).
// Build options: INDEX_T, OFFSET_T, PADDING_T (int or long), VEC (4: 4-wide loads, D % 4 == 0;
// 1: scalar), MODE (0 sum, 1 mean, 2 max), WEIGHTED and PADDED (0/1: per-sample weights, padding
// rows), TABLE_DTYPE (0 f32, 1 f16, 2 bf16, 3 u8 row-wise quantised: D codes, then the row's f32
// scale and bias; OPS.md's optional extension). Every table value is made f32 as it is loaded:
// vload_half for f16 (no cl_khr_fp16 needed), a shift for bf16, codes * scale + bias for u8.
//
// A bag is looked up by `lanes_per_bag` work-items, each owning VEC-wide columns of the row, so a
// row is read as one contiguous burst; short rows put several bags in one work-group.

#if VEC == 4
typedef float4 row_t;
#define LOAD_F32(i, p) vload4(i, p)
#define LOAD_F16(i, p) vload_half4(i, p)
#define LOAD_BITS(i, p) vload4(i, p)
#define WIDEN(x) convert_uint4(x)
#define TO_FLOAT(x) convert_float4(x)
#define BITS_AS_FLOAT(x) as_float4(x)
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
#define LOAD_F32(i, p) ((p)[i])
#define LOAD_F16(i, p) vload_half(i, p)
#define LOAD_BITS(i, p) ((p)[i])
#define WIDEN(x) ((uint)(x))
#define TO_FLOAT(x) ((float)(x))
#define BITS_AS_FLOAT(x) as_float(x)
#define TO_SUM(x) ((acc_t)(x))
#define TO_ROW(x) ((float)(x))
#endif

// Bytes of a stored row of `dim` values.
inline long row_bytes_of(long dim) {
#if TABLE_DTYPE == 3
  return dim + 8;
#elif TABLE_DTYPE == 0
  return dim * 4;
#else
  return dim * 2;
#endif
}

// Columns lane * VEC .. of a stored row, as f32.
inline row_t load_row(__global const uchar* row, int lane, long dim) {
#if TABLE_DTYPE == 0
  return LOAD_F32(lane, (__global const float*)row);
#elif TABLE_DTYPE == 1
  return LOAD_F16(lane, (__global const half*)row);
#elif TABLE_DTYPE == 2
  return BITS_AS_FLOAT(WIDEN(LOAD_BITS(lane, (__global const ushort*)row)) << 16);
#else
  // The scale and bias follow the codes, unaligned where D is not a multiple of 4.
  const float scale = as_float(vload4(0, row + dim));
  const float bias = as_float(vload4(0, row + dim + 4));
  return TO_FLOAT(LOAD_BITS(lane, row)) * scale + bias;
#endif
}

// Row `indices[i]` of the table, lane `lane`; zeros (and a recorded fault) when out of range.
inline sum_t fetch(__global const INDEX_T* indices, long i, __global const uchar* table, long rows, long dim, int lane,
                   int t, int reporter, __global int* errors) {
  const long row = indices[i];
  if (row < 0 || row >= rows) {
    if (reporter) cagr_report(errors, CAGR_OP_EMBEDDING_BAG, CAGR_FAULT_INDEX, t, i, row, rows);
    return (sum_t)(0);
  }
  return TO_SUM(load_row(table + row * row_bytes_of(dim), lane, dim));
}

#define PLAIN_SUM (MODE != 2 && !WEIGHTED && !PADDED)

__kernel void embedding_bag(__global const INDEX_T* indices, long num_indices, __global const OFFSET_T* offsets,
                            __global const uchar* tables,      // all tables, packed one after another
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
  const long dim = (long)lanes * VEC;
  __global const uchar* table = tables + table_first[t] * row_bytes_of(dim);
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
      const sum_t r0 = fetch(indices, i, table, rows, dim, lane, t, reporter, errors);
      const sum_t r1 = fetch(indices, i + 1, table, rows, dim, lane, t, reporter, errors);
      const sum_t r2 = fetch(indices, i + 2, table, rows, dim, lane, t, reporter, errors);
      const sum_t r3 = fetch(indices, i + 3, table, rows, dim, lane, t, reporter, errors);
      acc += (r0 + r1) + (r2 + r3);
    }
    for (; i < end; ++i) acc += fetch(indices, i, table, rows, dim, lane, t, reporter, errors);
    count = end - start;
#else
    for (long i = start; i < end; ++i) {
#if PADDED
      if (skip >= 0 && indices[i] == skip) continue;
#endif
      const sum_t r = fetch(indices, i, table, rows, dim, lane, t, reporter, errors);
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

// The embedding cache's fills (docs/EMBEDDING_CACHE.md): staged row r, of `row_bytes` bytes, into
// slot `slots[r]` of the cache, whose rows the kernel above then reads as its tables.
__kernel void fill_cache_rows(__global const uchar* staged, __global const long* slots, __global uchar* cache,
                              long row_bytes, long count) {
  const long r = get_global_id(0);
  if (r >= count) return;
  __global const uchar* from = staged + r * row_bytes;
  __global uchar* to = cache + slots[r] * row_bytes;
  for (long i = 0; i < row_bytes; ++i) to[i] = from[i];
}

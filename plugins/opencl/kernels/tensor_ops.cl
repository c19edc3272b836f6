// tensor_ops.cl - the general tensor ops of abi/OPS.md (ONNX semantics) that move and pick data:
// transpose / slice / expand (one strided copy), take, fixed_bag_offsets, table_offsets, cast and
// elementwise (with numpy broadcasting). One build option picks the section a program holds:
//   STRIDED_COPY  with ELEM_T (uchar, ushort, uint, ulong: elements of 1, 2, 4, 8 bytes);
//   TAKE          with ELEM_T and INDEX_T (int, long);
//   BAG_OFFSETS   with OFFSET_T (table_offsets' offsets: int, long);
//   CAST          with FROM_T, TO_T, TO_BITS_T (TO_T's unsigned type) and CAST_KIND (below);
//   ELEMENTWISE   with EW_FN (an EW_* code below), A_T, B_T, C_T (the inputs' element types; unused
//                 inputs repeat A_T), OUT_T, and for integer arithmetic UT (the unsigned type of A_T)
//                 and T_MIN (its lowest value); EW_FLOAT is defined where the values are f32.
//
// Shapes are kernel arguments, never build options: any dim of these ops may change from run to
// run (OPS.md). The host merges dims that can be walked as one (and drops dims of 1) before a
// launch, so the coordinate walk below is short: most tensors are rank 1 or 2 by then.

// Element offsets of flat output element `i` in up to three tensors read with strides s0, s1, s2
// (element units; 0 where a tensor is broadcast) over `dims` (row-major, `rank` <= 8; entries from
// `rank` on are padding). The walk is unrolled over the eight components, so dims and strides stay
// in registers whatever the rank; it runs in 32 bits where every position fits (`narrow`: a uniform
// branch, the host decides from the element count).
#define LOCATE_STEP(T, k)                  \
  if (k < rank) {                          \
    const T d = (T)dims.s##k;              \
    const T c = rest % d;                  \
    rest /= d;                             \
    at0 += (long)c * s0.s##k;              \
    at1 += (long)c * s1.s##k;              \
    at2 += (long)c * s2.s##k;              \
  }
#define LOCATE_ALL(T) \
  LOCATE_STEP(T, 7) LOCATE_STEP(T, 6) LOCATE_STEP(T, 5) LOCATE_STEP(T, 4) LOCATE_STEP(T, 3) LOCATE_STEP(T, 2) \
  LOCATE_STEP(T, 1) LOCATE_STEP(T, 0)

inline void locate(long i, int rank, int narrow, long8 dims, long8 s0, long8 s1, long8 s2, long* a0, long* a1, long* a2) {
  long at0 = 0, at1 = 0, at2 = 0;
  if (rank == 1) {
    at0 = i * s0.s0;
    at1 = i * s1.s0;
    at2 = i * s2.s0;
  } else if (narrow) {
    uint rest = (uint)i;
    LOCATE_ALL(uint)
  } else {
    long rest = i;
    LOCATE_ALL(long)
  }
  *a0 = at0;
  *a1 = at1;
  *a2 = at2;
}

// ---- transpose, slice, expand ----------------------------------------------------------------
#ifdef STRIDED_COPY
// y[i] = x[offset + sum_k c_k * strides[k]] for the coordinates c of output element i. Strides may be
// 0 (expand) or negative (a slice with a negative step).
__kernel void strided_copy(__global const ELEM_T* x, __global ELEM_T* y, long numel, long offset, int rank,
                           int narrow, long8 dims, long8 strides) {
  const long i = get_global_id(0);
  if (i >= numel) return;
  long at, unused1, unused2;
  locate(i, rank, narrow, dims, strides, (long8)(0), (long8)(0), &at, &unused1, &unused2);
  y[i] = x[offset + at];
}
#endif

// ---- take (ONNX Gather) ----------------------------------------------------------------------
#ifdef TAKE
// out[o, j, r] = data[o, wrap(indices[j]), r], the data [outer, axis_len, inner]; indices in
// [-axis_len, axis_len), negative ones counting from the end; any other is reported (position j).
__kernel void take(__global const ELEM_T* data, __global const INDEX_T* indices, __global ELEM_T* y, long outer,
                   long axis_len, long inner, long count, int narrow, __global int* errors) {
  const long item = get_global_id(0);
  if (item >= outer * count * inner) return;
  long r, j, o;
  if (narrow) {
    const uint q = (uint)item / (uint)inner;
    r = (uint)item - q * (uint)inner;
    j = q % (uint)count;
    o = q / (uint)count;
  } else {
    const long q = item / inner;
    r = item - q * inner;
    j = q % count;
    o = q / count;
  }
  long index = indices[j];
  if (index < -axis_len || index >= axis_len) {
    if (o == 0 && r == 0) cagr_report(errors, CAGR_OP_TAKE, CAGR_FAULT_INDEX, 0, j, index, axis_len);
    return;
  }
  if (index < 0) index += axis_len;
  y[item] = data[(o * axis_len + index) * inner + r];
}

// Only the indices' check, for a run whose output is empty (outer or inner 0) but whose indices
// are not: they are still out of range or not, as the reference finds.
__kernel void take_check(__global const INDEX_T* indices, long axis_len, long count, __global int* errors) {
  const long j = get_global_id(0);
  if (j >= count) return;
  const long index = indices[j];
  if (index < -axis_len || index >= axis_len) cagr_report(errors, CAGR_OP_TAKE, CAGR_FAULT_INDEX, 0, j, index, axis_len);
}
#endif

// ---- fixed_bag_offsets, table_offsets --------------------------------------------------------
#ifdef BAG_OFFSETS
// 0, bag_size, 2 bag_size, .., bags * bag_size.
__kernel void fixed_bag_offsets(__global long* y, long bags, long bag_size) {
  const long i = get_global_id(0);
  if (i <= bags) y[i] = i * bag_size;
}

// y[t*B + b] = offsets[t, b] + t*L, then y[T*B] = T*L. Each table's first offset must be 0 and
// every offset in 0..L: any other is reported (its position, its value, L).
__kernel void table_offsets(__global const OFFSET_T* offsets, __global long* y, long tables, long batch, long row_length,
                            __global int* errors) {
  const long i = get_global_id(0);
  const long n = tables * batch;
  if (i > n) return;
  if (i == n) {
    y[i] = tables * row_length;
    return;
  }
  const long t = i / batch, b = i - t * batch;
  const long offset = offsets[i];
  if (offset < 0 || offset > row_length || (b == 0 && offset != 0)) {
    cagr_report(errors, CAGR_OP_TABLE_OFFSETS, CAGR_FAULT_OFFSETS, (int)t, i, offset, row_length);
    return;
  }
  y[i] = offset + t * row_length;
}
#endif

// ---- cast -------------------------------------------------------------------------------------
#ifdef CAST
#define CAST_F32_TO_INT 1  // truncated toward zero, saturated at TO_T's range, NaN giving 0
#define CAST_TO_F32 2      // an integer rounded to the nearest f32
#define CAST_INT_TO_INT 3  // the low bits, two's complement (wider: sign- or zero-extended)
#define CAST_SAME 4
#define SAT_RTZ(T, x) SAT_RTZ_(T, x)
#define SAT_RTZ_(T, x) convert_##T##_sat_rtz(x)
#define AS(T, x) AS_(T, x)
#define AS_(T, x) as_##T(x)

__kernel void cast(__global const FROM_T* x, __global TO_T* y, long numel) {
  const long i = get_global_id(0);
  if (i >= numel) return;
#if CAST_KIND == CAST_F32_TO_INT
  y[i] = SAT_RTZ(TO_T, x[i]);  // OpenCL's saturating conversions give 0 for NaN
#elif CAST_KIND == CAST_TO_F32
  y[i] = convert_float(x[i]);
#elif CAST_KIND == CAST_INT_TO_INT
  y[i] = AS(TO_T, (TO_BITS_T)x[i]);  // to unsigned is modulo 2^bits; as_type keeps those bits
#else
  y[i] = x[i];
#endif
}
#endif

// ---- elementwise -----------------------------------------------------------------------------
#ifdef ELEMENTWISE
#define EW_NEG 1
#define EW_ABS 2
#define EW_SQRT 3
#define EW_EXP 4
#define EW_LOG 5
#define EW_TANH 6
#define EW_RECIPROCAL 7
#define EW_FLOOR 8
#define EW_CEIL 9
#define EW_NOT 10
#define EW_ADD 11
#define EW_SUB 12
#define EW_MUL 13
#define EW_DIV 14
#define EW_POW 15
#define EW_MAX 16
#define EW_MIN 17
#define EW_EQUAL 18
#define EW_LESS 19
#define EW_GREATER 20
#define EW_LESS_OR_EQUAL 21
#define EW_GREATER_OR_EQUAL 22
#define EW_AND 23
#define EW_OR 24
#define EW_XOR 25
#define EW_WHERE 26

// f32 functions are evaluated in double where the device has it, then rounded once, as the
// reference computes them (so sqrt, div and reciprocal are correctly rounded, exp/log/tanh/pow
// within an ulp of it); otherwise in f32 with OpenCL's accuracy (a few ulp, inside OPS.md's 1e-5).
#ifdef CAGR_HAS_FP64
#define WIDE(x) ((double)(x))
#else
#define WIDE(x) (x)
#endif

// One output element from the input elements it reads; `i` is its position (for reports).
inline OUT_T apply(A_T a, B_T b, C_T c, long i, __global int* errors) {
#if EW_FN == EW_WHERE
  return a != 0 ? b : c;
#elif EW_FN == EW_NOT
  return a == 0 ? 1 : 0;
#elif EW_FN == EW_AND
  return (a != 0) && (b != 0) ? 1 : 0;
#elif EW_FN == EW_OR
  return (a != 0) || (b != 0) ? 1 : 0;
#elif EW_FN == EW_XOR
  return (a != 0) != (b != 0) ? 1 : 0;
#elif EW_FN == EW_EQUAL
  return a == b ? 1 : 0;
#elif EW_FN == EW_LESS
  return a < b ? 1 : 0;
#elif EW_FN == EW_GREATER
  return a > b ? 1 : 0;
#elif EW_FN == EW_LESS_OR_EQUAL
  return a <= b ? 1 : 0;
#elif EW_FN == EW_GREATER_OR_EQUAL
  return a >= b ? 1 : 0;
#elif defined(EW_FLOAT)
#if EW_FN == EW_NEG
  return -a;
#elif EW_FN == EW_ABS
  return fabs(a);
#elif EW_FN == EW_SQRT
  return (float)sqrt(WIDE(a));
#elif EW_FN == EW_EXP
  return (float)exp(WIDE(a));
#elif EW_FN == EW_LOG
  return (float)log(WIDE(a));
#elif EW_FN == EW_TANH
  return (float)tanh(WIDE(a));
#elif EW_FN == EW_RECIPROCAL
  return (float)(WIDE(1.0f) / WIDE(a));
#elif EW_FN == EW_FLOOR
  return floor(a);
#elif EW_FN == EW_CEIL
  return ceil(a);
#elif EW_FN == EW_ADD
  return a + b;
#elif EW_FN == EW_SUB
  return a - b;
#elif EW_FN == EW_MUL
  return a * b;
#elif EW_FN == EW_DIV
  return (float)(WIDE(a) / WIDE(b));
#elif EW_FN == EW_POW
  return (float)pow(WIDE(a), WIDE(b));
#elif EW_FN == EW_MAX
  return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);  // NaN from either operand, as numpy's maximum
#elif EW_FN == EW_MIN
  return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
#else
#error "EW_FN is not an f32 function"
#endif
#else  // signed integers: add, sub, mul, neg and abs wrap around (computed unsigned), div truncates
#if EW_FN == EW_NEG
  return (A_T)((UT)0 - (UT)a);
#elif EW_FN == EW_ABS
  return a < 0 ? (A_T)((UT)0 - (UT)a) : a;
#elif EW_FN == EW_ADD
  return (A_T)((UT)a + (UT)b);
#elif EW_FN == EW_SUB
  return (A_T)((UT)a - (UT)b);
#elif EW_FN == EW_MUL
  return (A_T)((UT)a * (UT)b);
#elif EW_FN == EW_DIV
  if (b == 0) {
    cagr_report(errors, CAGR_OP_ELEMENTWISE_DIV, CAGR_FAULT_DIVIDE_BY_ZERO, 0, i, (long)a, 0);
    return 0;
  }
  if (b == -1 && a == T_MIN) {
    cagr_report(errors, CAGR_OP_ELEMENTWISE_DIV, CAGR_FAULT_OVERFLOW, 0, i, (long)a, -1);
    return 0;
  }
  return a / b;
#elif EW_FN == EW_MAX
  return a > b ? a : b;
#elif EW_FN == EW_MIN
  return a < b ? a : b;
#else
#error "EW_FN is not an integer function"
#endif
#endif
}

// y[i] = fn(a[...], b[...], c[...]) with every input broadcast to the output (strides 0 where it is).
// Inputs an fn does not have are bound to `a` with strides 0 and never read.
__kernel void elementwise(__global const A_T* a, __global const B_T* b, __global const C_T* c, __global OUT_T* y,
                          long numel, int rank, int narrow, long8 dims, long8 sa, long8 sb, long8 sc,
                          __global int* errors) {
  const long i = get_global_id(0);
  if (i >= numel) return;
  long ia, ib, ic;
  locate(i, rank, narrow, dims, sa, sb, sc, &ia, &ib, &ic);
  y[i] = apply(a[ia], b[ib], c[ic], i, errors);
}
#endif

// reduce_sum.cl - sums over any set of axes (OPS.md, reduce_sum).
// The host splits the input's dims into kept ones (which index the output, last fastest) and
// reduced ones, each with its size and its stride in the input; unused entries have size 1.

inline long offset_of(long index, long8 sizes, long8 strides, int count) {
  const long s[8] = {sizes.s0, sizes.s1, sizes.s2, sizes.s3, sizes.s4, sizes.s5, sizes.s6, sizes.s7};
  const long st[8] = {strides.s0, strides.s1, strides.s2, strides.s3, strides.s4, strides.s5, strides.s6, strides.s7};
  long offset = 0;
  for (int d = count - 1; d >= 0; --d) {
    offset += (index % s[d]) * st[d];
    index /= s[d];
  }
  return offset;
}

__kernel void reduce_sum(__global const float* x, __global float* y, long outputs, long reduced,
                         long8 kept_sizes, long8 kept_strides, int kept_count,
                         long8 reduced_sizes, long8 reduced_strides, int reduced_count) {
  const long o = get_global_id(0);
  if (o >= outputs) return;
  const long base = offset_of(o, kept_sizes, kept_strides, kept_count);
  acc_t sum = 0;
  for (long r = 0; r < reduced; ++r) sum += x[base + offset_of(r, reduced_sizes, reduced_strides, reduced_count)];
  y[o] = (float)sum;
}

// interaction.cl - DLRM's pairwise dot products and DeepFM's second-order term (OPS.md).

// One work-item per (sample, pair). Pairs run row by row over the lower triangle: row i holds
// j = 0 .. i-1 (or .. i with self interaction).
__kernel void dot_interaction(__global const float* features, __global float* dots, int batch, int F, int D,
                              int pairs, int self_interaction) {
  const long item = get_global_id(0);
  if (item >= (long)batch * pairs) return;
  const int b = (int)(item / pairs);
  int p = (int)(item % pairs);
  int i = self_interaction ? 0 : 1;
  while (p >= i + self_interaction) {
    p -= i + self_interaction;
    ++i;
  }
  const int j = p;
  __global const float* xi = features + ((long)b * F + i) * D;
  __global const float* xj = features + ((long)b * F + j) * D;
  acc_t sum = 0;
  for (int d = 0; d < D; ++d) sum += (acc_t)xi[d] * xj[d];
  dots[item] = (float)sum;
}

// One work-item per sample: 0.5 * sum_d ((sum_f x)^2 - sum_f x^2).
__kernel void fm_interaction(__global const float* features, __global float* fm, int batch, int F, int D) {
  const int b = get_global_id(0);
  if (b >= batch) return;
  __global const float* x = features + (long)b * F * D;
  acc_t total = 0;
  for (int d = 0; d < D; ++d) {
    acc_t sum = 0, squares = 0;
    for (int f = 0; f < F; ++f) {
      const acc_t v = x[(long)f * D + d];
      sum += v;
      squares += v * v;
    }
    total += sum * sum - squares;
  }
  fm[b] = (float)(0.5 * total);
}

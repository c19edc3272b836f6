// interaction.cl - DLRM's pairwise dot products and DeepFM's second-order term (OPS.md).

// One work-item per (sample, output column). Pairs run row by row over the lower triangle: row i holds
// j = 0 .. i-1 (or .. i with self interaction).
__kernel void dot_interaction(__global const float* dense, __global const float* pooled, __global float* out,
                              int batch, int F, int D, int pairs, int self_interaction, int dense_rows, int cols) {
  // dense_rows = 1 (dlrm_interaction): feature 0 is dense[b] and each output row starts with it;
  // columns after the dots (pad_to) are zeros.
  const long item = get_global_id(0);
  if (item >= (long)batch * cols) return;
  const int b = (int)(item / cols);
  int p = (int)(item % cols) - dense_rows * D;
  if (p < 0) {
    out[item] = dense[(long)b * D + p + D];
    return;
  }
  if (p >= pairs) {
    out[item] = 0.0f;
    return;
  }
  int i = self_interaction ? 0 : 1;
  while (p >= i + self_interaction) {
    p -= i + self_interaction;
    ++i;
  }
  const int j = p;
  const int pooled_rows = F - dense_rows;
  __global const float* xi = i < dense_rows ? dense + (long)b * D : pooled + ((long)b * pooled_rows + i - dense_rows) * D;
  __global const float* xj = j < dense_rows ? dense + (long)b * D : pooled + ((long)b * pooled_rows + j - dense_rows) * D;
  acc_t sum = 0;
  for (int d = 0; d < D; ++d) sum += (acc_t)xi[d] * xj[d];
  out[item] = (float)sum;
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

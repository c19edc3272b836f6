// top_k.cl - the k largest entries of each row, largest first (OPS.md, top_k).

// Whether (a, ia) comes before (b, ib): NaN before every number, larger values first, equal
// values by lower index.
inline int before(float a, long ia, float b, long ib) {
  const int a_nan = isnan(a), b_nan = isnan(b);
  if (a_nan || b_nan) return (a_nan && b_nan) ? ia < ib : a_nan;
  if (a != b) return a > b;
  return ia < ib;
}

// One work-item per row. Pick r is the first element, in that order, that comes after pick r-1:
// k passes over the row and no scratch memory, whatever k is.
__kernel void top_k(__global const float* scores, __global float* values, __global long* indices, int rows, int n,
                    int k) {
  const int row = get_global_id(0);
  if (row >= rows) return;
  __global const float* s = scores + (long)row * n;
  float last = 0.f;
  long last_index = -1;
  for (int r = 0; r < k; ++r) {
    float best = 0.f;
    long best_index = -1;
    for (int j = 0; j < n; ++j) {
      const float v = s[j];
      if (last_index >= 0 && !before(last, last_index, v, j)) continue;
      if (best_index < 0 || before(v, j, best, best_index)) {
        best = v;
        best_index = j;
      }
    }
    values[(long)row * k + r] = best;
    indices[(long)row * k + r] = best_index;
    last = best;
    last_index = best_index;
  }
}

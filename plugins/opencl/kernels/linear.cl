// linear.cl - Y = act(X · Wᵀ + bias) as a tiled matrix product (OPS.md, linear); with `cross`,
// Y = x0 * (X · Wᵀ + bias) + R (OPS.md, cross_layer), the epilogue applied to each output as it
// leaves the accumulators.
// Build options: TILE (output tile edge), WPT (outputs per work-item along each edge); a
// work-group is (TILE/WPT)² work-items and stages TILE×TILE tiles of X and W in local memory.

#define THREADS (TILE / WPT)
#define ACTIVATION_RELU 1
#define ACTIVATION_SIGMOID 2

__kernel void linear(__global const float* x,     // [M, K]
                     __global const float* w,     // [N, K]
                     __global const float* bias,  // [N], read only when has_bias
                     __global const float* x0,    // [M, N], read only when cross
                     __global const float* r,     // [M, N], read only when cross
                     __global float* y,           // [M, N]
                     int M, int N, int K, int has_bias, int activation, int cross) {
  // +1 column: work-items of a row read down columns of `ws` without local memory bank conflicts.
  __local float xs[TILE][TILE + 1];
  __local float ws[TILE][TILE + 1];
  const int ln = get_local_id(0), lm = get_local_id(1);
  const int n0 = get_group_id(0) * TILE, m0 = get_group_id(1) * TILE;
  acc_t acc[WPT][WPT];
  for (int i = 0; i < WPT; ++i)
    for (int j = 0; j < WPT; ++j) acc[i][j] = 0;

  for (int k0 = 0; k0 < K; k0 += TILE) {
    // Neighbouring work-items load neighbouring k: coalesced reads of both row-major operands.
    for (int i = 0; i < WPT; ++i) {
      for (int j = 0; j < WPT; ++j) {
        const int r = lm + i * THREADS, c = ln + j * THREADS;
        xs[r][c] = (m0 + r < M && k0 + c < K) ? x[(long)(m0 + r) * K + k0 + c] : 0.f;
        ws[r][c] = (n0 + r < N && k0 + c < K) ? w[(long)(n0 + r) * K + k0 + c] : 0.f;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 0; k < TILE; ++k)
      for (int i = 0; i < WPT; ++i)
        for (int j = 0; j < WPT; ++j) acc[i][j] += (acc_t)xs[lm + i * THREADS][k] * ws[ln + j * THREADS][k];
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  for (int i = 0; i < WPT; ++i) {
    for (int j = 0; j < WPT; ++j) {
      const int m = m0 + lm + i * THREADS, n = n0 + ln + j * THREADS;
      if (m >= M || n >= N) continue;
      acc_t sum = acc[i][j] + (has_bias ? (acc_t)bias[n] : (acc_t)0);
      if (cross) sum = (acc_t)x0[(long)m * N + n] * sum + (acc_t)r[(long)m * N + n];
      float v = (float)sum;
      if (activation == ACTIVATION_RELU) v = v < 0.f ? 0.f : v;
      else if (activation == ACTIVATION_SIGMOID) v = 1.f / (1.f + exp(-v));
      y[(long)m * N + n] = v;
    }
  }
}

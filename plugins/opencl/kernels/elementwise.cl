// elementwise.cl - relu, sigmoid, and add / mul with B repeated over A's leading dims (OPS.md).

__kernel void relu(__global const float* x, __global float* y, long n) {
  const long i = get_global_id(0);
  if (i < n) y[i] = x[i] < 0.f ? 0.f : x[i];  // NaN passes through, as max(x, 0) in the reference
}

__kernel void sigmoid(__global const float* x, __global float* y, long n) {
  const long i = get_global_id(0);
  if (i < n) y[i] = 1.f / (1.f + exp(-x[i]));
}

// B has nb elements: A's shape or a suffix of it, so element i of A pairs with element i % nb.
__kernel void add(__global const float* a, __global const float* b, __global float* y, long n, long nb) {
  const long i = get_global_id(0);
  if (i < n) y[i] = a[i] + b[i % nb];
}

__kernel void mul(__global const float* a, __global const float* b, __global float* y, long n, long nb) {
  const long i = get_global_id(0);
  if (i < n) y[i] = a[i] * b[i % nb];
}

// probe.cl - the two kernels that measure a device's peak rates once (probe.cpp).

// Streams memory: each work-item copies one float4.
__kernel void probe_copy(__global const float4* src, __global float4* dst) {
  const size_t i = get_global_id(0);
  dst[i] = src[i];
}

// Arithmetic only: eight independent chains of float4 multiply-adds keep the pipelines full.
__kernel void probe_fma(__global float* out, float seed, int iterations) {
  const float x = seed * (float)get_global_id(0);
  float4 a0 = x + (float4)(0, 1, 2, 3), a1 = a0 + 1.f, a2 = a0 + 2.f, a3 = a0 + 3.f;
  float4 a4 = a0 + 4.f, a5 = a0 + 5.f, a6 = a0 + 6.f, a7 = a0 + 7.f;
  const float4 m = (float4)(0.999f), c = (float4)(0.001f);
  for (int i = 0; i < iterations; ++i) {
    a0 = mad(a0, m, c); a1 = mad(a1, m, c); a2 = mad(a2, m, c); a3 = mad(a3, m, c);
    a4 = mad(a4, m, c); a5 = mad(a5, m, c); a6 = mad(a6, m, c); a7 = mad(a7, m, c);
  }
  const float4 s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  out[get_global_id(0)] = s.x + s.y + s.z + s.w;
}

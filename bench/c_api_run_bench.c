/* c_api_run_bench.c - the C API's time per call, the baseline of bench/python_overhead.py: one
 * forward pass of the zoo's Avazu DLRM (dlrm_avazu_sample) and reading its output, as an
 * application makes them (cagr_session_run, cagr_session_output), on the inputs the Python side
 * makes too (dense (i % 7) / 7, ids i % 3, one id per bag). Prints each timed call in ns, a line each.
 *
 *   c_api_run_bench MODEL.xml BATCH CALLS [PLUGINS]      (PLUGINS: default "cpu")
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cagr.h"

#define TABLES 22
#define WARMUP 50

static int fail(const char* what) {
  fprintf(stderr, "c_api_run_bench: %s: %s\n", what, cagr_last_error());
  return 1;
}

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL.xml BATCH CALLS [PLUGINS]\n", argv[0]);
    return 2;
  }
  const long batch = atol(argv[2]), calls = atol(argv[3]);
  if (batch < 1 || calls < 1) {
    fprintf(stderr, "c_api_run_bench: BATCH and CALLS must be at least 1\n");
    return 2;
  }
  cagr_runtime_options options = {sizeof(cagr_runtime_options), argc > 4 ? argv[4] : "cpu", NULL, 1};
  cagr_runtime* runtime = NULL;
  if (cagr_runtime_create(&options, &runtime) != CAGR_API_OK) return fail("runtime");
  cagr_model* model = NULL;
  if (cagr_model_load(runtime, argv[1], &model) != CAGR_API_OK) return fail("model");
  cagr_session_options session_options = {0};
  session_options.struct_size = sizeof session_options;
  session_options.optimizer = "hints"; /* cagr.Model's default */
  cagr_session* session = NULL;
  if (cagr_session_create(model, &session_options, &session) != CAGR_API_OK) return fail("session");

  const long ids = batch * TABLES;
  float* dense = malloc(sizeof(float) * (size_t)batch * 2);
  int64_t* indices = malloc(sizeof(int64_t) * (size_t)ids);
  int64_t* offsets = malloc(sizeof(int64_t) * (size_t)(ids + 1));
  long long* times = malloc(sizeof(long long) * (size_t)calls);
  if (!dense || !indices || !offsets || !times) return fail("out of memory");
  for (long i = 0; i < batch * 2; ++i) dense[i] = (float)(i % 7) / 7.0f;
  for (long i = 0; i < ids; ++i) indices[i] = i % 3;
  for (long i = 0; i <= ids; ++i) offsets[i] = i;
  const int64_t dense_dims[2] = {batch, 2}, index_dims[1] = {ids}, offset_dims[1] = {ids + 1};
  const cagr_tensor inputs[3] = {
      {sizeof(cagr_tensor), "dense", CAGR_F32, 2, dense_dims, dense},
      {sizeof(cagr_tensor), "indices", CAGR_I64, 1, index_dims, indices},
      {sizeof(cagr_tensor), "offsets", CAGR_I64, 1, offset_dims, offsets},
  };
  cagr_tensor prob = {sizeof(cagr_tensor)};
  for (long i = 0; i < WARMUP + calls; ++i) {
    const long long start = now_ns();
    if (cagr_session_run(session, 3, inputs) != CAGR_API_OK) return fail("run");
    if (cagr_session_output(session, "prob", &prob) != CAGR_API_OK) return fail("output");
    if (i >= WARMUP) times[i - WARMUP] = now_ns() - start;
  }
  for (long i = 0; i < calls; ++i) printf("%lld\n", times[i]);
  free(times);
  free(offsets);
  free(indices);
  free(dense);
  cagr_session_destroy(session);
  cagr_model_destroy(model);
  cagr_runtime_destroy(runtime);
  return 0;
}

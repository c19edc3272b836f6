/* predict.c - the smallest application of CAGR's C API: load the plugins and a model, run one
 * batch of two samples, print the click probabilities.
 *
 *   predict MODEL.xml [PLUGINS]     (PLUGINS: "auto", names, or plugin files; default "auto")
 */
#include <stdio.h>
#include <stdlib.h>

#include "cagr.h"

#define TABLES 22
#define BATCH 2

static int fail(const char* what) {
  fprintf(stderr, "predict: %s: %s\n", what, cagr_last_error());
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.xml [PLUGINS]\n", argv[0]);
    return 2;
  }
  cagr_runtime_options options = {sizeof(cagr_runtime_options), argc > 2 ? argv[2] : "auto", NULL, 1};
  cagr_runtime* runtime = NULL;
  if (cagr_runtime_create(&options, &runtime) != CAGR_API_OK) return fail("runtime");
  cagr_model* model = NULL;
  if (cagr_model_load(runtime, argv[1], &model) != CAGR_API_OK) return fail("model");
  cagr_session* session = NULL;
  if (cagr_session_create(model, NULL, &session) != CAGR_API_OK) return fail("session");

  /* Two samples: hour-of-day and weekday features, and one id per table (bags of one). */
  float dense[BATCH * 2] = {0.5f, 0.25f, 0.9f, 1.0f};
  int64_t indices[BATCH * TABLES], offsets[BATCH * TABLES + 1];
  for (int i = 0; i < BATCH * TABLES; ++i) {
    indices[i] = 1 + (i / TABLES); /* rows 1 and 2: every table has at least 3 rows */
    offsets[i] = i;
  }
  offsets[BATCH * TABLES] = BATCH * TABLES;
  const int64_t dense_dims[2] = {BATCH, 2}, index_dims[1] = {BATCH * TABLES}, offset_dims[1] = {BATCH * TABLES + 1};
  cagr_tensor inputs[3] = {
      {sizeof(cagr_tensor), "dense", CAGR_F32, 2, dense_dims, dense},
      {sizeof(cagr_tensor), "indices", CAGR_I64, 1, index_dims, indices},
      {sizeof(cagr_tensor), "offsets", CAGR_I64, 1, offset_dims, offsets},
  };
  if (cagr_session_run(session, 3, inputs) != CAGR_API_OK) return fail("run");
  cagr_tensor prob = {sizeof(cagr_tensor)};
  if (cagr_session_output(session, "prob", &prob) != CAGR_API_OK) return fail("output");
  for (int64_t i = 0; i < prob.dims[0]; ++i) printf("sample %lld: click probability %.6f\n", (long long)i, ((float*)prob.data)[i]);

  cagr_session_destroy(session);
  cagr_model_destroy(model);
  cagr_runtime_destroy(runtime);
  return 0;
}

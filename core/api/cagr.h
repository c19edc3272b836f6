/*
 * cagr.h - the C API for embedding the CAGR runtime in an application.
 *
 *   cagr_runtime* rt = cagr_runtime_create(&opts);      // discovers and loads plugins
 *   cagr_model* m = cagr_model_load(rt, "model.xml");   // reads and validates the graph
 *   cagr_session* s = cagr_session_create(m, &sopts);   // places nodes and prepares kernels
 *   cagr_session_run(s, n_in, inputs);                  // one forward pass
 *   cagr_session_output(s, "prob", &out);               // results, valid until the next run
 *
 * Every function that can fail returns CAGR_API_OK (0) or another cagr_api_status, and leaves a
 * message for cagr_last_error() on the calling thread. Objects are released with their
 * *_destroy function; a session keeps its model and runtime alive, so they may be destroyed in any
 * order. Options structs start with struct_size (set it to sizeof) so they can grow.
 *
 * Threads. A runtime and a model may be shared by any number of threads: after creation nothing
 * changes them (cagr_model_* and cagr_runtime_describe only read), and cagr_session_create may be
 * called on one model from several threads at once. A session may not be shared: it is one
 * thread's at a time (its outputs, plan and buffers change with each run). Give each thread its own
 * session over the shared model; sessions run in parallel. A session call made while another
 * thread is inside a call on the same session fails with CAGR_API_SESSION_BUSY and touches nothing
 * (it never crashes or corrupts the other call); a session may move between threads between calls.
 * cagr_session_destroy must not race another call on the same session, and cagr_runtime_destroy /
 * cagr_model_destroy must not race calls that use that runtime or model (sessions keep what they
 * need alive). cagr_last_error is per thread.
 */
#ifndef CAGR_H_
#define CAGR_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cagr_api_status {
  CAGR_API_OK = 0,
  CAGR_API_INVALID_ARGUMENT = 1, /* bad model, bad input, unknown name */
  CAGR_API_UNSUPPORTED = 2,      /* no plugin can run something */
  CAGR_API_OUT_OF_MEMORY = 3,
  CAGR_API_DEVICE_ERROR = 4,
  CAGR_API_INTERNAL = 6,
  CAGR_API_SESSION_BUSY = 7      /* the session is inside a call on another thread (see Threads above) */
} cagr_api_status;

/* Element types: the same values as the plugin ABI's cagr_dtype. */
enum {
  CAGR_F32 = 1,
  CAGR_F16 = 2,
  CAGR_BF16 = 3,
  CAGR_I32 = 4,
  CAGR_I64 = 5,
  CAGR_I8 = 6,
  CAGR_U8 = 7
};

typedef struct cagr_runtime cagr_runtime;
typedef struct cagr_model cagr_model;
typedef struct cagr_session cagr_session;

/* The message of the last failed call on this thread ("" if none). Valid until the next call. */
const char* cagr_last_error(void);

typedef struct cagr_runtime_options {
  size_t struct_size;
  /* "auto" (every plugin found), a comma-separated list of plugin names ("cpu,opencl"), or of
   * plugin files / folders. NULL means "auto". */
  const char* plugins;
  const char* manifest;      /* a plugins.xml, or NULL */
  int probe_in_child;        /* 1: load each plugin in a child process first, so a crashing one is skipped */
  /* Added later (read only where struct_size holds them; 0 where it does not): */
  /* 1: run each plugin in a worker process of its own, so that one crashing or hanging while it runs
   * costs an error instead of the application: cagr_session_run then places the pass again on the
   * other devices and runs it (cagr_session_plan_warnings names the plugin left out and why); where
   * no other device can, it fails with CAGR_API_DEVICE_ERROR naming the plugin, the entry point and
   * the node. Costs time per call into a plugin (docs/RELIABILITY.md). */
  int isolate_plugins;
  int64_t plugin_timeout_ms; /* with isolate_plugins: a call not answered within this is a hang; 0: 60000 */
} cagr_runtime_options;

cagr_api_status cagr_runtime_create(const cagr_runtime_options* options, cagr_runtime** runtime);
void cagr_runtime_destroy(cagr_runtime* runtime);
/* A table of every plugin found, its status, and its devices. Valid until the runtime is destroyed. */
const char* cagr_runtime_describe(cagr_runtime* runtime);

cagr_api_status cagr_model_load(cagr_runtime* runtime, const char* path, cagr_model** model);
void cagr_model_destroy(cagr_model* model);
size_t cagr_model_input_count(const cagr_model* model);
const char* cagr_model_input_name(const cagr_model* model, size_t index);
size_t cagr_model_output_count(const cagr_model* model);
const char* cagr_model_output_name(const cagr_model* model, size_t index);

/* A tensor in host memory, dense row-major. */
typedef struct cagr_tensor {
  size_t struct_size;
  const char* name;
  int32_t dtype;          /* CAGR_F32 ... */
  int32_t rank;
  const int64_t* dims;
  void* data;             /* inputs: read during cagr_session_run only; outputs: runtime-owned */
} cagr_tensor;

/* What a model input (output) is: out->name, dtype, rank and dims, with -1 for a dimension known
 * only at run time (the batch, the number of ids); out->data is NULL. Valid while the model lives. */
cagr_api_status cagr_model_input_info(const cagr_model* model, size_t index, cagr_tensor* out);
cagr_api_status cagr_model_output_info(const cagr_model* model, size_t index, cagr_tensor* out);

typedef struct cagr_session_options {
  size_t struct_size;
  /* Shapes to compile for: one entry per model input, in the model's input order (dims of each).
   * Runs may then change the dimensions that vary per run. NULL: compile at the first run's shapes. */
  const cagr_tensor* example_inputs;
  size_t num_example_inputs;
  int profile;            /* 1: time every node (see cagr_session_profile) */
  /* A plan file (cagr_session_save_plan, cagr-run --save-plan) to place the nodes by, without
   * measuring; NULL: decide by the plugins' cost hints. Nodes whose plugin, device or variant is
   * missing here are placed by cost hints (cagr_session_plan_warnings says which). */
  const char* plan_path;
  /* How to decide the plan when no plan_path is given (docs/OPTIMISER.md): NULL (the plugins' cost
   * hints, nothing measured), "none" (no fusion, default variants), "hints" (cost hints checked by
   * timing them against each device alone), "policy" (the learned policy; the best few candidates
   * timed) or "tune" (every candidate and variant timed). The modes that time passes run them on the
   * example inputs, or on the first run's inputs where none are given. */
  const char* optimizer;
  /* With optimizer "policy": the policy file; NULL: the one shipped (or $CAGR_POLICY). */
  const char* policy_path;
  /* The loosest arithmetic the session allows every node (docs/PLANS.md): NULL or "f32", "tf32",
   * "bf16" (the operands of products rounded) or "int8" (quantised; sums, inputs and outputs stay
   * f32). The plugins then
   * offer such variants beside their f32 ones and the optimiser chooses; a plan_path plan brings
   * the allowance it was made with. Added after policy_path: older callers' struct_size leaves it
   * out, and they get f32. */
  const char* math_precision;
  /* How embedding_bag's constant f32 tables are stored: NULL or "f32" (as the model has them),
   * "f16", "bf16" or "u8" (row-wise quantised: per row scale = (max - min) / 255, bias = min; abi/OPS.md).
   * Converted when the session compiles, where the device's plugin accepts such tables; the others
   * stay f32 and cagr_session_plan_warnings names them. A plan_path plan brings its own. Added after
   * math_precision: older callers' struct_size leaves it out, and they get f32. */
  const char* table_precision;
  /* 0: the session plans again when a run's batch (the first dimension of its inputs) falls in
   * another range than those it has plans for: 1, 2-8, 9-64, 65-512, 513-4096, and so on by
   * eights. Each plan is made at the first batch of its range and serves the range; nodes that run
   * the same way in two plans share their kernel, and so their weights on the device (a node with
   * large weights, an embedding table, keeps its first plan's variant rather than have them copied
   * twice). Nonzero: one plan, made at the first shapes, serves every batch. A plan_path plan is one
   * plan either way. Added after table_precision: older callers' struct_size leaves it out (0). */
  int fixed_plan;
} cagr_session_options;

cagr_api_status cagr_session_create(cagr_model* model, const cagr_session_options* options, cagr_session** session);
void cagr_session_destroy(cagr_session* session);

/* One forward pass with inputs matched by name. */
cagr_api_status cagr_session_run(cagr_session* session, size_t num_inputs, const cagr_tensor* inputs);
/* An output of the last run, by name; out->dims and out->data stay valid until the next run. */
cagr_api_status cagr_session_output(cagr_session* session, const char* name, cagr_tensor* out);
/* The placement (node, op, device, variant, estimated cost) of the plan the last run used (see
 * cagr_session_options.fixed_plan), as a table; valid until the next call. */
const char* cagr_session_plan(cagr_session* session);
/* Writes the plan the last run used (fusions, and each node's plugin, device and variant) to
 * `path`, for cagr_session_options.plan_path. The session must have compiled (a run, or example
 * inputs). */
cagr_api_status cagr_session_save_plan(cagr_session* session, const char* path);
/* What the last run's plan could not follow here (a loaded plan's missing devices, tables left f32)
 * and the devices lost while running, one line each, or ""; valid until the next call. */
const char* cagr_session_plan_warnings(cagr_session* session);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CAGR_H_ */

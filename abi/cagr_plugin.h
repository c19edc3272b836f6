/*
 * cagr_plugin.h - the stable C ABI between the CAGR runtime (the host) and operator-kernel plugins.
 *
 * A plugin is a shared library that exports exactly one symbol, `cagr_plugin_entry` (see the end of
 * this file). The host calls it once with the highest ABI version it knows; the plugin answers the
 * version it will speak and hands back a table of entry points (`cagr_plugin_api`).
 *
 * Growth rules (why a plugin built last year still loads next year):
 *  - MAJOR changes only on a break. A host accepts every major in
 *    [CAGR_ABI_OLDEST_SUPPORTED_MAJOR, CAGR_ABI_VERSION_MAJOR]; never an exact-match check.
 *  - MINOR adds fields at the END of structs and entry points at the END of the table. Nothing is
 *    ever removed or reordered within a major.
 *  - Every struct that crosses the boundary starts with `struct_size`, set by whoever allocated it
 *    to sizeof() of the struct as that side knows it. The reader of a struct looks only at fields
 *    that lie inside the writer's struct_size (CAGR_STRUCT_HAS); the writer into a struct allocated
 *    by the other side writes only fields that lie inside that struct_size. So sizes are signalled
 *    in both directions and either side may be newer.
 *  - Optional features travel as a typed extension chain (`cagr_extension`), never as a new major.
 *    A reader skips extension types it does not know.
 *  - Arrays of structs are passed as arrays of pointers, so a grown struct never changes a stride.
 *  - Every entry point added from 1.2 on takes one argument struct that starts with struct_size
 *    (as op_query does), so that it can grow like the structs. The entries of 1.0 and 1.1 with
 *    positional arguments (stream_create, the event_* calls, event_elapsed, the capture calls)
 *    cannot grow; they keep their signatures until a new major.
 *
 * Errors: every entry point returns a cagr_status. On failure the plugin keeps a message describing
 * it that the host reads with `last_error_message` on the same thread, before its next call.
 *
 * Ownership is written on every output: "plugin-owned" outputs stay valid for the stated lifetime
 * and must not be freed by the host; objects created by a `*_create` call are owned by the host
 * and released with the matching `*_destroy` call.
 *
 * Minor version history
 *   1.0  first release.
 *   1.1  `event_elapsed` (device time between two events).
 *   1.2  math precision per op: the host may chain a cagr_math_precision_extension to an op
 *        description, allowing the plugin's variants to compute in TF32 or bf16; a variant says
 *        which precision it computes in (cagr_variant_args.math_precision). A 1.0/1.1 plugin skips
 *        the extension and computes in f32, which every allowance includes.
 *   1.3  CAGR_MATH_INT8: the host may allow an op int8 products (operands quantised to 8-bit
 *        integers with f32 scales; sums, inputs and outputs stay f32), which also allows TF32 and
 *        bf16. A 1.2 plugin reads an allowance it does not know as f32 (abi/math_precision.hpp's
 *        allowed_math_precision), so it offers only its f32 variants; a 1.0/1.1 plugin skips the
 *        extension as before.
 *   1.4  `kernel_statistics` (optional): named counters and times a kernel keeps, e.g. an embedding
 *        cache's hits and misses per table, which the host shows in its reports. A 1.3 table ends
 *        before it, so the host reports none for such a plugin. And cagr_hot_rows_extension: an
 *        embedding_bag's most looked-up rows per table, from an id profile, at kernel_create; a
 *        plugin that caches the tables may keep them resident, others skip it.
 *   1.5  cagr_constant.lifetime: CAGR_CONSTANT_BORROWED says the host keeps a constant's data valid
 *        and unchanged until the kernel is destroyed, so a plugin may keep one copy of it for all
 *        the kernels made from it while one lives (the CPU plugin does: a table met by several
 *        variants or plans is copied once). A 1.4 plugin does not read the field and copies, as
 *        the host of 1.4 and before asks (their constants read as CAGR_CONSTANT_COPIED).
 *
 * This header depends on nothing but the C standard library: compiles as C99 and as C++.
 */
#ifndef CAGR_PLUGIN_H_
#define CAGR_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAGR_ABI_VERSION_MAJOR 1
#define CAGR_ABI_VERSION_MINOR 5  /* 1.5: borrowed constants */
/* The oldest major this header's host still speaks. Raised only after a deprecation period. */
#define CAGR_ABI_OLDEST_SUPPORTED_MAJOR 1

/* Whether `field` of a struct of type `type` lies inside the struct_size of `ptr`. */
#define CAGR_STRUCT_HAS(ptr, type, field) \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* Size of a struct up to and including `last_field`: what a struct of a given minor version is. */
#define CAGR_STRUCT_SIZE(type, last_field) (offsetof(type, last_field) + sizeof(((type*)0)->last_field))

#if defined(_WIN32)
#define CAGR_PLUGIN_EXPORT __declspec(dllexport)
#else
#define CAGR_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------------------------ */
/* Status codes                                                                                 */

typedef enum cagr_status {
  CAGR_OK = 0,
  CAGR_ERROR_INVALID_ARGUMENT = 1, /* bad input: shape, dtype, attribute, index out of range */
  CAGR_ERROR_UNSUPPORTED = 2,      /* the op / variant / feature is not available here */
  CAGR_ERROR_OUT_OF_MEMORY = 3,
  CAGR_ERROR_DEVICE = 4,           /* the device or its driver failed */
  CAGR_ERROR_VERSION = 5,          /* no common ABI version */
  CAGR_ERROR_INTERNAL = 6
} cagr_status;

/* ------------------------------------------------------------------------------------------ */
/* Data types and tensors                                                                       */

typedef enum cagr_dtype {
  CAGR_DTYPE_INVALID = 0,
  CAGR_DTYPE_F32 = 1,
  CAGR_DTYPE_F16 = 2,
  CAGR_DTYPE_BF16 = 3,
  CAGR_DTYPE_I32 = 4,
  CAGR_DTYPE_I64 = 5,
  CAGR_DTYPE_I8 = 6,
  CAGR_DTYPE_U8 = 7
} cagr_dtype;

#define CAGR_MAX_RANK 8

/* Shape and element type of one tensor, densely packed in row-major order. */
typedef struct cagr_tensor_desc {
  size_t struct_size;
  cagr_dtype dtype;
  int32_t rank;
  int64_t dims[CAGR_MAX_RANK];
} cagr_tensor_desc;

/* ------------------------------------------------------------------------------------------ */
/* Extension chain: optional, typed additions to any args struct that has an `extensions` field. */

typedef enum cagr_extension_type {
  CAGR_EXTENSION_NONE = 0,
  CAGR_EXTENSION_MATH_PRECISION = 1,  /* 1.2: cagr_math_precision_extension, on a cagr_op_desc */
  CAGR_EXTENSION_HOT_ROWS = 2         /* 1.4: cagr_hot_rows_extension, on cagr_kernel_create_args */
  /* Types are appended here as they are defined; values are never reused. */
} cagr_extension_type;

typedef struct cagr_extension {
  size_t struct_size;
  int32_t type;                        /* a cagr_extension_type; unknown types are skipped */
  const struct cagr_extension* next;   /* NULL ends the chain */
} cagr_extension;

/* The arithmetic a kernel may use for f32 tensors, from strictest to loosest. Each allows those
 * before it: a kernel may always compute in f32. Inputs, outputs and sums stay f32 in every mode;
 * only the operands of products are rounded (TF32: 10-bit mantissa, bf16: 7-bit) or quantised
 * (int8: 8-bit integers times an f32 scale each operand chooses, e.g. per output channel of a
 * weight and per tensor of an activation; the products are summed exactly in int32). */
typedef enum cagr_math_precision {
  CAGR_MATH_F32 = 0,
  CAGR_MATH_TF32 = 1,
  CAGR_MATH_BF16 = 2,
  CAGR_MATH_INT8 = 3   /* 1.3 */
} cagr_math_precision;

/* 1.2. Chained to cagr_op_desc.extensions when the user allows an op a looser precision than f32
 * (per session, docs/PLANS.md); absent, the op computes in f32. */
typedef struct cagr_math_precision_extension {
  size_t struct_size;
  int32_t type;                        /* CAGR_EXTENSION_MATH_PRECISION */
  const struct cagr_extension* next;
  int32_t allowed;                     /* a cagr_math_precision: the loosest the op may use */
} cagr_math_precision_extension;

/* 1.4. Chained to cagr_kernel_create_args.extensions of an embedding_bag when the user gives an id
 * profile (cagr-run --hot-ids): per table, the rows looked up most often, most frequent first. A
 * plugin that keeps the tables in host memory behind a device cache may hold some of them in the
 * cache for good (its static part); the rows need not be in range (a profile of another model):
 * the plugin then refuses the kernel, naming the table. Host-owned, valid for the call. */
typedef struct cagr_hot_rows_extension {
  size_t struct_size;
  int32_t type;                        /* CAGR_EXTENSION_HOT_ROWS */
  const struct cagr_extension* next;
  size_t num_tables;                   /* the op's tables, in input order */
  const size_t* num_rows;              /* [num_tables] */
  const int64_t* const* rows;          /* [num_tables] arrays of num_rows[t] row numbers */
} cagr_hot_rows_extension;

/* ------------------------------------------------------------------------------------------ */
/* Operator descriptions (semantics of every op: abi/OPS.md)                                    */

typedef enum cagr_attr_kind {
  CAGR_ATTR_INT = 1,
  CAGR_ATTR_FLOAT = 2,
  CAGR_ATTR_STRING = 3,
  CAGR_ATTR_INTS = 4,
  CAGR_ATTR_FLOATS = 5
} cagr_attr_kind;

typedef struct cagr_attr {
  size_t struct_size;
  const char* name;
  cagr_attr_kind kind;
  int64_t i;              /* CAGR_ATTR_INT */
  double f;               /* CAGR_ATTR_FLOAT */
  const char* s;          /* CAGR_ATTR_STRING */
  const int64_t* ints;    /* CAGR_ATTR_INTS, `count` entries */
  const double* floats;   /* CAGR_ATTR_FLOATS, `count` entries */
  size_t count;
} cagr_attr;

/* One operator instance. All pointers are host-owned and valid for the duration of the call that
 * receives them only; a plugin that needs them later copies them. */
typedef struct cagr_op_desc {
  size_t struct_size;
  const char* op_type;                        /* e.g. "embedding_bag", see OPS.md */
  size_t num_inputs;
  const cagr_tensor_desc* const* inputs;
  size_t num_outputs;
  const cagr_tensor_desc* const* outputs;
  size_t num_attrs;
  const cagr_attr* const* attrs;
  const cagr_extension* extensions;
} cagr_op_desc;

/* ------------------------------------------------------------------------------------------ */
/* Opaque objects. Each is created and destroyed through the table below.                      */

typedef struct cagr_context cagr_context; /* one initialised plugin instance */
typedef struct cagr_buffer cagr_buffer;   /* device memory */
typedef struct cagr_stream cagr_stream;   /* an in-order queue of work on one device */
typedef struct cagr_event cagr_event;     /* a point in a stream's work */
typedef struct cagr_kernel cagr_kernel;   /* a prepared op on one device, variant and weights */
typedef struct cagr_graph cagr_graph;     /* work recorded from a stream, replayable as one launch */

/* ------------------------------------------------------------------------------------------ */
/* Logging: the host's callback, which the plugin may call from any thread.                    */

typedef enum cagr_log_level {
  CAGR_LOG_DEBUG = 0,
  CAGR_LOG_INFO = 1,
  CAGR_LOG_WARNING = 2,
  CAGR_LOG_ERROR = 3
} cagr_log_level;

typedef void (*cagr_log_fn)(void* user_data, cagr_log_level level, const char* message);

/* ------------------------------------------------------------------------------------------ */
/* Argument structs of the entry points                                                         */

typedef struct cagr_option {
  size_t struct_size;
  const char* key;
  const char* value;
} cagr_option;

typedef struct cagr_init_args {
  size_t struct_size;
  /* in */
  size_t num_options;                 /* plugin options, e.g. from plugins.xml */
  const cagr_option* const* options;
  cagr_log_fn log;                    /* may be NULL */
  void* log_user_data;
  const cagr_extension* extensions;
  /* out: host-owned; release with `shutdown` */
  cagr_context* context;
} cagr_init_args;

typedef struct cagr_plugin_info {
  size_t struct_size;
  /* out: plugin-owned strings, valid until the library is unloaded */
  const char* name;       /* short, unique: "cpu", "opencl", "hip" */
  const char* version;    /* the plugin's own version, e.g. "0.3.1" */
  const char* vendor;
  int32_t abi_major;      /* the ABI the plugin was built against */
  int32_t abi_minor;
} cagr_plugin_info;

typedef enum cagr_device_kind {
  CAGR_DEVICE_CPU = 1,
  CAGR_DEVICE_GPU = 2,
  CAGR_DEVICE_OTHER = 3
} cagr_device_kind;

typedef struct cagr_device_properties {
  size_t struct_size;
  /* out; strings plugin-owned, valid until `shutdown` */
  const char* name;
  cagr_device_kind kind;
  int32_t compute_units;
  double peak_gflops_f32;           /* 0 when unknown */
  double peak_gflops_f16;           /* fastest 16-bit path (tensor cores, AMX); 0 when none */
  double memory_bandwidth_gbps;     /* GB/s, measured where the plugin can */
  uint64_t memory_bytes;
  uint64_t last_level_cache_bytes;
  int32_t numa_node;                /* -1 when unknown */
  const char* pci_bus_id;           /* "" when not a PCI device */
  int32_t host_accessible;          /* 1 when buffers are plain host memory (buffer_host_pointer works) */
} cagr_device_properties;

/* What a plugin can do with one op on one device. */
typedef struct cagr_op_query_args {
  size_t struct_size;
  /* in */
  int32_t device;
  const cagr_op_desc* op;
  /* out */
  int32_t supported;          /* 1 when at least one variant can run the op */
  int32_t num_variants;
  const char* reason;         /* when unsupported: why; plugin-owned, valid until the next call on this thread */
} cagr_op_query_args;

/* One implementation variant of a supported op, with the cost hint the core places by. */
typedef struct cagr_variant_args {
  size_t struct_size;
  /* in */
  int32_t device;
  const cagr_op_desc* op;
  int32_t variant;            /* 0 .. num_variants-1 */
  /* out; strings plugin-owned, valid until the next call on this thread */
  const char* name;           /* e.g. "onednn_matmul", "warp_per_bag_prefetch2" */
  double flops;               /* floating-point operations of one run */
  double bytes;               /* bytes moved to and from device memory by one run */
  double estimated_ns;        /* the plugin's estimate of one run; 0 when it has none */
  int32_t math_precision;     /* 1.2: the cagr_math_precision the variant computes in; the host sets
                                 CAGR_MATH_F32 before the call, which an older plugin leaves */
} cagr_variant_args;

typedef struct cagr_buffer_alloc_args {
  size_t struct_size;
  /* in */
  int32_t device;
  uint64_t bytes;
  /* out: host-owned; release with buffer_destroy */
  cagr_buffer* buffer;
} cagr_buffer_alloc_args;

/* Copies between host memory and buffers, or between buffers of the same plugin. Asynchronous on
 * `stream`: host memory must stay valid until the stream has passed the copy. */
typedef enum cagr_copy_kind {
  CAGR_COPY_HOST_TO_DEVICE = 1,
  CAGR_COPY_DEVICE_TO_HOST = 2,
  CAGR_COPY_DEVICE_TO_DEVICE = 3
} cagr_copy_kind;

typedef struct cagr_copy_args {
  size_t struct_size;
  cagr_copy_kind kind;
  cagr_stream* stream;
  cagr_buffer* src_buffer;   /* DEVICE_TO_*: source */
  uint64_t src_offset;
  const void* src_host;      /* HOST_TO_DEVICE: source */
  cagr_buffer* dst_buffer;   /* *_TO_DEVICE: destination */
  uint64_t dst_offset;
  void* dst_host;            /* DEVICE_TO_HOST: destination */
  uint64_t bytes;
} cagr_copy_args;

/* How long a constant's data stays as it is (1.5). */
typedef enum cagr_constant_lifetime {
  CAGR_CONSTANT_COPIED = 0,   /* valid during kernel_create only: the plugin copies what it keeps */
  CAGR_CONSTANT_BORROWED = 1  /* valid and unchanged until kernel_destroy of this kernel: the plugin
                                 may use it in place, or share one copy among the kernels made
                                 from the same data while one of them lives */
} cagr_constant_lifetime;

/* A constant input (weights) handed over when a kernel is prepared. */
typedef struct cagr_constant {
  size_t struct_size;
  size_t input_index;        /* which input of the op this is */
  const void* data;          /* host memory, dense as the input's desc */
  int32_t lifetime;          /* 1.5: a cagr_constant_lifetime; absent (a 1.4 host) reads as COPIED */
} cagr_constant;

typedef struct cagr_kernel_create_args {
  size_t struct_size;
  /* in */
  int32_t device;
  const cagr_op_desc* op;    /* shapes as compiled; see kernel_run for shapes that vary */
  int32_t variant;
  size_t num_constants;
  const cagr_constant* const* constants;
  const cagr_extension* extensions;
  /* out: host-owned; release with kernel_destroy */
  cagr_kernel* kernel;
} cagr_kernel_create_args;

typedef struct cagr_kernel_run_args {
  size_t struct_size;
  cagr_kernel* kernel;
  cagr_stream* stream;
  /* Buffers of the op's non-constant inputs, in input order (constants skipped), and of every
   * output. The descs give the shapes of this run: they may differ from those at kernel_create
   * only in dimensions OPS.md marks as varying per run (batch size, number of indices). */
  size_t num_inputs;
  cagr_buffer* const* inputs;
  const cagr_tensor_desc* const* input_descs;
  size_t num_outputs;
  cagr_buffer* const* outputs;
  const cagr_tensor_desc* const* output_descs;
  const cagr_extension* extensions;
} cagr_kernel_run_args;

/* 1.4. One named figure a kernel keeps, counted from kernel_create on: a count ("table0.hits") or a
 * time in microseconds (a name ending in "_us"). */
typedef struct cagr_statistic {
  size_t struct_size;
  const char* name;   /* 1..256 printable characters */
  double value;       /* finite and >= 0 */
} cagr_statistic;

typedef struct cagr_kernel_statistics_args {
  size_t struct_size;
  /* in */
  cagr_kernel* kernel;
  /* out; plugin-owned, valid until the next call on this thread */
  size_t num_statistics;
  const cagr_statistic* const* statistics;
} cagr_kernel_statistics_args;

/* ------------------------------------------------------------------------------------------ */
/* The table of entry points. Plugin-owned and static: valid until the library is unloaded.    */

typedef struct cagr_plugin_api {
  size_t struct_size;
  int32_t abi_major;     /* the version this table speaks, chosen in cagr_plugin_entry */
  int32_t abi_minor;

  /* Message of the last failed call on this thread; plugin-owned, valid until the next call. */
  const char* (*last_error_message)(void);

  cagr_status (*init)(cagr_init_args* args);
  cagr_status (*shutdown)(cagr_context* context);
  cagr_status (*get_info)(cagr_context* context, cagr_plugin_info* info);

  cagr_status (*device_count)(cagr_context* context, int32_t* count);
  cagr_status (*device_properties)(cagr_context* context, int32_t device,
                                   cagr_device_properties* properties);

  cagr_status (*op_query)(cagr_context* context, cagr_op_query_args* args);
  cagr_status (*op_variant)(cagr_context* context, cagr_variant_args* args);

  cagr_status (*buffer_alloc)(cagr_context* context, cagr_buffer_alloc_args* args);
  cagr_status (*buffer_destroy)(cagr_context* context, cagr_buffer* buffer);
  /* The host address of a buffer on a host_accessible device, else NULL. */
  void* (*buffer_host_pointer)(cagr_context* context, cagr_buffer* buffer);
  cagr_status (*copy)(cagr_context* context, cagr_copy_args* args);

  cagr_status (*stream_create)(cagr_context* context, int32_t device, cagr_stream** stream);
  cagr_status (*stream_destroy)(cagr_context* context, cagr_stream* stream);
  cagr_status (*stream_synchronize)(cagr_context* context, cagr_stream* stream);
  cagr_status (*event_create)(cagr_context* context, int32_t device, cagr_event** event);
  cagr_status (*event_destroy)(cagr_context* context, cagr_event* event);
  cagr_status (*event_record)(cagr_context* context, cagr_event* event, cagr_stream* stream);
  /* Work queued on `stream` after this call waits for `event`. */
  cagr_status (*stream_wait_event)(cagr_context* context, cagr_stream* stream, cagr_event* event);
  cagr_status (*event_synchronize)(cagr_context* context, cagr_event* event);

  cagr_status (*kernel_create)(cagr_context* context, cagr_kernel_create_args* args);
  cagr_status (*kernel_destroy)(cagr_context* context, cagr_kernel* kernel);
  /* Queues one run on args->stream. A kernel may keep device scratch that every run uses (a GEMM
   * workspace; a W given at run time rearranged for its kernel), so runs of one kernel must not
   * overlap: queue them on one stream, or order them with events. */
  cagr_status (*kernel_run)(cagr_context* context, cagr_kernel_run_args* args);

  /* Optional (NULL, or CAGR_ERROR_UNSUPPORTED, where the device has no such thing): record the
   * work queued on `stream` between begin and end instead of running it, and replay it later as one
   * launch (CUDA / HIP graphs), so that small batches are not bound by launch overhead. Replays
   * read and write the same buffers as the recorded kernels did. */
  cagr_status (*stream_begin_capture)(cagr_context* context, cagr_stream* stream);
  /* out `graph`: host-owned; release with graph_destroy */
  cagr_status (*stream_end_capture)(cagr_context* context, cagr_stream* stream, cagr_graph** graph);
  cagr_status (*graph_launch)(cagr_context* context, cagr_graph* graph, cagr_stream* stream);
  cagr_status (*graph_destroy)(cagr_context* context, cagr_graph* graph);

  /* 1.1. The device time in microseconds from `start` to `end`, two events recorded on streams of
   * one device and both complete (event_synchronize). Lets the host time every node of a pass from
   * the device's clock, without synchronising after each node (which adds launch and wake-up
   * latency to every figure). Optional: NULL where the device cannot time events; a plugin that
   * sets it answers for any two of its recorded events. */
  cagr_status (*event_elapsed)(cagr_context* context, cagr_event* start, cagr_event* end, double* microseconds);
  /* 1.4. The named figures `args->kernel` has kept since it was made (none is an answer: 0
   * statistics). The host calls it between runs of the kernel, never during one. Optional: NULL
   * where the plugin keeps none. */
  cagr_status (*kernel_statistics)(cagr_context* context, cagr_kernel_statistics_args* args);
  /* New entry points of later minors are appended here. */
} cagr_plugin_api;

/* ------------------------------------------------------------------------------------------ */
/* The one exported symbol.                                                                     */

typedef struct cagr_plugin_entry_args {
  size_t struct_size;
  /* in: the highest version the host speaks */
  int32_t host_abi_major;
  int32_t host_abi_minor;
  /* out: the version the plugin will speak (major <= host_abi_major) and its table */
  int32_t plugin_abi_major;
  int32_t plugin_abi_minor;
  const cagr_plugin_api* api;
  /* out when the plugin refuses (CAGR_ERROR_VERSION): why; plugin-owned static string */
  const char* refusal;
} cagr_plugin_entry_args;

#define CAGR_PLUGIN_ENTRY_SYMBOL "cagr_plugin_entry"
typedef cagr_status (*cagr_plugin_entry_fn)(cagr_plugin_entry_args* args);

/* Every plugin defines this function (and exports nothing else):
 *   CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args);
 */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CAGR_PLUGIN_H_ */

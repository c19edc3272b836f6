/*
 * relu_plugin.c - a CAGR plugin in plain C99, without the C++ plugin kit: the C ABI of
 * abi/cagr_plugin.h is the contract, and this file keeps to it on its own (docs/PLUGINS.md).
 *
 * One device (the host CPU; buffers are host memory, streams run work as it is queued, so events
 * only mark points already passed), one op (relu, f32, any shape; abi/OPS.md) with two variants
 * and cost hints. What it shows:
 *  - negotiation: any host of major 1 or later gets this header's minor (1.5) and the table; an
 *    older major is refused with a reason (written only inside the host's struct_size);
 *  - every struct the host passes is read only inside its struct_size (CAGR_STRUCT_HAS), and every
 *    output is written only inside it (SET below);
 *  - the optional entries stay NULL: the capture entries (nothing to capture), and 1.1's
 *    event_elapsed (the host then times nodes by synchronising, as for a 1.0 plugin) and 1.4's
 *    kernel_statistics (the host then reports no figures for its kernels);
 *  - 1.5's constant lifetime needs nothing either: a kernel copies its constant, which a borrowed
 *    constant allows as a copied one does;
 *  - the math-precision extension (1.2; int8 since 1.3) needs nothing: the variants compute in
 *    f32, which every allowance includes, and say so in cagr_variant_args.math_precision;
 *    extension chains are never walked, so types this plugin does not know cannot trouble it;
 *  - every failure returns a status and leaves a message per thread for last_error_message.
 */
#include "cagr_plugin.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TEST_PLUGIN_NAME
#define TEST_PLUGIN_NAME "c_relu"
#endif
#define PLUGIN TEST_PLUGIN_NAME

/* ---------------------------------------------------------------------------------------------- */
/* Errors: one message per thread (C99 has no thread_local; GCC and Clang take __thread).         */

static __thread char t_error[512];
static __thread char t_answer[512]; /* op_query's reason and op_variant's name, until the next call */

static const char* last_error_message(void) { return t_error; }

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static cagr_status fail(cagr_status status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(t_error, sizeof t_error, format, args);
  va_end(args);
  return status;
}

/* Writes `value` into `field` of a struct the host allocated, only where its struct_size has room. */
#define SET(ptr, type, field, value)                              \
  do {                                                            \
    if (CAGR_STRUCT_HAS(ptr, type, field)) (ptr)->field = (value); \
  } while (0)

/* ---------------------------------------------------------------------------------------------- */
/* Objects. Each starts with a tag, so that a handle of the wrong kind is an error, not a crash.  */

enum { TAG_CONTEXT = 0x63787431, TAG_BUFFER = 0x62756631, TAG_STREAM = 0x73747231, TAG_EVENT = 0x65767431,
       TAG_KERNEL = 0x6b726e31 };

struct cagr_context { uint32_t tag; };
struct cagr_buffer { uint32_t tag; uint64_t bytes; unsigned char* data; };
struct cagr_stream { uint32_t tag; };
struct cagr_event { uint32_t tag; };

typedef void (*relu_loop)(const float* in, float* out, size_t n);

struct cagr_kernel {
  uint32_t tag;
  relu_loop loop;
  int32_t rank;                  /* the shape as created */
  int64_t dims[CAGR_MAX_RANK];
  float* constant;               /* input 0's data when the host gave it as a constant, else NULL */
};

#define CHECK_HANDLE(ptr, want, what) \
  do {                                \
    if ((ptr) == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": %s is NULL", what);                   \
    if ((ptr)->tag != (want)) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": %s is not one of its %ss", what, what); \
  } while (0)

static cagr_status check_device(int32_t device) {
  if (device != 0) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": device %" PRId32 " does not exist (1 device)", device);
  return CAGR_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* The op                                                                                          */

/* relu(x) = x < 0 ? 0 : x, which keeps NaN (OPS.md: never a max that drops it). */
static float relu(float x) { return x < 0.0f ? 0.0f : x; }

static void relu_scalar(const float* in, float* out, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i) out[i] = relu(in[i]);
}

static void relu_unrolled4(const float* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    out[i] = relu(in[i]);
    out[i + 1] = relu(in[i + 1]);
    out[i + 2] = relu(in[i + 2]);
    out[i + 3] = relu(in[i + 3]);
  }
  for (; i < n; ++i) out[i] = relu(in[i]);  /* the odd tail */
}

static const struct {
  const char* name;
  relu_loop loop;
  double bytes_per_ns;  /* a rough speed for the cost hint: it only has to rank the variants */
} kVariants[] = {{"scalar", relu_scalar, 2.0}, {"unrolled4", relu_unrolled4, 4.0}};
#define NUM_VARIANTS ((int32_t)(sizeof kVariants / sizeof kVariants[0]))

static const char* dtype_name(cagr_dtype t) {
  switch (t) {
    case CAGR_DTYPE_F32: return "f32";
    case CAGR_DTYPE_F16: return "f16";
    case CAGR_DTYPE_BF16: return "bf16";
    case CAGR_DTYPE_I32: return "i32";
    case CAGR_DTYPE_I64: return "i64";
    case CAGR_DTYPE_I8: return "i8";
    case CAGR_DTYPE_U8: return "u8";
    default: return "an invalid dtype";
  }
}

/* One tensor of relu: f32, rank 0..8, dims >= 0, read within its struct_size. */
typedef struct shape {
  int32_t rank;
  int64_t dims[CAGR_MAX_RANK];
  uint64_t numel;
} shape;

static cagr_status read_tensor(const cagr_tensor_desc* desc, const char* what, shape* out) {
  int32_t d;
  if (desc == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: %s desc is NULL", what);
  if (!CAGR_STRUCT_HAS(desc, cagr_tensor_desc, rank))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: %s desc of %zu bytes lacks dtype and rank", what, desc->struct_size);
  if (desc->dtype != CAGR_DTYPE_F32)
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: %s must be f32, got %s", what, dtype_name(desc->dtype));
  if (desc->rank < 0 || desc->rank > CAGR_MAX_RANK)
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: %s has rank %" PRId32 ", outside 0..%d", what, desc->rank, CAGR_MAX_RANK);
  if (desc->struct_size < offsetof(cagr_tensor_desc, dims) + (size_t)desc->rank * sizeof(int64_t))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: %s desc of %zu bytes cannot hold rank %" PRId32, what, desc->struct_size,
                desc->rank);
  out->rank = desc->rank;
  out->numel = 1;
  for (d = 0; d < desc->rank; ++d) {
    const int64_t n = desc->dims[d];
    if (n < 0) return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: %s has a negative dimension %" PRId64, what, n);
    out->dims[d] = n;
  }
  for (d = 0; d < desc->rank; ++d) { /* every byte of it must be addressable: numel * 4 < 2^62 */
    const uint64_t n = (uint64_t)out->dims[d];
    if (n == 0) { out->numel = 0; break; }
    if (out->numel > (UINT64_C(1) << 60) / n)
      return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: %s has more than 2^60 elements", what);
    out->numel *= n;
  }
  return CAGR_OK;
}

static int same_dims(const shape* a, const shape* b, int32_t from) {
  int32_t d;
  if (a->rank != b->rank) return 0;
  for (d = from; d < a->rank; ++d)
    if (a->dims[d] != b->dims[d]) return 0;
  return 1;
}

/* Checks an op description against OPS.md's relu; `x` gets the input's shape. An op other than relu
 * is UNSUPPORTED, a malformed relu INVALID_ARGUMENT; either way the message says why. */
static cagr_status check_relu(const cagr_op_desc* op, shape* x) {
  shape y;
  cagr_status s;
  if (op == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": the op description is NULL");
  if (!CAGR_STRUCT_HAS(op, cagr_op_desc, outputs))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": an op description of %zu bytes lacks its tensors", op->struct_size);
  if (op->op_type == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": the op type is NULL");
  if (strcmp(op->op_type, "relu") != 0)
    return fail(CAGR_ERROR_UNSUPPORTED, PLUGIN ": runs relu only, not %.100s", op->op_type);
  if (op->num_inputs != 1 || op->num_outputs != 1)
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: takes 1 input and 1 output, got %zu and %zu", op->num_inputs,
                op->num_outputs);
  if (op->inputs == NULL || op->outputs == NULL)
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: the op's input or output array is NULL");
  if ((s = read_tensor(op->inputs[0], "input 0", x)) != CAGR_OK) return s;
  if ((s = read_tensor(op->outputs[0], "output 0", &y)) != CAGR_OK) return s;
  if (!same_dims(x, &y, 0)) return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: output 0 must have the shape of input 0");
  /* Attributes: relu has none, and OPS.md's contract ignores them. Extensions: see the top. */
  return CAGR_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Plugin, devices                                                                                 */

static cagr_status init(cagr_init_args* args) {
  cagr_context* context;
  size_t i;
  if (args == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": init args are NULL");
  if (!CAGR_STRUCT_HAS(args, cagr_init_args, context))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": init args of %zu bytes have no room for the context", args->struct_size);
  if (args->num_options > 0 && args->options == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": options are NULL");
  for (i = 0; i < args->num_options; ++i) { /* this plugin knows none: a typo is reported, not ignored */
    const cagr_option* o = args->options[i];
    if (o == NULL || !CAGR_STRUCT_HAS(o, cagr_option, value) || o->key == NULL)
      return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": option %zu is NULL or malformed", i);
    return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": unknown option '%.100s'", o->key);
  }
  context = (cagr_context*)malloc(sizeof *context);
  if (context == NULL) return fail(CAGR_ERROR_OUT_OF_MEMORY, PLUGIN ": no memory for the context");
  context->tag = TAG_CONTEXT;
  args->context = context;
  return CAGR_OK;
}

static cagr_status shutdown_plugin(cagr_context* context) {
  if (context == NULL) return CAGR_OK;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  context->tag = 0;
  free(context);
  return CAGR_OK;
}

static cagr_status get_info(cagr_context* context, cagr_plugin_info* info) {
  (void)context; /* the answer does not depend on it */
  if (info == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": info is NULL");
  SET(info, cagr_plugin_info, name, PLUGIN);
  SET(info, cagr_plugin_info, version, "0.1.0");
  SET(info, cagr_plugin_info, vendor, "CAGR tests (plain C99, no kit)");
  SET(info, cagr_plugin_info, abi_major, CAGR_ABI_VERSION_MAJOR);
  SET(info, cagr_plugin_info, abi_minor, CAGR_ABI_VERSION_MINOR);
  return CAGR_OK;
}

static cagr_status device_count(cagr_context* context, int32_t* count) {
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if (count == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": count is NULL");
  *count = 1;
  return CAGR_OK;
}

static cagr_status device_properties(cagr_context* context, int32_t device, cagr_device_properties* p) {
  cagr_status s;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if ((s = check_device(device)) != CAGR_OK) return s;
  if (p == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": properties are NULL");
  SET(p, cagr_device_properties, name, "host CPU (" PLUGIN ", plain C)");
  SET(p, cagr_device_properties, kind, CAGR_DEVICE_CPU);
  SET(p, cagr_device_properties, compute_units, 1); /* runs on the calling thread */
  SET(p, cagr_device_properties, peak_gflops_f32, 0.0); /* 0: not measured */
  SET(p, cagr_device_properties, peak_gflops_f16, 0.0);
  SET(p, cagr_device_properties, memory_bandwidth_gbps, 0.0);
  SET(p, cagr_device_properties, memory_bytes, 0);
  SET(p, cagr_device_properties, last_level_cache_bytes, 0);
  SET(p, cagr_device_properties, numa_node, -1);
  SET(p, cagr_device_properties, pci_bus_id, "");
  SET(p, cagr_device_properties, host_accessible, 1);
  return CAGR_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Ops                                                                                             */

static cagr_status op_query(cagr_context* context, cagr_op_query_args* args) {
  shape x;
  cagr_status s;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if (args == NULL || !CAGR_STRUCT_HAS(args, cagr_op_query_args, op))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": op_query args are NULL or lack the op");
  if ((s = check_device(args->device)) != CAGR_OK) return s;
  s = check_relu(args->op, &x);
  if (s == CAGR_ERROR_INVALID_ARGUMENT && args->op == NULL) return s; /* a broken call, not an answer */
  /* An op it cannot run is an answer, not a failed call. */
  strcpy(t_answer, s == CAGR_OK ? "" : t_error);
  SET(args, cagr_op_query_args, supported, s == CAGR_OK ? 1 : 0);
  SET(args, cagr_op_query_args, num_variants, s == CAGR_OK ? NUM_VARIANTS : 0);
  SET(args, cagr_op_query_args, reason, s == CAGR_OK ? (const char*)NULL : t_answer);
  return CAGR_OK;
}

static cagr_status check_variant(int32_t variant) {
  if (variant < 0 || variant >= NUM_VARIANTS)
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: variant %" PRId32 " out of range (%d variants)", variant, (int)NUM_VARIANTS);
  return CAGR_OK;
}

static cagr_status op_variant(cagr_context* context, cagr_variant_args* args) {
  shape x;
  cagr_status s;
  double n, bytes;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if (args == NULL || !CAGR_STRUCT_HAS(args, cagr_variant_args, variant))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": op_variant args are NULL or lack the variant");
  if ((s = check_device(args->device)) != CAGR_OK) return s;
  if ((s = check_relu(args->op, &x)) != CAGR_OK) return s;
  if ((s = check_variant(args->variant)) != CAGR_OK) return s;
  n = (double)x.numel;
  bytes = 8.0 * n; /* read and write one f32 each */
  strcpy(t_answer, kVariants[args->variant].name);
  SET(args, cagr_variant_args, name, t_answer);
  SET(args, cagr_variant_args, flops, n);
  SET(args, cagr_variant_args, bytes, bytes);
  SET(args, cagr_variant_args, estimated_ns, bytes / kVariants[args->variant].bytes_per_ns);
  SET(args, cagr_variant_args, math_precision, CAGR_MATH_F32); /* whatever the host allows */
  return CAGR_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Memory                                                                                          */

static cagr_status buffer_alloc(cagr_context* context, cagr_buffer_alloc_args* args) {
  cagr_status s;
  cagr_buffer* b;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if (args == NULL || !CAGR_STRUCT_HAS(args, cagr_buffer_alloc_args, buffer))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": buffer_alloc args are NULL or have no room for the buffer");
  if ((s = check_device(args->device)) != CAGR_OK) return s;
  if (args->bytes > (uint64_t)(SIZE_MAX / 2))
    return fail(CAGR_ERROR_OUT_OF_MEMORY, PLUGIN ": cannot allocate %" PRIu64 " bytes", args->bytes);
  b = (cagr_buffer*)malloc(sizeof *b);
  if (b == NULL) return fail(CAGR_ERROR_OUT_OF_MEMORY, PLUGIN ": no memory for a buffer");
  b->data = (unsigned char*)malloc(args->bytes > 0 ? (size_t)args->bytes : 1);
  if (b->data == NULL) {
    free(b);
    return fail(CAGR_ERROR_OUT_OF_MEMORY, PLUGIN ": cannot allocate %" PRIu64 " bytes", args->bytes);
  }
  b->tag = TAG_BUFFER;
  b->bytes = args->bytes;
  args->buffer = b;
  return CAGR_OK;
}

static cagr_status buffer_destroy(cagr_context* context, cagr_buffer* buffer) {
  (void)context;
  if (buffer == NULL) return CAGR_OK;
  CHECK_HANDLE(buffer, TAG_BUFFER, "buffer");
  buffer->tag = 0;
  free(buffer->data);
  free(buffer);
  return CAGR_OK;
}

static void* buffer_host_pointer(cagr_context* context, cagr_buffer* buffer) {
  (void)context;
  return buffer != NULL && buffer->tag == TAG_BUFFER ? buffer->data : NULL;
}

static cagr_status check_buffer(const cagr_buffer* b, const char* what) {
  if (b == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, "%s buffer is NULL", what);
  if (b->tag != TAG_BUFFER) return fail(CAGR_ERROR_INVALID_ARGUMENT, "%s buffer is not one of " PLUGIN "'s buffers", what);
  return CAGR_OK;
}

static cagr_status check_range(const cagr_buffer* b, uint64_t offset, uint64_t bytes, const char* side) {
  cagr_status s;
  if ((s = check_buffer(b, side)) != CAGR_OK) return s;
  if (offset > b->bytes || bytes > b->bytes - offset)
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "%s range [%" PRIu64 ", %" PRIu64 ") is outside its buffer of %" PRIu64 " bytes",
                side, offset, offset + bytes, b->bytes);
  return CAGR_OK;
}

/* Streams run work as it is queued: a copy is done when this returns. */
static cagr_status copy(cagr_context* context, cagr_copy_args* a) {
  cagr_status s;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if (a == NULL || !CAGR_STRUCT_HAS(a, cagr_copy_args, bytes))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": copy args are NULL or shorter than ABI 1.0's");
  CHECK_HANDLE(a->stream, TAG_STREAM, "stream");
  if (a->bytes == 0) return CAGR_OK; /* whatever the pointers */
  if (a->bytes > (uint64_t)SIZE_MAX) return fail(CAGR_ERROR_INVALID_ARGUMENT, "copy: %" PRIu64 " bytes", a->bytes);
  switch (a->kind) {
    case CAGR_COPY_HOST_TO_DEVICE:
      if (a->src_host == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, "copy: the host source is NULL");
      if ((s = check_range(a->dst_buffer, a->dst_offset, a->bytes, "copy destination")) != CAGR_OK) return s;
      memmove(a->dst_buffer->data + a->dst_offset, a->src_host, (size_t)a->bytes);
      return CAGR_OK;
    case CAGR_COPY_DEVICE_TO_HOST:
      if ((s = check_range(a->src_buffer, a->src_offset, a->bytes, "copy source")) != CAGR_OK) return s;
      if (a->dst_host == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, "copy: the host destination is NULL");
      memmove(a->dst_host, a->src_buffer->data + a->src_offset, (size_t)a->bytes);
      return CAGR_OK;
    case CAGR_COPY_DEVICE_TO_DEVICE:
      if ((s = check_range(a->src_buffer, a->src_offset, a->bytes, "copy source")) != CAGR_OK) return s;
      if ((s = check_range(a->dst_buffer, a->dst_offset, a->bytes, "copy destination")) != CAGR_OK) return s;
      memmove(a->dst_buffer->data + a->dst_offset, a->src_buffer->data + a->src_offset, (size_t)a->bytes);
      return CAGR_OK;
    default:
      return fail(CAGR_ERROR_INVALID_ARGUMENT, "copy: kind %d is not a cagr_copy_kind", (int)a->kind);
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* Streams and events: work is done when it is queued, so there is never anything to wait for.    */

static cagr_status stream_create(cagr_context* context, int32_t device, cagr_stream** stream) {
  cagr_status s;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if ((s = check_device(device)) != CAGR_OK) return s;
  if (stream == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": the stream output is NULL");
  *stream = (cagr_stream*)malloc(sizeof **stream);
  if (*stream == NULL) return fail(CAGR_ERROR_OUT_OF_MEMORY, PLUGIN ": no memory for a stream");
  (*stream)->tag = TAG_STREAM;
  return CAGR_OK;
}

static cagr_status stream_destroy(cagr_context* context, cagr_stream* stream) {
  (void)context;
  if (stream == NULL) return CAGR_OK;
  CHECK_HANDLE(stream, TAG_STREAM, "stream");
  stream->tag = 0;
  free(stream);
  return CAGR_OK;
}

static cagr_status stream_synchronize(cagr_context* context, cagr_stream* stream) {
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  CHECK_HANDLE(stream, TAG_STREAM, "stream");
  return CAGR_OK;
}

static cagr_status event_create(cagr_context* context, int32_t device, cagr_event** event) {
  cagr_status s;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if ((s = check_device(device)) != CAGR_OK) return s;
  if (event == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": the event output is NULL");
  *event = (cagr_event*)malloc(sizeof **event);
  if (*event == NULL) return fail(CAGR_ERROR_OUT_OF_MEMORY, PLUGIN ": no memory for an event");
  (*event)->tag = TAG_EVENT;
  return CAGR_OK;
}

static cagr_status event_destroy(cagr_context* context, cagr_event* event) {
  (void)context;
  if (event == NULL) return CAGR_OK;
  CHECK_HANDLE(event, TAG_EVENT, "event");
  event->tag = 0;
  free(event);
  return CAGR_OK;
}

static cagr_status event_record(cagr_context* context, cagr_event* event, cagr_stream* stream) {
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  CHECK_HANDLE(event, TAG_EVENT, "event");
  CHECK_HANDLE(stream, TAG_STREAM, "stream");
  return CAGR_OK;
}

static cagr_status stream_wait_event(cagr_context* context, cagr_stream* stream, cagr_event* event) {
  return event_record(context, event, stream); /* the same checks; the event has passed already */
}

static cagr_status event_synchronize(cagr_context* context, cagr_event* event) {
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  CHECK_HANDLE(event, TAG_EVENT, "event");
  return CAGR_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Kernels                                                                                         */

static cagr_status kernel_create(cagr_context* context, cagr_kernel_create_args* args) {
  shape x;
  cagr_status s;
  cagr_kernel* k;
  const void* constant = NULL;
  size_t i;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if (args == NULL || !CAGR_STRUCT_HAS(args, cagr_kernel_create_args, kernel))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": kernel_create args are NULL or have no room for the kernel");
  if ((s = check_device(args->device)) != CAGR_OK) return s;
  if ((s = check_relu(args->op, &x)) != CAGR_OK) return s;
  if ((s = check_variant(args->variant)) != CAGR_OK) return s;
  if (args->num_constants > 0 && args->constants == NULL) return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: constants are NULL");
  for (i = 0; i < args->num_constants; ++i) {
    const cagr_constant* c = args->constants[i];
    if (c == NULL || !CAGR_STRUCT_HAS(c, cagr_constant, data))
      return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: constant %zu is NULL or malformed", i);
    if (c->input_index != 0)
      return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: constant for input %zu, the op has 1 input", c->input_index);
    if (i > 0) return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: two constants for input 0");
    if (c->data == NULL && x.numel > 0) return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: constant input 0 has no data");
    constant = c->data;
  }
  k = (cagr_kernel*)calloc(1, sizeof *k);
  if (k == NULL) return fail(CAGR_ERROR_OUT_OF_MEMORY, PLUGIN ": no memory for a kernel");
  if (args->num_constants > 0) { /* a copy serves either lifetime (1.5): copied data is valid for this call only */
    k->constant = (float*)malloc(x.numel > 0 ? (size_t)x.numel * sizeof(float) : 1);
    if (k->constant == NULL) {
      free(k);
      return fail(CAGR_ERROR_OUT_OF_MEMORY, "relu: no memory for a constant of %" PRIu64 " elements", x.numel);
    }
    if (x.numel > 0) memcpy(k->constant, constant, (size_t)x.numel * sizeof(float));
  }
  k->tag = TAG_KERNEL;
  k->loop = kVariants[args->variant].loop;
  k->rank = x.rank;
  memcpy(k->dims, x.dims, sizeof k->dims);
  args->kernel = k;
  return CAGR_OK;
}

static cagr_status kernel_destroy(cagr_context* context, cagr_kernel* kernel) {
  (void)context;
  if (kernel == NULL) return CAGR_OK;
  CHECK_HANDLE(kernel, TAG_KERNEL, "kernel");
  kernel->tag = 0;
  free(kernel->constant);
  free(kernel);
  return CAGR_OK;
}

/* One tensor of a run: f32, the created shape but for the first dim (OPS.md: it varies per run),
 * and a buffer large enough for it. */
static cagr_status run_tensor(const cagr_kernel* k, const cagr_tensor_desc* desc, const cagr_buffer* buffer,
                              const char* what, shape* out) {
  shape made;
  cagr_status s;
  if ((s = read_tensor(desc, what, out)) != CAGR_OK) return s;
  made.rank = k->rank;
  memcpy(made.dims, k->dims, sizeof made.dims);
  if (!same_dims(out, &made, 1))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: %s has another shape at run than at kernel_create (rank %" PRId32
                " vs %" PRId32 "); only the first dim may change", what, out->rank, made.rank);
  if ((s = check_buffer(buffer, what)) != CAGR_OK) return s;
  if (out->numel * sizeof(float) > buffer->bytes)
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: %s needs %" PRIu64 " bytes, its buffer has %" PRIu64, what,
                out->numel * (uint64_t)sizeof(float), buffer->bytes);
  return CAGR_OK;
}

static cagr_status kernel_run(cagr_context* context, cagr_kernel_run_args* a) {
  shape x, y;
  cagr_status s;
  const cagr_kernel* k;
  size_t want_inputs;
  CHECK_HANDLE(context, TAG_CONTEXT, "context");
  if (a == NULL || !CAGR_STRUCT_HAS(a, cagr_kernel_run_args, output_descs))
    return fail(CAGR_ERROR_INVALID_ARGUMENT, PLUGIN ": kernel_run args are NULL or shorter than ABI 1.0's");
  CHECK_HANDLE(a->kernel, TAG_KERNEL, "kernel");
  CHECK_HANDLE(a->stream, TAG_STREAM, "stream");
  k = a->kernel;
  want_inputs = k->constant != NULL ? 0 : 1; /* buffers for the inputs that are not constants */
  if (a->num_inputs != want_inputs || a->num_outputs != 1)
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: kernel_run takes %zu input and 1 output buffer, got %zu and %zu",
                want_inputs, a->num_inputs, a->num_outputs);
  if ((a->num_inputs > 0 && (a->inputs == NULL || a->input_descs == NULL)) || a->outputs == NULL || a->output_descs == NULL)
    return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: kernel_run's buffer or desc arrays are NULL");
  if ((s = run_tensor(k, a->output_descs[0], a->outputs[0], "output 0", &y)) != CAGR_OK) return s;
  if (k->constant != NULL) { /* the input is the constant, at its shape as created */
    if (y.rank > 0 && y.dims[0] != k->dims[0])
      return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: output 0 has %" PRId64 " rows, the constant input 0 has %" PRId64,
                  y.dims[0], k->dims[0]);
    k->loop(k->constant, (float*)(void*)a->outputs[0]->data, (size_t)y.numel);
    return CAGR_OK;
  }
  if ((s = run_tensor(k, a->input_descs[0], a->inputs[0], "input 0", &x)) != CAGR_OK) return s;
  if (!same_dims(&x, &y, 0)) return fail(CAGR_ERROR_INVALID_ARGUMENT, "relu: output 0 must have the shape of input 0");
  k->loop((const float*)(const void*)a->inputs[0]->data, (float*)(void*)a->outputs[0]->data, (size_t)x.numel);
  return CAGR_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* The table and the one exported symbol                                                           */

static const cagr_plugin_api kApi = {
    sizeof(cagr_plugin_api), /* the table this file was built with: 1.5 (the table itself as 1.4's) */
    CAGR_ABI_VERSION_MAJOR,
    CAGR_ABI_VERSION_MINOR,
    last_error_message,
    init,
    shutdown_plugin,
    get_info,
    device_count,
    device_properties,
    op_query,
    op_variant,
    buffer_alloc,
    buffer_destroy,
    buffer_host_pointer,
    copy,
    stream_create,
    stream_destroy,
    stream_synchronize,
    event_create,
    event_destroy,
    event_record,
    stream_wait_event,
    event_synchronize,
    kernel_create,
    kernel_destroy,
    kernel_run,
    NULL, /* stream_begin_capture: optional, nothing to capture on a device that runs work at once */
    NULL, /* stream_end_capture */
    NULL, /* graph_launch */
    NULL, /* graph_destroy */
    NULL, /* event_elapsed (1.1): optional; without it the host times nodes by synchronising */
    NULL  /* kernel_statistics (1.4): optional; its kernels keep no figures */
};

CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args);

CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  if (args == NULL || !CAGR_STRUCT_HAS(args, cagr_plugin_entry_args, host_abi_minor)) return CAGR_ERROR_INVALID_ARGUMENT;
  if (args->host_abi_major < CAGR_ABI_VERSION_MAJOR) {
    SET(args, cagr_plugin_entry_args, refusal, PLUGIN " speaks ABI 1.x; the host ABI major is older than the plugin's");
    return CAGR_ERROR_VERSION;
  }
  if (!CAGR_STRUCT_HAS(args, cagr_plugin_entry_args, api)) return CAGR_ERROR_INVALID_ARGUMENT;
  /* A host of a later major decides whether it still speaks 1.x (it reads plugin_abi_major). */
  args->plugin_abi_major = CAGR_ABI_VERSION_MAJOR;
  args->plugin_abi_minor = CAGR_ABI_VERSION_MINOR;
  args->api = &kApi;
  SET(args, cagr_plugin_entry_args, refusal, (const char*)NULL);
  return CAGR_OK;
}

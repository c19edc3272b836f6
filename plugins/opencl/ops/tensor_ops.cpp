// tensor_ops.cpp - the general tensor ops of OPS.md that carry a recommendation model's data flow
// after an ONNX import: transpose, slice and expand (one strided copy), take, fixed_bag_offsets,
// table_offsets, cast and elementwise (every function and dtype of OPS.md). Kernels are in kernels/tensor_ops.cl.
//
// Any dim of these ops may change between kernel_create and kernel_run (OPS.md), so a kernel is
// compiled only for what cannot change (element types, the elementwise function) and reads every
// size from the run's checked sizes (Launch::sizes). Faults found on the device (an index of take
// out of range, a bad table offset, an integer division by zero) go to the stream's error record
// and are reported at synchronize, as embedding_bag's are.
#include <algorithm>
#include <cstring>

#include "device.hpp"
#include "ops/ops.hpp"
#include "tensor_ops_cl.hpp"

namespace cagr::opencl {

namespace {

constexpr size_t kMaxTensors = 3;  // elementwise's where reads three

// OpenCL C's unsigned type of an element of `bytes` bytes: what the data-movement kernels copy.
const char* bits_type(size_t bytes) {
  switch (bytes) {
    case 1: return "uchar";
    case 2: return "ushort";
    case 4: return "uint";
    case 8: return "ulong";
    default: plugin::unsupported("opencl: no element type of " + std::to_string(bytes) + " bytes");
  }
}

// An output shape walked by the kernels' `locate` (tensor_ops.cl): dims of 1 dropped, and adjacent
// dims merged where every tensor's strides let one index walk both, so that most launches see rank
// 1 or 2. Dims and strides are padded to 8 (OPS.md's highest rank) for the kernel's long8 arguments.
struct Walk {
  cl_int rank = 0;
  cl_int narrow = 0;  // every flat position fits 32 bits: the kernel's coordinates in uint
  cl_long8 dims{};
  cl_long8 strides[kMaxTensors]{};
};

Walk walk(const std::vector<int64_t>& dims, const std::vector<const std::vector<int64_t>*>& strides) {
  std::vector<int64_t> d;
  std::vector<std::vector<int64_t>> s(strides.size());
  int64_t numel = 1;
  for (size_t k = 0; k < dims.size(); ++k) {
    numel *= dims[k];
    if (dims[k] == 1) continue;
    bool merge = !d.empty();
    for (size_t t = 0; merge && t < strides.size(); ++t) merge = s[t].back() == (*strides[t])[k] * dims[k];
    if (merge) {
      d.back() *= dims[k];
      for (size_t t = 0; t < strides.size(); ++t) s[t].back() = (*strides[t])[k];
      continue;
    }
    d.push_back(dims[k]);
    for (size_t t = 0; t < strides.size(); ++t) s[t].push_back((*strides[t])[k]);
  }
  Walk w;
  w.rank = static_cast<cl_int>(d.size());
  w.narrow = numel <= 0xffffffffLL ? 1 : 0;
  for (size_t k = 0; k < 8; ++k) {
    w.dims.s[k] = k < d.size() ? d[k] : 1;
    for (size_t t = 0; t < strides.size(); ++t) w.strides[t].s[k] = k < d.size() ? s[t][k] : 0;
  }
  return w;
}

size_t group_of(const Device& device) { return simple_group(device); }

// ---- transpose, slice, expand ----------------------------------------------------------------

std::vector<VariantCost> copy_variants(const contract::Checked& checked, const Device&) {
  const auto& s = std::get<contract::StridedCopy>(checked);
  return {{"strided_copy", 0, 2.0 * static_cast<double>(s.numel) * static_cast<double>(s.elem_size), 0.5}};
}

class StridedCopy final : public OpKernel {
 public:
  StridedCopy(Device& device, size_t elem_size)
      : kernel_(make_kernel(device, source::tensor_ops, std::string("-DSTRIDED_COPY -DELEM_T=") + bits_type(elem_size),
                            "strided_copy")),
        group_(group_of(device)) {}

  void run(const Launch& launch) override {
    const auto& s = std::get<contract::StridedCopy>(launch.sizes);
    if (s.numel == 0) return;
    const Walk w = walk(s.out_dims, {&s.strides});
    const size_t elem = s.elem_size;
    // A contiguous run of the input (a slice of leading rows, a transpose that moves only dims of 1):
    // one copy command.
    if ((w.rank == 0 || (w.rank == 1 && w.strides[0].s[0] == 1)) && launch.inputs[0] != launch.outputs[0]) {
      check_cl(clEnqueueCopyBuffer(launch.queue, launch.inputs[0], launch.outputs[0], static_cast<size_t>(s.offset) * elem, 0,
                                   static_cast<size_t>(s.numel) * elem, 0, nullptr, nullptr),
               "clEnqueueCopyBuffer (strided copy)");
      return;
    }
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_long>(s.numel), static_cast<cl_long>(s.offset),
             w.rank, w.narrow, w.dims, w.strides[0]);
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(s.numel), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> copy_create(Device& device, const contract::Checked& checked, const std::string&,
                                      const std::vector<cl_mem>&) {
  return std::make_unique<StridedCopy>(device, std::get<contract::StridedCopy>(checked).elem_size);
}

// ---- take ------------------------------------------------------------------------------------

std::vector<VariantCost> take_variants(const contract::Checked& checked, const Device&) {
  const auto& t = std::get<contract::Take>(checked);
  const double moved = static_cast<double>(t.outer) * t.count * t.inner * static_cast<double>(t.elem_size);
  return {{"element_per_item", 0, 2.0 * moved + static_cast<double>(plugin::dtype_size(t.index_dtype)) * t.count, 0.5}};
}

class Take final : public OpKernel {
 public:
  Take(Device& device, const contract::Take& t) : group_(group_of(device)) {
    const std::string options = std::string("-DTAKE -DELEM_T=") + bits_type(t.elem_size) + " -DINDEX_T=" + cl_index_type(t.index_dtype);
    take_ = make_kernel(device, source::tensor_ops, options, "take");
    check_ = make_kernel(device, source::tensor_ops, options, "take_check");
  }

  void run(const Launch& launch) override {
    const auto& t = std::get<contract::Take>(launch.sizes);
    const int64_t numel = t.outer * t.count * t.inner;
    if (numel == 0) {  // nothing to copy, but the indices are still checked
      if (t.count == 0) return;
      set_args(check_.get(), launch.inputs[1], static_cast<cl_long>(t.axis_len), static_cast<cl_long>(t.count), launch.error_record);
      launch_1d(launch.queue, check_.get(), static_cast<size_t>(t.count), group_);
      return;
    }
    set_args(take_.get(), launch.inputs[0], launch.inputs[1], launch.outputs[0], static_cast<cl_long>(t.outer),
             static_cast<cl_long>(t.axis_len), static_cast<cl_long>(t.inner), static_cast<cl_long>(t.count),
             static_cast<cl_int>(numel <= 0xffffffffLL), launch.error_record);
    launch_1d(launch.queue, take_.get(), static_cast<size_t>(numel), group_);
  }

 private:
  KernelHandle take_, check_;
  size_t group_;
};

std::unique_ptr<OpKernel> take_create(Device& device, const contract::Checked& checked, const std::string&,
                                      const std::vector<cl_mem>&) {
  return std::make_unique<Take>(device, std::get<contract::Take>(checked));
}

// ---- fixed_bag_offsets, table_offsets --------------------------------------------------------

std::vector<VariantCost> bag_offsets_variants(const contract::Checked& checked, const Device&) {
  return {{"item_per_offset", 0, 8.0 * static_cast<double>(std::get<contract::BagOffsets>(checked).bags + 1), 0.5}};
}

class BagOffsets final : public OpKernel {
 public:
  explicit BagOffsets(Device& device)
      : kernel_(make_kernel(device, source::tensor_ops, "-DBAG_OFFSETS -DOFFSET_T=long", "fixed_bag_offsets")),
        group_(group_of(device)) {}

  void run(const Launch& launch) override {
    const auto& b = std::get<contract::BagOffsets>(launch.sizes);
    set_args(kernel_.get(), launch.outputs[0], static_cast<cl_long>(b.bags), static_cast<cl_long>(b.bag_size));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(b.bags + 1), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> bag_offsets_create(Device& device, const contract::Checked&, const std::string&,
                                             const std::vector<cl_mem>&) {
  return std::make_unique<BagOffsets>(device);
}

std::vector<VariantCost> table_offsets_variants(const contract::Checked& checked, const Device&) {
  const auto& t = std::get<contract::TableOffsets>(checked);
  const double n = static_cast<double>(t.tables * t.batch);
  return {{"item_per_offset", 0, n * static_cast<double>(plugin::dtype_size(t.offset_dtype)) + 8.0 * (n + 1), 0.5}};
}

class TableOffsets final : public OpKernel {
 public:
  TableOffsets(Device& device, cagr_dtype offset_dtype)
      : kernel_(make_kernel(device, source::tensor_ops, std::string("-DBAG_OFFSETS -DOFFSET_T=") + cl_index_type(offset_dtype),
                            "table_offsets")),
        group_(group_of(device)) {}

  void run(const Launch& launch) override {
    const auto& t = std::get<contract::TableOffsets>(launch.sizes);
    // Input 1 (the indices) gives only its shape, L: the kernel never reads it.
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_long>(t.tables), static_cast<cl_long>(t.batch),
             static_cast<cl_long>(t.row_length), launch.error_record);
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(t.tables * t.batch + 1), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> table_offsets_create(Device& device, const contract::Checked& checked, const std::string&,
                                               const std::vector<cl_mem>&) {
  return std::make_unique<TableOffsets>(device, std::get<contract::TableOffsets>(checked).offset_dtype);
}

// ---- cast -------------------------------------------------------------------------------------

// OpenCL C's type of a value of `dtype` (cast takes f32, i32, i64, u8 and i8), and the unsigned one
// of its width.
const char* cast_type(cagr_dtype dtype) {
  switch (dtype) {
    case CAGR_DTYPE_F32: return "float";
    case CAGR_DTYPE_I32: return "int";
    case CAGR_DTYPE_I64: return "long";
    case CAGR_DTYPE_U8: return "uchar";
    case CAGR_DTYPE_I8: return "char";
    default: plugin::unsupported(std::string("opencl: cast: no conversion of ") + plugin::dtype_name(dtype));
  }
}

std::vector<VariantCost> cast_variants(const contract::Checked& checked, const Device&) {
  const auto& c = std::get<contract::Cast>(checked);
  const double per_element = static_cast<double>(plugin::dtype_size(c.from) + plugin::dtype_size(c.to));
  return {{"element_per_item", 0, per_element * static_cast<double>(c.numel), 0.5}};
}

class Cast final : public OpKernel {
 public:
  Cast(Device& device, const contract::Cast& c) : group_(group_of(device)) {
    const bool from_f32 = c.from == CAGR_DTYPE_F32, to_f32 = c.to == CAGR_DTYPE_F32;
    const char* kind = from_f32 && to_f32 ? "4" : from_f32 ? "1" : to_f32 ? "2" : "3";
    const std::string options = std::string("-DCAST -DFROM_T=") + cast_type(c.from) + " -DTO_T=" + cast_type(c.to) +
                                " -DTO_BITS_T=" + bits_type(plugin::dtype_size(c.to)) + " -DCAST_KIND=" + kind;
    kernel_ = make_kernel(device, source::tensor_ops, options, "cast");
  }

  void run(const Launch& launch) override {
    const auto& c = std::get<contract::Cast>(launch.sizes);
    set_args(kernel_.get(), launch.inputs[0], launch.outputs[0], static_cast<cl_long>(c.numel));
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(c.numel), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> cast_create(Device& device, const contract::Checked& checked, const std::string&,
                                      const std::vector<cl_mem>&) {
  return std::make_unique<Cast>(device, std::get<contract::Cast>(checked));
}

// ---- elementwise -----------------------------------------------------------------------------

// The kernel's EW_* code of a function (tensor_ops.cl), and whether it reads f32 values the
// transcendental way (a few flops) or not.
const char* fn_code(contract::ElementwiseFn fn) {
  using F = contract::ElementwiseFn;
  switch (fn) {
    case F::neg: return "EW_NEG";
    case F::abs: return "EW_ABS";
    case F::sqrt: return "EW_SQRT";
    case F::exp: return "EW_EXP";
    case F::log: return "EW_LOG";
    case F::tanh: return "EW_TANH";
    case F::reciprocal: return "EW_RECIPROCAL";
    case F::floor: return "EW_FLOOR";
    case F::ceil: return "EW_CEIL";
    case F::logical_not: return "EW_NOT";
    case F::add: return "EW_ADD";
    case F::sub: return "EW_SUB";
    case F::mul: return "EW_MUL";
    case F::div: return "EW_DIV";
    case F::pow: return "EW_POW";
    case F::max: return "EW_MAX";
    case F::min: return "EW_MIN";
    case F::equal: return "EW_EQUAL";
    case F::less: return "EW_LESS";
    case F::greater: return "EW_GREATER";
    case F::less_or_equal: return "EW_LESS_OR_EQUAL";
    case F::greater_or_equal: return "EW_GREATER_OR_EQUAL";
    case F::logical_and: return "EW_AND";
    case F::logical_or: return "EW_OR";
    case F::logical_xor: return "EW_XOR";
    case F::where: return "EW_WHERE";
  }
  plugin::unsupported("opencl: elementwise: unknown function");
}

// OpenCL C's type of an arithmetic value of `dtype` (the contract admits f32, i32, i64 and u8 there).
const char* value_type(cagr_dtype dtype) {
  switch (dtype) {
    case CAGR_DTYPE_F32: return "float";
    case CAGR_DTYPE_I32: return "int";
    case CAGR_DTYPE_I64: return "long";
    case CAGR_DTYPE_U8: return "uchar";
    default: plugin::unsupported(std::string("opencl: elementwise: no arithmetic on ") + plugin::dtype_name(dtype));
  }
}

// Build options of the program for this function and dtype.
std::string elementwise_options(const contract::Elementwise& e) {
  using F = contract::ElementwiseFn;
  std::string a, b, out;
  if (e.fn == F::where) {  // values are only moved: any dtype, as its bits
    a = "uchar";
    b = out = bits_type(plugin::dtype_size(e.dtype));
  } else {
    a = b = value_type(e.dtype);
    out = e.out_dtype == CAGR_DTYPE_U8 ? "uchar" : a;
  }
  std::string options = std::string("-DELEMENTWISE -DEW_FN=") + fn_code(e.fn) + " -DA_T=" + a + " -DB_T=" + b +
                        " -DC_T=" + b + " -DOUT_T=" + out;
  if (e.fn != F::where && e.dtype == CAGR_DTYPE_F32) options += " -DEW_FLOAT";
  if (e.dtype == CAGR_DTYPE_I32) options += " -DUT=uint -DT_MIN=INT_MIN";
  if (e.dtype == CAGR_DTYPE_I64) options += " -DUT=ulong -DT_MIN=LONG_MIN";
  return options;
}

std::vector<VariantCost> elementwise_variants(const contract::Checked& checked, const Device&) {
  const auto& e = std::get<contract::Elementwise>(checked);
  using F = contract::ElementwiseFn;
  const bool heavy = e.dtype == CAGR_DTYPE_F32 &&
                     (e.fn == F::sqrt || e.fn == F::exp || e.fn == F::log || e.fn == F::tanh || e.fn == F::pow || e.fn == F::div ||
                      e.fn == F::reciprocal);
  const double n = static_cast<double>(e.numel);
  // Each input is read about once per output element it feeds (broadcast reads hit the cache).
  const double bytes = n * (static_cast<double>(plugin::dtype_size(e.dtype)) * static_cast<double>(e.strides.size()) +
                            static_cast<double>(plugin::dtype_size(e.out_dtype)));
  return {{"broadcast_walk", n * (heavy ? 20.0 : 1.0), bytes, 0.5}};
}

class Elementwise final : public OpKernel {
 public:
  Elementwise(Device& device, const contract::Elementwise& e)
      : kernel_(make_kernel(device, source::tensor_ops, elementwise_options(e), "elementwise")), group_(group_of(device)) {}

  void run(const Launch& launch) override {
    const auto& e = std::get<contract::Elementwise>(launch.sizes);
    if (e.numel == 0) return;
    std::vector<const std::vector<int64_t>*> strides;
    for (const auto& s : e.strides) strides.push_back(&s);
    const Walk w = walk(e.out_dims, strides);
    // Inputs the function lacks are bound to input 0 with strides 0 (never read).
    const cl_mem a = launch.inputs[0];
    const cl_mem b = launch.inputs.size() > 1 ? launch.inputs[1] : a;
    const cl_mem c = launch.inputs.size() > 2 ? launch.inputs[2] : a;
    set_args(kernel_.get(), a, b, c, launch.outputs[0], static_cast<cl_long>(e.numel), w.rank, w.narrow, w.dims, w.strides[0],
             w.strides[1], w.strides[2], launch.error_record);
    launch_1d(launch.queue, kernel_.get(), static_cast<size_t>(e.numel), group_);
  }

 private:
  KernelHandle kernel_;
  size_t group_;
};

std::unique_ptr<OpKernel> elementwise_create(Device& device, const contract::Checked& checked, const std::string&,
                                             const std::vector<cl_mem>&) {
  return std::make_unique<Elementwise>(device, std::get<contract::Elementwise>(checked));
}

}  // namespace

const OpDefinition kTranspose = {"transpose", copy_variants, copy_create};
const OpDefinition kSlice = {"slice", copy_variants, copy_create};
const OpDefinition kExpand = {"expand", copy_variants, copy_create};
const OpDefinition kTake = {"take", take_variants, take_create};
const OpDefinition kFixedBagOffsets = {"fixed_bag_offsets", bag_offsets_variants, bag_offsets_create};
const OpDefinition kTableOffsets = {"table_offsets", table_offsets_variants, table_offsets_create};
const OpDefinition kCast = {"cast", cast_variants, cast_create};
const OpDefinition kTensorElementwise = {"elementwise", elementwise_variants, elementwise_create};

}  // namespace cagr::opencl

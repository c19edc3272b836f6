// arrays.cpp - see arrays.hpp.
#include "arrays.hpp"

#include <cstring>

#include "c_api_error.hpp"

namespace cagr_python {

namespace {

namespace dl = nb::dlpack;

struct ElementType {
  int32_t cagr;
  dl::dtype_code code;
  uint8_t bits;
  const char* name;
};

// CAGR's element types (cagr.h) and DLPack's.
constexpr ElementType kElementTypes[] = {
    {CAGR_F32, dl::dtype_code::Float, 32, "float32"}, {CAGR_F16, dl::dtype_code::Float, 16, "float16"},
    {CAGR_BF16, dl::dtype_code::Bfloat, 16, "bfloat16"}, {CAGR_I32, dl::dtype_code::Int, 32, "int32"},
    {CAGR_I64, dl::dtype_code::Int, 64, "int64"},        {CAGR_I8, dl::dtype_code::Int, 8, "int8"},
    {CAGR_U8, dl::dtype_code::UInt, 8, "uint8"},
};

const ElementType* by_cagr(int32_t dtype) {
  for (const ElementType& t : kElementTypes)
    if (t.cagr == dtype) return &t;
  return nullptr;
}

const ElementType* by_dlpack(dl::dtype dtype) {
  if (dtype.lanes != 1) return nullptr;
  for (const ElementType& t : kElementTypes)
    if (static_cast<uint8_t>(t.code) == dtype.code && t.bits == dtype.bits) return &t;
  return nullptr;
}

// "float64", "complex64", "bool" ...: how the caller knows the dtype CAGR refused.
std::string dlpack_name(dl::dtype dtype) {
  static const char* const codes[] = {"int", "uint", "float", "?", "bfloat", "complex", "bool"};
  const std::string code = dtype.code < std::size(codes) ? codes[dtype.code] : "code " + std::to_string(dtype.code);
  if (code == "bool") return code;
  return code + std::to_string(dtype.bits) + (dtype.lanes != 1 ? " x" + std::to_string(dtype.lanes) : "");
}

std::string taken_dtypes() {
  std::string list;
  for (const ElementType& t : kElementTypes) list += (list.empty() ? "" : ", ") + std::string(t.name);
  return list;
}

// Why a value is no host array we can read, for the error.
std::string why_not_a_host_array(const nb::handle& value) {
  nb::ndarray<> any;
  if (!nb::try_cast(value, any, false))
    return "expected an array (numpy, a torch tensor, anything with __dlpack__ or the buffer protocol), got " +
           std::string(nb::type_name(value.type()).c_str());
  if (any.device_type() != nb::device::cpu::value)
    return "the array is on a device (DLPack device type " + std::to_string(any.device_type()) +
           "): the C API takes inputs in host memory (cagr.h, cagr_tensor), so copy it to the CPU first";
  return "the array is not C-contiguous and could not be made so";
}

}  // namespace

const char* dtype_name(int32_t dtype) {
  const ElementType* t = by_cagr(dtype);
  return t ? t->name : "";
}

InputViews::InputViews(const nb::dict& inputs) {
  const size_t n = inputs.size();
  names_.reserve(n);
  arrays_.reserve(n);
  tensors_.reserve(n);
  for (auto [key, value] : inputs) {
    if (!nb::isinstance<nb::str>(key))
      throw Error("inputs are named by strings; got a key of type " + std::string(nb::type_name(key.type()).c_str()));
    names_.push_back(nb::borrow<nb::str>(key));
    const char* name = names_.back().c_str();
    HostArray array;
    // Conversion allowed: an array that is not C-contiguous is copied into one that is.
    if (!nb::try_cast(value, array, true)) throw Error("input '" + std::string(name) + "': " + why_not_a_host_array(value));
    const ElementType* type = by_dlpack(array.dtype());
    if (type == nullptr)
      throw Error("input '" + std::string(name) + "': dtype " + dlpack_name(array.dtype()) + " is not one CAGR takes (" +
                  taken_dtypes() + ")");
    cagr_tensor t{};
    t.struct_size = sizeof t;
    t.name = name;
    t.dtype = type->cagr;
    t.rank = static_cast<int32_t>(array.ndim());
    t.dims = array.shape_ptr();
    t.data = const_cast<void*>(array.data());  // cagr_session_run only reads inputs
    arrays_.push_back(std::move(array));
    tensors_.push_back(t);
  }
}

OutputCopy::OutputCopy(const cagr_tensor& output) : dtype_(output.dtype) {
  const ElementType* type = by_cagr(output.dtype);
  if (type == nullptr) throw Error("output '" + std::string(output.name) + "': unknown dtype " + std::to_string(output.dtype));
  size_t bytes = type->bits / 8;
  for (int32_t i = 0; i < output.rank; ++i) {
    shape_.push_back(static_cast<size_t>(output.dims[i]));
    bytes *= shape_.back();
  }
  data_.reset(new std::byte[bytes]);
  if (bytes != 0) std::memcpy(data_.get(), output.data, bytes);
}

nb::object OutputCopy::to_numpy() {
  const ElementType* type = by_cagr(dtype_);
  std::byte* data = data_.release();
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<std::byte*>(p); });
  const dl::dtype dtype{static_cast<uint8_t>(type->code), type->bits, 1};
  return nb::ndarray<nb::numpy>(data, shape_.size(), shape_.data(), owner, nullptr, dtype).cast();
}

}  // namespace cagr_python

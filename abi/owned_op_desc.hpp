// owned_op_desc.hpp - an op description that owns its strings, shapes and attributes, and hands out the
// ABI's pointer-based cagr_op_desc view of them. For code that makes ops (tests, benchmarks,
// graph builders): the raw ABI struct owns nothing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cagr_plugin.h"
#include "cagr_struct.hpp"
#include "math_precision.hpp"

namespace cagr::abi {

inline cagr_tensor_desc tensor_desc(cagr_dtype dtype, const std::vector<int64_t>& dims) {
  auto t = abi::make_struct<cagr_tensor_desc>();
  t.dtype = dtype;
  t.rank = static_cast<int32_t>(dims.size());
  for (size_t i = 0; i < dims.size() && i < CAGR_MAX_RANK; ++i) t.dims[i] = dims[i];
  return t;
}

class OwnedOpDesc {
 public:
  explicit OwnedOpDesc(std::string type) : type_(std::move(type)) {}

  // An owning copy of a host-owned description (read within its struct sizes).
  static OwnedOpDesc copy_of(const cagr_op_desc& op) {
    const auto d = abi::read_struct(&op);
    OwnedOpDesc copy(d.op_type != nullptr ? d.op_type : "");
    for (size_t i = 0; i < d.num_inputs; ++i) copy.inputs_.push_back(abi::read_struct(d.inputs[i]));
    for (size_t i = 0; i < d.num_outputs; ++i) copy.outputs_.push_back(abi::read_struct(d.outputs[i]));
    for (size_t i = 0; i < d.num_attrs; ++i) {
      if (d.attrs[i] == nullptr) continue;
      const auto a = abi::read_struct(d.attrs[i]);
      Attr own{a.name ? a.name : "", a.kind, a.i, a.f, a.s ? a.s : "", {}, {}};
      if (a.kind == CAGR_ATTR_INTS && a.ints != nullptr) own.ints.assign(a.ints, a.ints + a.count);
      if (a.kind == CAGR_ATTR_FLOATS && a.floats != nullptr) own.floats.assign(a.floats, a.floats + a.count);
      copy.attrs_.push_back(std::move(own));
    }
    copy.math_precision_ = allowed_math_precision(op);
    return copy;
  }

  OwnedOpDesc& input(cagr_dtype dtype, const std::vector<int64_t>& dims) {
    inputs_.push_back(tensor_desc(dtype, dims));
    return *this;
  }
  OwnedOpDesc& output(cagr_dtype dtype, const std::vector<int64_t>& dims) {
    outputs_.push_back(tensor_desc(dtype, dims));
    return *this;
  }
  OwnedOpDesc& attr(const std::string& name, int64_t value) { return add({name, CAGR_ATTR_INT, value, 0, {}, {}, {}}); }
  OwnedOpDesc& attr(const std::string& name, const std::string& value) { return add({name, CAGR_ATTR_STRING, 0, 0, value, {}, {}}); }
  OwnedOpDesc& attr(const std::string& name, const char* value) { return attr(name, std::string(value)); }
  OwnedOpDesc& attr(const std::string& name, double value) { return add({name, CAGR_ATTR_FLOAT, 0, value, {}, {}, {}}); }
  OwnedOpDesc& attr(const std::string& name, const std::vector<double>& value) {
    return add({name, CAGR_ATTR_FLOATS, 0, 0, {}, {}, value});
  }
  OwnedOpDesc& attr(const std::string& name, const std::vector<int64_t>& value) {
    return add({name, CAGR_ATTR_INTS, 0, 0, {}, value, {}});
  }

  // A copy without the attribute `name` (as if it were never set).
  OwnedOpDesc without_attr(const std::string& name) const {
    OwnedOpDesc copy = *this;
    copy.attrs_.erase(std::remove_if(copy.attrs_.begin(), copy.attrs_.end(), [&](const Attr& a) { return a.name == name; }),
                      copy.attrs_.end());
    return copy;
  }

  // Chains a cagr_math_precision_extension allowing `p` to the view (none for f32, the default).
  OwnedOpDesc& allow_math_precision(cagr_math_precision p) {
    math_precision_ = p;
    return *this;
  }
  cagr_math_precision math_precision() const { return math_precision_; }

  const std::string& type() const { return type_; }
  std::vector<cagr_tensor_desc>& inputs() { return inputs_; }
  std::vector<cagr_tensor_desc>& outputs() { return outputs_; }
  const std::vector<cagr_tensor_desc>& inputs() const { return inputs_; }
  const std::vector<cagr_tensor_desc>& outputs() const { return outputs_; }

  // The ABI view; valid until this object is next changed, copied over or destroyed.
  const cagr_op_desc& desc() {
    input_ptrs_.clear();
    output_ptrs_.clear();
    attr_structs_.clear();
    attr_ptrs_.clear();
    for (const auto& t : inputs_) input_ptrs_.push_back(&t);
    for (const auto& t : outputs_) output_ptrs_.push_back(&t);
    for (const auto& a : attrs_) {
      auto s = abi::make_struct<cagr_attr>();
      s.name = a.name.c_str();
      s.kind = a.kind;
      s.i = a.i;
      s.f = a.f;
      s.s = a.s.c_str();
      s.ints = a.ints.data();
      s.floats = a.floats.data();
      s.count = a.kind == CAGR_ATTR_INTS ? a.ints.size() : a.kind == CAGR_ATTR_FLOATS ? a.floats.size() : 0;
      attr_structs_.push_back(s);
    }
    for (const auto& s : attr_structs_) attr_ptrs_.push_back(&s);
    desc_ = abi::make_struct<cagr_op_desc>();
    desc_.op_type = type_.c_str();
    desc_.num_inputs = input_ptrs_.size();
    desc_.inputs = input_ptrs_.data();
    desc_.num_outputs = output_ptrs_.size();
    desc_.outputs = output_ptrs_.data();
    desc_.num_attrs = attr_ptrs_.size();
    desc_.attrs = attr_ptrs_.data();
    if (math_precision_ != CAGR_MATH_F32) {
      precision_extension_ = abi::make_struct<cagr_math_precision_extension>();
      precision_extension_.type = CAGR_EXTENSION_MATH_PRECISION;
      precision_extension_.allowed = math_precision_;
      desc_.extensions = reinterpret_cast<const cagr_extension*>(&precision_extension_);
    }
    return desc_;
  }

 private:
  struct Attr {
    std::string name;
    cagr_attr_kind kind;
    int64_t i;
    double f;
    std::string s;
    std::vector<int64_t> ints;
    std::vector<double> floats;
  };
  OwnedOpDesc& add(Attr a) {
    attrs_.push_back(std::move(a));
    return *this;
  }

  std::string type_;
  std::vector<cagr_tensor_desc> inputs_, outputs_;
  std::vector<Attr> attrs_;
  cagr_math_precision math_precision_ = CAGR_MATH_F32;
  // The view handed out by desc().
  std::vector<const cagr_tensor_desc*> input_ptrs_, output_ptrs_;
  std::vector<cagr_attr> attr_structs_;
  std::vector<const cagr_attr*> attr_ptrs_;
  cagr_op_desc desc_{};
  cagr_math_precision_extension precision_extension_{};
};

}  // namespace cagr::abi

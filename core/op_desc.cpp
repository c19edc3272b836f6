// op_desc.cpp - building cagr_op_desc from IR nodes.
#include "op_desc.hpp"

#include <stdexcept>

#include "cagr_struct.hpp"

namespace cagr {

cagr_tensor_desc make_tensor_desc(const TensorShape& shape) {
  auto d = abi::make_struct<cagr_tensor_desc>();
  if (shape.dims.size() > CAGR_MAX_RANK) throw std::invalid_argument("tensor rank above CAGR_MAX_RANK");
  d.dtype = shape.dtype;
  d.rank = static_cast<int32_t>(shape.dims.size());
  for (size_t i = 0; i < shape.dims.size(); ++i) d.dims[i] = shape.dims[i];
  return d;
}

OpDesc::OpDesc(const Node& node, const std::vector<TensorShape>& shapes)
    : op_type_(node.op), desc_(abi::make_struct<cagr_op_desc>()) {
  for (int id : node.inputs) inputs_.push_back(make_tensor_desc(shapes.at(static_cast<size_t>(id))));
  for (int id : node.outputs) outputs_.push_back(make_tensor_desc(shapes.at(static_cast<size_t>(id))));
  for (const auto& d : inputs_) input_ptrs_.push_back(&d);
  for (const auto& d : outputs_) output_ptrs_.push_back(&d);

  attrs_.reserve(node.attrs.size());
  for (const auto& [key, value] : node.attrs) {
    auto a = abi::make_struct<cagr_attr>();
    a.name = strings_.emplace_back(key).c_str();
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, int64_t>) {
            a.kind = CAGR_ATTR_INT;
            a.i = v;
          } else if constexpr (std::is_same_v<T, double>) {
            a.kind = CAGR_ATTR_FLOAT;
            a.f = v;
          } else if constexpr (std::is_same_v<T, std::string>) {
            a.kind = CAGR_ATTR_STRING;
            a.s = strings_.emplace_back(v).c_str();
          } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            a.kind = CAGR_ATTR_INTS;
            a.ints = int_lists_.emplace_back(v).data();
            a.count = v.size();
          } else {
            a.kind = CAGR_ATTR_FLOATS;
            a.floats = float_lists_.emplace_back(v).data();
            a.count = v.size();
          }
        },
        value);
    attrs_.push_back(a);
  }
  for (const auto& a : attrs_) attr_ptrs_.push_back(&a);

  desc_.op_type = op_type_.c_str();
  desc_.num_inputs = input_ptrs_.size();
  desc_.inputs = input_ptrs_.data();
  desc_.num_outputs = output_ptrs_.size();
  desc_.outputs = output_ptrs_.data();
  desc_.num_attrs = attr_ptrs_.size();
  desc_.attrs = attr_ptrs_.data();
}

}  // namespace cagr

// node_desc.cpp - IR nodes as ABI op descriptions.
#include "node_desc.hpp"

#include <sstream>

namespace cagr {

abi::OwnedOpDesc describe_node(const Node& node, const std::vector<TensorShape>& shapes) {
  abi::OwnedOpDesc desc(node.op);
  for (int id : node.inputs) desc.input(shapes.at(static_cast<size_t>(id)).dtype, shapes.at(static_cast<size_t>(id)).dims);
  for (int id : node.outputs) desc.output(shapes.at(static_cast<size_t>(id)).dtype, shapes.at(static_cast<size_t>(id)).dims);
  for (const auto& [key, value] : node.attrs) std::visit([&, &key = key](const auto& v) { desc.attr(key, v); }, value);
  desc.allow_math_precision(node.math_precision);
  return desc;
}

std::string op_signature(const cagr_op_desc& op, bool leading_dims) {
  std::ostringstream text;
  text << op.op_type;
  auto tensors = [&](const char* kind, const cagr_tensor_desc* const* descs, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      text << '|' << kind << ':' << descs[i]->dtype << ':';
      for (int32_t d = leading_dims ? 0 : 1; d < descs[i]->rank; ++d) text << descs[i]->dims[d] << ',';
    }
  };
  tensors("in", op.inputs, op.num_inputs);
  tensors("out", op.outputs, op.num_outputs);
  for (size_t i = 0; i < op.num_attrs; ++i) {
    const cagr_attr& a = *op.attrs[i];
    text << '|' << a.name << '=';
    switch (a.kind) {
      case CAGR_ATTR_INT: text << a.i; break;
      case CAGR_ATTR_FLOAT: text << a.f; break;
      case CAGR_ATTR_STRING: text << a.s; break;
      case CAGR_ATTR_INTS: for (size_t k = 0; k < a.count; ++k) text << a.ints[k] << ','; break;
      case CAGR_ATTR_FLOATS: for (size_t k = 0; k < a.count; ++k) text << a.floats[k] << ','; break;
    }
  }
  return text.str();
}

}  // namespace cagr

// node_desc.cpp - IR nodes as ABI op descriptions.
#include "node_desc.hpp"

namespace cagr {

abi::OwnedOpDesc describe_node(const Node& node, const std::vector<TensorShape>& shapes) {
  abi::OwnedOpDesc desc(node.op);
  for (int id : node.inputs) desc.input(shapes.at(static_cast<size_t>(id)).dtype, shapes.at(static_cast<size_t>(id)).dims);
  for (int id : node.outputs) desc.output(shapes.at(static_cast<size_t>(id)).dtype, shapes.at(static_cast<size_t>(id)).dims);
  for (const auto& [key, value] : node.attrs) std::visit([&, &key = key](const auto& v) { desc.attr(key, v); }, value);
  desc.allow_math_precision(node.math_precision);
  return desc;
}

}  // namespace cagr

// graph.cpp - graph IR bookkeeping: names, producers, topological order.
#include "graph.hpp"

#include <stdexcept>

namespace cagr {

int64_t element_count(const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

std::string dims_to_string(const Dims& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += dims[i] < 0 ? "?" : std::to_string(dims[i]);
  }
  return s;
}

int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return *v;
  throw std::invalid_argument("node '" + name + "': attribute '" + key + "' must be an int");
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (const auto* v = std::get_if<std::string>(&it->second)) return *v;
  throw std::invalid_argument("node '" + name + "': attribute '" + key + "' must be a string");
}

std::vector<int64_t> Node::attr_ints(const std::string& key, const std::vector<int64_t>& fallback) const {
  auto it = attrs.find(key);
  if (it == attrs.end()) return fallback;
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  throw std::invalid_argument("node '" + name + "': attribute '" + key + "' must be a list of ints");
}

int Graph::add_tensor(TensorInfo info) {
  if (info.name.empty()) throw std::invalid_argument("tensor without a name");
  if (by_name_.count(info.name)) throw std::invalid_argument("tensor '" + info.name + "' is defined twice");
  const int id = static_cast<int>(tensors_.size());
  by_name_[info.name] = id;
  tensors_.push_back(std::move(info));
  return id;
}

int Graph::add_input(const std::string& name, cagr_dtype dtype, Dims dims) {
  const int id = add_tensor(TensorInfo{name, dtype, std::move(dims), nullptr});
  inputs_.push_back(id);
  return id;
}

int Graph::add_constant(const std::string& name, cagr_dtype dtype, Dims dims, std::vector<std::byte> data) {
  const int64_t n = element_count(dims);
  if (n < 0 || static_cast<size_t>(n) * dtype_size(dtype) != data.size())
    throw std::invalid_argument("constant '" + name + "': " + std::to_string(data.size()) + " bytes do not match shape [" +
                                dims_to_string(dims) + "] of " + dtype_name(dtype));
  return add_tensor(TensorInfo{name, dtype, std::move(dims), std::make_shared<const std::vector<std::byte>>(std::move(data))});
}

int Graph::add_node(Node node, const std::vector<std::string>& input_names, const std::vector<std::string>& output_names) {
  node.inputs.clear();
  node.outputs.clear();
  for (const auto& in : input_names) node.inputs.push_back(tensor_id(in));
  for (const auto& out : output_names) {
    if (has_tensor(out))
      throw std::invalid_argument("node '" + node.name + "': output '" + out + "' is already defined elsewhere");
    node.outputs.push_back(add_tensor(TensorInfo{out, CAGR_DTYPE_INVALID, {}, nullptr}));
  }
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size()) - 1;
}

void Graph::mark_output(const std::string& tensor_name) { outputs_.push_back(tensor_id(tensor_name)); }

int Graph::tensor_id(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw std::out_of_range("no tensor named '" + name + "'");
  return it->second;
}

int Graph::producer(int tensor_id) const {
  for (size_t n = 0; n < nodes_.size(); ++n)
    for (int out : nodes_[n].outputs)
      if (out == tensor_id) return static_cast<int>(n);
  return -1;
}

bool Graph::is_view(int n) const {
  const Node& node = nodes_.at(static_cast<size_t>(n));
  return node.op == "reshape" && !tensor(node.inputs.at(0)).is_constant();
}

std::vector<int> Graph::topological_order() const {
  std::vector<int> producer_of(tensors_.size(), -1);
  for (size_t n = 0; n < nodes_.size(); ++n)
    for (int out : nodes_[n].outputs) producer_of[static_cast<size_t>(out)] = static_cast<int>(n);

  std::vector<bool> available(tensors_.size(), false);
  for (int id : inputs_) available[static_cast<size_t>(id)] = true;
  for (size_t t = 0; t < tensors_.size(); ++t)
    if (tensors_[t].is_constant()) available[t] = true;
  for (size_t t = 0; t < tensors_.size(); ++t)
    if (!available[t] && producer_of[t] < 0)
      throw std::invalid_argument("tensor '" + tensors_[t].name + "' is neither an input, a constant nor a node output");

  // Kahn's algorithm, keeping the file order among ready nodes so plans are stable.
  std::vector<int> order;
  std::vector<bool> done(nodes_.size(), false);
  bool progress = true;
  while (order.size() < nodes_.size() && progress) {
    progress = false;
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (done[n]) continue;
      bool ready = true;
      for (int in : nodes_[n].inputs) ready = ready && available[static_cast<size_t>(in)];
      if (!ready) continue;
      done[n] = true;
      order.push_back(static_cast<int>(n));
      for (int out : nodes_[n].outputs) available[static_cast<size_t>(out)] = true;
      progress = true;
    }
  }
  if (order.size() < nodes_.size()) {
    for (size_t n = 0; n < nodes_.size(); ++n)
      if (!done[n]) throw std::invalid_argument("node '" + nodes_[n].name + "' is part of a cycle");
  }
  return order;
}

void allow_math_precision(Graph& graph, cagr_math_precision p) {
  for (Node& node : graph.nodes()) node.math_precision = p;
}

}  // namespace cagr

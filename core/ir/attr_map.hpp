// attr_map.hpp - a node's attribute map (graph.hpp's AttrValue) as the contract's AttrSource, so the
// general tensor ops' rules (abi/tensor_ops.hpp) give output shapes for graph nodes (shape
// inference) and for the ONNX importer's rewritten nodes (its evaluator) alike.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "graph.hpp"
#include "tensor_ops.hpp"

namespace cagr {

class AttrMap final : public contract::AttrSource {
 public:
  AttrMap(const std::map<std::string, AttrValue>& attrs, std::string owner) : attrs_(attrs), owner_(std::move(owner)) {}

  bool has(const char* name) const override { return attrs_.count(name) != 0; }
  int64_t get_int(const char* name, int64_t fallback) const override { return get<int64_t>(name, fallback, "an int"); }
  double get_float(const char* name, double fallback) const override {
    auto it = attrs_.find(name);
    if (it != attrs_.end())
      if (const auto* i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
    return get<double>(name, fallback, "a float");
  }
  std::string get_string(const char* name, const std::string& fallback) const override {
    return get<std::string>(name, fallback, "a string");
  }
  std::vector<int64_t> get_ints(const char* name, const std::vector<int64_t>& fallback) const override {
    return get<std::vector<int64_t>>(name, fallback, "a list of ints");
  }

 private:
  template <class T>
  T get(const char* name, const T& fallback, const char* kind) const {
    auto it = attrs_.find(name);
    if (it == attrs_.end()) return fallback;
    if (const auto* v = std::get_if<T>(&it->second)) return *v;
    throw std::invalid_argument(owner_ + ": attribute '" + name + "' must be " + kind);
  }

  const std::map<std::string, AttrValue>& attrs_;
  std::string owner_;
};

}  // namespace cagr

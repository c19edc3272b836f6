// einsum.cpp - see einsum.hpp.
#include "einsum.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

namespace cagr::onnx {
namespace {

std::string without_spaces(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

void check_labels(const std::string& labels, const std::string& what, const std::string& equation) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!std::isalpha(static_cast<unsigned char>(labels[i])))
      throw std::invalid_argument("Einsum '" + equation + "': '" + std::string(1, labels[i]) + "' in " + what + " is not a letter");
    if (labels.find(labels[i], i + 1) != std::string::npos)
      throw std::invalid_argument("Einsum '" + equation + "': label '" + std::string(1, labels[i]) + "' appears twice in " + what +
                                  " (a diagonal or a repeated output label, which CAGR does not lower)");
  }
}

}  // namespace

EinsumEquation parse_einsum(const std::string& equation, const std::vector<size_t>& ranks) {
  const std::string eq = without_spaces(equation);
  if (eq.find("...") != std::string::npos)
    throw std::invalid_argument("Einsum '" + equation + "': an ellipsis ('...'), which CAGR does not lower; name every dimension");
  const size_t arrow = eq.find("->");
  if (arrow != std::string::npos && eq.find("->", arrow + 2) != std::string::npos)
    throw std::invalid_argument("Einsum '" + equation + "': more than one '->'");
  const std::string lhs = eq.substr(0, arrow);
  EinsumEquation e;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    e.inputs.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (e.inputs.size() != ranks.size())
    throw std::invalid_argument("Einsum '" + equation + "': " + std::to_string(e.inputs.size()) + " operand(s) in the equation, " +
                                std::to_string(ranks.size()) + " given");
  for (size_t k = 0; k < e.inputs.size(); ++k) {
    check_labels(e.inputs[k], "operand " + std::to_string(k), equation);
    if (e.inputs[k].size() != ranks[k])
      throw std::invalid_argument("Einsum '" + equation + "': operand " + std::to_string(k) + " has rank " + std::to_string(ranks[k]) +
                                  " but " + std::to_string(e.inputs[k].size()) + " label(s)");
  }
  if (arrow != std::string::npos) {
    e.output = eq.substr(arrow + 2);
    check_labels(e.output, "the output", equation);
    for (char c : e.output)
      if (std::none_of(e.inputs.begin(), e.inputs.end(), [&](const std::string& in) { return in.find(c) != std::string::npos; }))
        throw std::invalid_argument("Einsum '" + equation + "': output label '" + std::string(1, c) + "' is in no operand");
  } else {  // implicit: the labels met once, in alphabetical order
    std::map<char, int> seen;
    for (const std::string& in : e.inputs)
      for (char c : in) ++seen[c];
    for (const auto& [c, count] : seen)
      if (count == 1) e.output += c;
  }
  return e;
}

std::vector<int64_t> einsum_output_dims(const EinsumEquation& e, const std::vector<std::vector<int64_t>>& dims) {
  std::map<char, int64_t> size;
  for (size_t k = 0; k < e.inputs.size(); ++k)
    for (size_t d = 0; d < e.inputs[k].size(); ++d) {
      const char c = e.inputs[k][d];
      const int64_t n = dims.at(k).at(d);
      auto [it, added] = size.emplace(c, n);
      if (added || n == it->second || n < 0) continue;
      if (it->second < 0) {
        it->second = n;
        continue;
      }
      throw std::invalid_argument("Einsum: label '" + std::string(1, c) + "' has size " + std::to_string(it->second) + " in one operand and " +
                                  std::to_string(n) + " in operand " + std::to_string(k));
    }
  std::vector<int64_t> out;
  for (char c : e.output) out.push_back(size.at(c));
  return out;
}

}  // namespace cagr::onnx

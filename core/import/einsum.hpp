// einsum.hpp - ONNX Einsum equations: parsed, checked against the operands' ranks and sizes, and
// their output shape. The rewriter lowers an Einsum of one or two operands onto transpose,
// reshape, reduce_sum and matmul (rewriter.cpp, lower_einsum); the evaluator uses the shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cagr::onnx {

struct EinsumEquation {
  std::vector<std::string> inputs;  // one label per dimension of each operand
  std::string output;               // the output's labels (implicit mode: each label met once, sorted)
};

// Throws std::invalid_argument naming what is wrong: no or several "->", an ellipsis ("..."), a
// label that is not a letter, a label twice in one operand (a diagonal) or in the output, an output
// label no operand has, or a count of labels that is not the operand's rank.
EinsumEquation parse_einsum(const std::string& equation, const std::vector<size_t>& ranks);

// The size of every label, from the operands' dims (a label's sizes must agree, or one of them be
// -1: known at run time), and the output's dims.
std::vector<int64_t> einsum_output_dims(const EinsumEquation& e, const std::vector<std::vector<int64_t>>& dims);

}  // namespace cagr::onnx

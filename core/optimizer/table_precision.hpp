// table_precision.hpp - embedding tables stored narrower than f32, chosen by the user at load time
// (cagr-run --table-precision, cagr_session_options.table_precision): each embedding_bag's constant
// f32 tables converted to f16, bf16 or u8 row-wise quantised (abi/OPS.md) where a device's plugin
// accepts the node so, the others left f32 with a warning that names them.
#pragma once

#include <string>
#include <vector>

#include "graph.hpp"
#include "targets.hpp"

namespace cagr {

// "f32", "f16", "bf16" or "u8" as the table dtype; throws std::invalid_argument naming `what`
// (the flag or option) otherwise.
cagr_dtype table_precision_named(const std::string& name, const std::string& what);

// Asks every embedding_bag node of `graph` for tables of `dtype` (Node::table_dtype); f32 asks for none.
void request_table_dtype(Graph& graph, cagr_dtype dtype);

// Converts the tables of every embedding_bag node that asks for a narrower dtype, where its tables
// are constant f32 and some target accepts the converted node (op_query at `example_inputs`'
// shapes). A table read by several nodes is converted once (a new constant, "<table>.<dtype>");
// the f32 tensor stays for any other reader. Returns one warning per node whose tables stay f32, naming it and why.
std::vector<std::string> convert_tables(Graph& graph, const std::vector<Target>& targets, const std::vector<Dims>& example_inputs);

// A row-major [rows, dim] f32 table stored as `dtype` (OPS.md's layouts): f16 and bf16 rounded to
// the nearest; u8 per row as FBGEMM's 8-bit row-wise tables, scale = (max - min) / 255, bias = min,
// codes rounded to the nearest (a constant row: scale 0, every code 0).
std::vector<std::byte> converted_table(const float* values, int64_t rows, int64_t dim, cagr_dtype dtype);

}  // namespace cagr

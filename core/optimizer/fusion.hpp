// fusion.hpp - graph rewrites that replace a chain of nodes with one op of abi/OPS.md that a
// device offers, so that the intermediate tensors are never written to memory.
//
// A fusion fires only where some target's plugin accepts the fused node at the compiled shapes
// (op_query), so a graph fused here can always be placed; plugins that predate the fused op keep
// running the chain.
#pragma once

#include <string>
#include <vector>

#include "graph.hpp"
#include "targets.hpp"

namespace cagr {

// Every rule's name, in the order they apply.
const std::vector<std::string>& all_fusion_rules();
// Throws std::invalid_argument naming the rules for a name that is none of them.
void check_fusion_rules(const std::vector<std::string>& rules);

// Five rules, named and applied in this order (a plan or the planner may enable any subset):
//  1. "interaction", DLRM's interaction layer: reshape(dense -> [B, 1, D]), concat with the pooled embeddings
//     [B, T, D], dot_interaction, concat of dense with the dots -> one dlrm_interaction node that
//     keeps the last concat's name and output. The chain's intermediate tensors must have no other
//     reader and must not be graph outputs. Where only linears with constant weights read the
//     result, its rows are padded to 16 bytes (pad_to = 4) and those weights get zero columns to
//     match, which TF32 tensor-core GEMMs need to run at full speed.
//  2. "lookup_interaction", the lookup: a dlrm_interaction whose pooled input comes from an embedding_bag with f32 tables
//     of the dense input's D, read by nothing else and not a graph output -> one
//     dlrm_embedding_interaction node (inputs: dense, then the embedding_bag's) that keeps the
//     dlrm_interaction's name, output, self_interaction and pad_to, and the embedding_bag's mode:
//     the pooled embeddings are never written to memory.
//  3. "cross", DCN-v2's cross layer: add(mul(x0, linear(X, W, b)), R) (either operand order), the
//     linear with constant W and bias and no activation, its output read only by the mul and the
//     product only by the add, x0, the product and R of one [M, N] shape -> one cross_layer node
//     (inputs x0, X, W, b, and R unless R is X) that keeps the add's name and output: the product is
//     multiplied and added as it leaves the matmul instead of in two more passes over [M, N].
//  4. "mlp", MLPs: a chain of >= 2 linears, each with X, W and bias where W and bias are constants, each
//     one's output read only by the next linear (as its X) and not a graph output -> one mlp node
//     (inputs: X, W_0, b_0, W_1, b_1, ...; `activations`: the linears' activations) that keeps the
//     last linear's name and output: a device may keep the activations between the layers on chip,
//     or in a narrower type (the GPU plugin in bf16, where the user allows it). A chain is taken
//     whole (from a linear whose X no such linear computes for it alone, to one whose output no
//     such linear reads alone); where no target offers it, it stays as linears. After rule 1, so
//     the top MLP's first layer comes with its zero-padded weights.
//  5. "bf16_mlp_input", an mlp's X in bf16: where it is a dlrm_embedding_interaction's output that the mlp alone
//     reads (not a graph output), that node gets output_dtype = "bf16", so the tensor is written
//     and read in half the bytes, where a target offers both nodes so (the GPU plugin does where
//     the user allows bf16).
// `applied` (may be null) receives one line per fusion; `rules` names the rules to apply.
Graph fuse_for_targets(Graph graph, const std::vector<Target>& targets, const std::vector<Dims>& example_inputs,
                       std::vector<std::string>* applied = nullptr, const std::vector<std::string>& rules = all_fusion_rules());

}  // namespace cagr

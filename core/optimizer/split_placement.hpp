// split_placement.hpp - a two-device placement for pipelines: the embedding lookups and every node
// they depend on on one target, every other node on another. The DLRM cut the pipeline issue
// names: the embedding stage on the CPU, whose memory holds tables too large for the GPU, and the
// MLPs, bottom and top, on the GPU (or the other way round). Cost hints do not know device memory,
// so they do not make this cut by themselves. (Until 2026-12-08 every node up to the last lookup in
// file order went with the lookups, the bottom MLP too: on the H100 machine that CPU stage was the
// whole pass, docs/PERF.md.)
#pragma once

#include "placement.hpp"

namespace cagr {

class EmbeddingSplitPlacement : public PlacementPolicy {
 public:
  // Target indices (into place()'s targets) of the embedding side and of the rest.
  EmbeddingSplitPlacement(int embeddings, int rest) : embeddings_(embeddings), rest_(rest) {}
  // Each node gets its device's default (first) variant, on the other device where its own does not
  // run it; a view stays with its input. Throws naming the node and both devices' reasons where
  // neither runs it.
  Placement place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) override;
  // Every rule but "lookup_interaction": it fuses the last lookup into the interaction after it,
  // a node that would straddle the cut (on the GPU plugin, which offers it, the pipeline bench's
  // CPU-embeddings split failed with the fused node placed on the CPU).
  std::vector<std::string> fusion_rules() const override;

 private:
  int embeddings_, rest_;
};

}  // namespace cagr

// split_placement.cpp - see split_placement.hpp.
#include "split_placement.hpp"

#include <algorithm>
#include <stdexcept>

#include "fusion.hpp"
#include "node_desc.hpp"

namespace cagr {

Placement EmbeddingSplitPlacement::place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) {
  // The embedding side: the lookups (bags, and rows of a constant table picked by id, as
  // nn.Embedding over a behaviour sequence imports) and every node they depend on.
  std::vector<bool> lookup_side(graph.nodes().size(), false);
  std::vector<int> pending;
  for (size_t n = 0; n < graph.nodes().size(); ++n) {
    const Node& node = graph.nodes()[n];
    if (node.op == "embedding_bag" || (node.op == "gather" && graph.tensor(node.inputs.at(0)).is_constant())) pending.push_back(static_cast<int>(n));
  }
  while (!pending.empty()) {
    const int n = pending.back();
    pending.pop_back();
    if (lookup_side[static_cast<size_t>(n)]) continue;
    lookup_side[static_cast<size_t>(n)] = true;
    for (int in : graph.nodes()[static_cast<size_t>(n)].inputs)
      if (const int producer = graph.producer(in); producer >= 0) pending.push_back(producer);
  }
  Placement p;
  p.nodes.resize(graph.nodes().size());
  for (int n : graph.topological_order()) {
    const Node& node = graph.nodes()[static_cast<size_t>(n)];
    NodePlacement& out = p.nodes[static_cast<size_t>(n)];
    const int t = lookup_side[static_cast<size_t>(n)] ? embeddings_ : rest_;
    if (graph.is_view(n)) {
      const int producer = graph.producer(node.inputs.at(0));
      out = NodePlacement{producer >= 0 ? p.nodes[static_cast<size_t>(producer)].target : t, 0, "view", 0};
      continue;
    }
    // A node its side's device does not run goes to the other side's device (the stage cut then has
    // more stages), as any placement puts a node where it runs.
    std::string refusals;
    for (const int choice : {t, t == embeddings_ ? rest_ : embeddings_}) {
      const Target& target = targets.at(static_cast<size_t>(choice));
      const OpSupport support = target.plugin->query(target.device, describe_node(node, shapes).desc());
      if (support.supported && !support.variants.empty()) {
        const Variant& v = support.variants.front();
        out = NodePlacement{choice, v.index, v.name, variant_cost_ns(v, target.info)};
        refusals.clear();
        break;
      }
      refusals += (refusals.empty() ? "" : "; ") + target.label() + ": " + support.reason;
    }
    if (!refusals.empty()) throw std::invalid_argument("node '" + node.name + "' (" + node.op + ") runs on neither device: " + refusals);
  }
  return p;
}

std::vector<std::string> EmbeddingSplitPlacement::fusion_rules() const {
  std::vector<std::string> rules = all_fusion_rules();
  rules.erase(std::remove(rules.begin(), rules.end(), "lookup_interaction"), rules.end());
  return rules;
}

}  // namespace cagr

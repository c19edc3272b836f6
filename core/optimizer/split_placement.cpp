// split_placement.cpp - see split_placement.hpp.
#include "split_placement.hpp"

#include <algorithm>
#include <stdexcept>

#include "fusion.hpp"
#include "node_desc.hpp"

namespace cagr {

Placement EmbeddingSplitPlacement::place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) {
  const std::vector<int> order = graph.topological_order();
  size_t last_lookup = 0;  // steps up to here go to the embedding side
  for (size_t step = 0; step < order.size(); ++step) {
    const std::string& op = graph.nodes()[static_cast<size_t>(order[step])].op;
    if (op == "embedding_bag") last_lookup = step;
  }
  Placement p;
  p.nodes.resize(graph.nodes().size());
  for (size_t step = 0; step < order.size(); ++step) {
    const int n = order[step];
    const Node& node = graph.nodes()[static_cast<size_t>(n)];
    NodePlacement& out = p.nodes[static_cast<size_t>(n)];
    if (graph.is_view(n)) {
      out = NodePlacement{p.nodes[static_cast<size_t>(graph.producer(node.inputs.at(0)))].target, 0, "view", 0};
      continue;
    }
    const int t = step <= last_lookup ? embeddings_ : rest_;
    const Target& target = targets.at(static_cast<size_t>(t));
    const OpSupport support = target.plugin->query(target.device, describe_node(node, shapes).desc());
    if (!support.supported || support.variants.empty())
      throw std::invalid_argument("node '" + node.name + "' (" + node.op + ") cannot run on " + target.label() + ": " + support.reason);
    const Variant& v = support.variants.front();
    out = NodePlacement{t, v.index, v.name, variant_cost_ns(v, target.info)};
  }
  return p;
}

std::vector<std::string> EmbeddingSplitPlacement::fusion_rules() const {
  std::vector<std::string> rules = all_fusion_rules();
  rules.erase(std::remove(rules.begin(), rules.end(), "lookup_interaction"), rules.end());
  return rules;
}

}  // namespace cagr

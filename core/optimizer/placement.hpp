// placement.hpp - which (plugin, device, variant) runs each node.
//
// Placement sits behind the PlacementPolicy interface so that the graph rewriter and the learned
// policy can replace the simple cost-hint rule below without touching the executor.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fusion.hpp"
#include "graph.hpp"
#include "shape_inference.hpp"
#include "targets.hpp"

namespace cagr {

struct NodePlacement {
  int target = -1;            // index into the targets given to place()
  int variant = 0;            // index among the variants the plugin reported
  std::string variant_name;
  double estimated_ns = 0;    // the cost the decision was made on, transfers included
  cagr_math_precision math_precision = CAGR_MATH_F32;  // what the variant computes in (ABI 1.2)
};

struct Placement {
  std::vector<NodePlacement> nodes;  // indexed like graph.nodes()
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  // `shapes`: infer_shapes() at the shapes the plan is compiled for.
  virtual Placement place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) = 0;
  // The fusion rules (fusion.hpp) to apply before placing: the rewrite half of the decision.
  virtual std::vector<std::string> fusion_rules() const { return all_fusion_rules(); }
};

// What one variant of a node costs on a target in ns, before its inputs are moved there (infinite:
// not a choice).
using VariantCost = std::function<double(const cagr_op_desc& op, const Variant& variant, const Target& target)>;

// Greedy, in topological order: each node goes where its cheapest variant plus the cost of moving its
// inputs there is lowest; a view stays where its input is. Throws naming the node and every
// plugin's reason where no target can run a node.
Placement greedy_placement(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets,
                           const VariantCost& cost);

// greedy_placement by the plugins' cost hints: a variant's cost is the plugin's estimate, or else a
// roofline bound from its FLOPs and bytes and the device's peak FLOP/s and bandwidth. With
// `first_variant_only`, each node runs its plugin's default (first) variant: the unoptimised plan.
class CostHintPlacement : public PlacementPolicy {
 public:
  explicit CostHintPlacement(std::vector<std::string> rules = all_fusion_rules(), bool first_variant_only = false)
      : rules_(std::move(rules)), first_variant_only_(first_variant_only) {}
  Placement place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) override;
  std::vector<std::string> fusion_rules() const override { return rules_; }

 private:
  std::vector<std::string> rules_;
  bool first_variant_only_;
};

// The cost in ns of one variant on one target (what CostHintPlacement compares).
double variant_cost_ns(const Variant& variant, const DeviceInfo& device);

// A graph fused by a policy's rules and placed by it at the shapes of `example_inputs`: what an
// Executor compiles, and what the planner makes a plan from without compiling (planner.cpp).
struct PlacedGraph {
  std::vector<std::string> fusion_rules;  // the policy's
  std::vector<std::string> fusions;       // one line per fused chain
  Graph fused;
  std::vector<TensorShape> shapes;        // infer_shapes(fused, example_inputs)
  Placement placement;
};
PlacedGraph place_graph(Graph graph, const std::vector<Target>& targets, const std::vector<Dims>& example_inputs, PlacementPolicy& policy);

}  // namespace cagr

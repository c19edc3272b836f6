// learned_policy.hpp - the learned transformation policy (docs/OPTIMISER.md).
//
// A contextual bandit with a learned reward model: the context is a node at its shapes on a device
// (cost_features.hpp), an action is one of the node's implementations there (device, variant), and
// the reward is minus the node's measured time inside a whole pass. The reward model is a ridge
// regression of log(time) on the features, plus, for each variant name met in training, an offset
// and a slope on the roofline bound (what a plugin's variant does better or worse than the hints
// say, carried to the same plugin on other devices and to other models). It is fitted to the
// tuner's measurements of several models on several devices, and stored as a small XML file of
// named weights that the runtime reads without Python. Acting greedily on it places a graph (PolicyPlacement); summed over a placed graph it
// predicts the pass, which is how the planner ranks rewrite choices before measuring the best few.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cost_samples.hpp"
#include "placement.hpp"

namespace cagr {

class LearnedPolicy {
 public:
  // The ridge term that predicted held-out devices and models best (`cagr-policy check
  // --leave_one_out --ridge=...` over the shipped samples, 2026-12-08: the geometric mean of the
  // median error factors 10.3x at 1e-3, 6.5x at 0.03, 5.1x at 0.3, 5.5x at 1, 6.0x at 3). Six
  // devices are few: a weak penalty lets the device features (peaks, compute units) tell the
  // training devices apart and extrapolate wildly to a new one.
  static constexpr double kDefaultRidge = 0.3;
  // Fits log(microseconds) = w . features by ridge regression (`ridge` times the sample count on
  // every weight but the bias). Throws std::invalid_argument for no samples.
  static LearnedPolicy fit(const std::vector<CostSample>& samples, double ridge = kDefaultRidge);
  // Reads / writes the policy file; load throws std::runtime_error naming the file and what is
  // wrong (not a policy, a feature this build does not compute, a missing weight, a number that is
  // not finite).
  static LearnedPolicy load(const std::filesystem::path& file);
  void save(const std::filesystem::path& file) const;
  // The policy shipped with CAGR: $CAGR_POLICY where set, else share/cagr/cagr_policy.xml of the
  // install this library or program belongs to, else policy/cagr_policy.xml in the source tree.
  static std::filesystem::path default_file();

  // A variant name not met in training gets no correction.
  double predict_us(const std::vector<double>& features, const std::string& variant) const;
  // What it was trained on: "<n> samples: <device> x <models>, ..." (shown in plans and the bench).
  const std::string& trained_on() const { return trained_on_; }

 private:
  std::vector<double> weights_;  // cost_feature_names() order
  struct VariantWeights {
    double offset = 0, slope = 0;  // on log(time), and on log(time) per log_roofline_ns
  };
  std::map<std::string, VariantWeights> variants_;
  std::string trained_on_;
};

// Greedy placement (as CostHintPlacement) with each variant's cost predicted by the policy.
class PolicyPlacement : public PlacementPolicy {
 public:
  PolicyPlacement(const LearnedPolicy& policy, std::vector<std::string> rules) : policy_(policy), rules_(std::move(rules)) {}
  Placement place(const Graph& graph, const std::vector<TensorShape>& shapes, const std::vector<Target>& targets) override;
  std::vector<std::string> fusion_rules() const override { return rules_; }

 private:
  const LearnedPolicy& policy_;
  std::vector<std::string> rules_;
};

}  // namespace cagr

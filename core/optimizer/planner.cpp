// planner.cpp - the optimiser's modes (planner.hpp): candidates are (fusion rules, devices) pairs;
// hints keeps all rules and checks the hints' placement against each device alone, tune measures
// every candidate with its variants tuned, policy predicts every candidate and measures the best few.
#include "planner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>

#include "cost_features.hpp"
#include "executor.hpp"
#include "node_desc.hpp"
#include "shape_inference.hpp"

namespace cagr {
namespace {

std::string label_of(const std::vector<Target>& targets) {
  std::string s;
  for (const Target& t : targets) s += (s.empty() ? "" : ", ") + t.label();
  return s;
}

std::string rules_label(const std::vector<std::string>& rules) {
  if (rules.empty()) return "no fusion";
  if (rules == all_fusion_rules()) return "every fusion";
  std::string s = "fusing";
  for (const std::string& r : rules) s += " " + r;
  return s;
}

std::string microseconds(double us) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f us", us);
  return text;
}

std::vector<Dims> dims_of(const std::vector<HostTensor>& inputs) {
  std::vector<Dims> dims;
  for (const HostTensor& t : inputs) dims.push_back(t.dims);
  return dims;
}

// One way to run the model: which fusion rules, over which devices.
struct Candidate {
  std::vector<std::string> rules;
  std::vector<Target> targets;
  bool all_targets = false;  // the whole set (placement chooses per node), not one device alone
  std::string what() const {
    return rules_label(rules) + (all_targets ? ", placed over " : ", on ") + label_of(targets) + (all_targets ? "" : " alone");
  }
};

// The device sets: every device (where there are several, placement picks per node) and each alone.
std::vector<std::pair<std::vector<Target>, bool>> device_sets(const std::vector<Target>& targets) {
  std::vector<std::pair<std::vector<Target>, bool>> sets{{targets, true}};
  if (targets.size() > 1)
    for (const Target& t : targets) sets.push_back({{t}, false});
  return sets;
}

// Every subset of the fusion rules that rewrites the graph differently on `targets`: subsets that
// fuse the same chains are one choice, named by its smallest subset (no rule first).
std::vector<std::vector<std::string>> distinct_rule_sets(const Graph& graph, const std::vector<Target>& targets,
                                                         const std::vector<Dims>& dims) {
  const std::vector<std::string>& all = all_fusion_rules();
  std::vector<std::vector<std::string>> sets;
  std::vector<std::vector<std::string>> seen;  // each kept set's fusions
  for (unsigned mask = 0; mask < (1u << all.size()); ++mask) {
    std::vector<std::string> rules;
    for (size_t r = 0; r < all.size(); ++r)
      if (mask & (1u << r)) rules.push_back(all[r]);
    std::vector<std::string> fusions;
    fuse_for_targets(graph, targets, dims, &fusions, rules);
    if (std::find(seen.begin(), seen.end(), fusions) != seen.end()) continue;
    seen.push_back(fusions);
    sets.push_back(rules);
  }
  return sets;
}

std::vector<Candidate> every_candidate(const Graph& graph, const std::vector<Target>& targets, const std::vector<Dims>& dims) {
  std::vector<Candidate> candidates;
  for (const auto& [set, all] : device_sets(targets))
    for (std::vector<std::string>& rules : distinct_rule_sets(graph, set, dims)) candidates.push_back(Candidate{rules, set, all});
  return candidates;
}

struct Compiled {
  std::string what;
  std::unique_ptr<Executor> executor;
  double us = std::numeric_limits<double>::infinity();
};

// Each compiled candidate's fastest pass over `rounds` rounds, measured in turns: on a shared
// machine, load from another process only ever adds time (and the CPU plugin's threads, waiting
// at barriers for a descheduled worker, add a lot), so the fastest pass is the one that says most
// about the candidate. Returns the fastest candidate; one candidate needs no measuring.
Compiled& fastest(std::vector<Compiled>& compiled, const std::vector<HostTensor>& inputs, int rounds, const PlannerOptions& options,
                  std::vector<std::string>& report) {
  if (compiled.empty()) throw std::runtime_error("no candidate plan could be compiled");
  for (int round = 0; round < rounds && compiled.size() > 1; ++round)
    for (size_t c = 0; c < compiled.size(); ++c) {
      if (options.progress)
        options.progress("planning: round " + std::to_string(round + 1) + "/" + std::to_string(rounds) + ", candidate " +
                         std::to_string(c + 1) + "/" + std::to_string(compiled.size()) + ": " + compiled[c].what);
      compiled[c].us = std::min(compiled[c].us, compiled[c].executor->measure(inputs, options.repetitions).fastest);
    }
  Compiled* best = &compiled.front();
  for (Compiled& c : compiled) {
    if (compiled.size() > 1) report.push_back(c.what + ": " + microseconds(c.us));
    if (c.us < best->us) best = &c;
  }
  report.push_back("chosen: " + best->what);
  return *best;
}

// The hints over every device, checked against each device alone (a device whose hints are wrong
// cannot pull the model onto itself unnoticed).
Plan plan_by_hints(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& inputs,
                   const PlannerOptions& options, std::vector<std::string>& report) {
  std::vector<Compiled> compiled;
  for (const auto& [set, all] : device_sets(targets)) {
    const Candidate c{all_fusion_rules(), set, all};
    try {
      CostHintPlacement hints(c.rules);
      compiled.push_back(Compiled{"cost hints, " + c.what(), std::make_unique<Executor>(graph, set, dims_of(inputs), hints)});
    } catch (const std::exception& e) {  // a device alone that cannot run every node is no candidate
      if (all) throw;
      report.push_back(c.what() + ": not a candidate (" + std::string(e.what()) + ")");
    }
  }
  return make_plan(graph, *fastest(compiled, inputs, 3, options, report).executor, "hints");
}

// Every candidate compiled with cost-hint placement, each node's variants timed in it (the cache
// makes a layer met in several candidates cost one measurement), then its passes timed (the fastest
// of three rounds). Only the best of each device set stays compiled (a model's weights are uploaded
// per candidate), and those are timed again in turns at the end: passes on one device right after
// another device's work can be slowed many times over (PoCL's workers still spinning beside the CPU
// plugin's threads), which timing the sets back to back would take for the device's speed.
Plan plan_by_tuning(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& inputs,
                    const PlannerOptions& options, std::vector<std::string>& report) {
  MeasurementCache scratch{std::filesystem::path()};  // in memory, where the caller keeps none
  MeasurementCache* cache = options.cache ? options.cache : &scratch;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<Candidate> candidates = every_candidate(graph, targets, dims_of(inputs));
  std::map<std::string, Compiled> best_of_set;  // by the device set's label (and whether placed over all)
  auto best_so_far = [&] {
    double us = std::numeric_limits<double>::infinity();
    for (const auto& [set, c] : best_of_set) us = std::min(us, c.us);
    return us;
  };
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.time_box_seconds > 0 && elapsed > options.time_box_seconds && !best_of_set.empty()) {
      report.push_back("time box of " + std::to_string(options.time_box_seconds) + " s spent: " +
                       std::to_string(candidates.size() - i) + " candidate(s) not tried");
      break;
    }
    try {
      CostHintPlacement hints(c.rules);
      auto executor = std::make_unique<Executor>(graph, c.targets, dims_of(inputs), hints);
      Executor::TuneOptions tune{options.repetitions, nullptr, cache, false};
      const std::string bar = "[" + std::string(i + 1, '#') + std::string(candidates.size() - i - 1, '.') + "] candidate " +
                              std::to_string(i + 1) + "/" + std::to_string(candidates.size()) + " " + c.what() +
                              (best_of_set.empty() ? std::string() : ", best so far " + microseconds(best_so_far()));
      if (options.progress) tune.progress = [&](const std::string& step) { options.progress(bar + ": " + step); };
      for (std::string& line : executor->tune(inputs, tune).report) report.push_back(c.what() + ": " + line);
      double us = std::numeric_limits<double>::infinity();
      for (int round = 0; round < 3; ++round) us = std::min(us, executor->measure(inputs, options.repetitions).fastest);
      report.push_back(c.what() + ", variants tuned: " + microseconds(us));
      Compiled& best = best_of_set[label_of(c.targets) + (c.all_targets ? " (placed)" : "")];
      if (us < best.us) best = Compiled{c.what(), std::move(executor), us};
    } catch (const std::exception& e) {
      report.push_back(c.what() + ": not a candidate (" + std::string(e.what()) + ")");
    }
  }
  if (best_of_set.empty()) throw std::runtime_error("no candidate plan can run this model on " + label_of(targets));
  std::vector<Compiled> finalists;
  for (auto& [set, c] : best_of_set) finalists.push_back(Compiled{c.what, std::move(c.executor)});
  return make_plan(graph, *fastest(finalists, inputs, 3, options, report).executor, "tune");
}

// The policy's prediction of a pass: every node's predicted time with its inputs' moves, as placed.
double predicted_us(const Graph& graph, const Candidate& c, const std::vector<Dims>& dims, const LearnedPolicy& policy) {
  const Graph fused = fuse_for_targets(graph, c.targets, dims, nullptr, c.rules);
  PolicyPlacement placement(policy, c.rules);
  double ns = 0;
  for (const NodePlacement& p : placement.place(fused, infer_shapes(fused, dims), c.targets).nodes) ns += p.estimated_ns;
  return ns / 1000.0;
}

// Predictions within this factor of each other the policy cannot tell apart.
constexpr double kUnsure = 2.0;

// Every candidate ranked by the policy without running it; measured: the best overall, the second
// best where the policy cannot tell the two apart (predictions within kUnsure of each other), and
// the best of each device alone (so that a policy misled about a device, say by its peaks, is
// caught). Then, in the chosen plan, a node's predicted best variant is timed against its second
// where their predictions are within kUnsure, and against the plugin's first variant where that is
// not the pick; a node whose pick is the first variant, sure of it, is not measured.
Plan plan_by_policy(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& inputs,
                    const PlannerOptions& options, std::vector<std::string>& report) {
  if (options.policy == nullptr) throw std::invalid_argument("optimizer 'policy' needs a learned policy (LearnedPolicy::load)");
  const std::vector<Dims> dims = dims_of(inputs);
  std::vector<std::pair<double, Candidate>> ranked;
  for (Candidate& c : every_candidate(graph, targets, dims)) {
    try {
      ranked.emplace_back(predicted_us(graph, c, dims, *options.policy), std::move(c));
    } catch (const std::exception& e) {
      report.push_back(c.what() + ": not a candidate (" + std::string(e.what()) + ")");
    }
  }
  if (ranked.empty()) throw std::runtime_error("no candidate plan can run this model on " + label_of(targets));
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const Candidate*> chosen;
  std::map<std::string, int> alone;  // best of each device alone, taken once
  for (size_t i = 0; i < ranked.size(); ++i) {
    const Candidate& c = ranked[i].second;
    const bool first_alone = !c.all_targets && alone[c.targets[0].label()]++ == 0;
    const bool close_second = i == 1 && ranked[1].first <= kUnsure * ranked[0].first;
    if (i == 0 || close_second || first_alone) chosen.push_back(&c);
    report.push_back(c.what() + ": predicted " + microseconds(ranked[i].first));
  }
  Executor::TuneOptions unsure{options.repetitions, options.progress, nullptr, false};
  unsure.together = true;  // a check of a few nodes: one set of passes per round, not per node
  unsure.choose = [&](const Node&, const cagr_op_desc& op, const Target& target, const std::vector<Variant>& offered) {
    std::vector<double> predicted;
    for (const Variant& v : offered) predicted.push_back(options.policy->predict_us(cost_features(op, v, target.info), v.name));
    return variants_to_time(predicted);
  };
  // One candidate and no node to time: the plan is the placement, and nothing is compiled.
  if (chosen.size() == 1) {
    PolicyPlacement placement(*options.policy, chosen[0]->rules);
    const PlacedGraph placed = place_graph(graph, chosen[0]->targets, dims, placement);
    bool sure = true;
    for (size_t n = 0; n < placed.fused.nodes().size() && sure; ++n) {
      if (placed.fused.is_view(static_cast<int>(n))) continue;
      const Node& node = placed.fused.nodes()[n];
      const Target& target = chosen[0]->targets.at(static_cast<size_t>(placed.placement.nodes[n].target));
      abi::OwnedOpDesc desc = describe_node(node, placed.shapes);
      const OpSupport support = target.plugin->query(target.device, desc.desc());
      sure = support.variants.size() < 2 || unsure.choose(node, desc.desc(), target, support.variants).size() < 2;
    }
    if (sure) {
      report.push_back("chosen: policy, " + chosen[0]->what() + " (sure of every node's variant: nothing compiled or timed)");
      return make_plan(graph, placed.fused, placed.placement, chosen[0]->targets, placed.fusion_rules, placed.fusions, "policy");
    }
  }
  std::vector<Compiled> compiled;
  for (const Candidate* c : chosen) {
    PolicyPlacement placement(*options.policy, c->rules);
    compiled.push_back(Compiled{"policy, " + c->what(), std::make_unique<Executor>(graph, c->targets, dims, placement)});
  }
  // Two rounds in turns, not one: on a shared CPU a device's passes right after another's can be
  // slowed many times (PoCL's workers still spinning while the CPU plugin's threads start).
  Executor& chosen_plan = *fastest(compiled, inputs, 2, options, report).executor;
  for (std::string& line : chosen_plan.tune(inputs, unsure).report) report.push_back("unsure, timed: " + line);
  return make_plan(graph, chosen_plan, "policy");
}

}  // namespace

std::vector<size_t> variants_to_time(const std::vector<double>& predicted_us) {
  std::vector<size_t> order(predicted_us.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return predicted_us[a] < predicted_us[b]; });
  std::vector<size_t> timed(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(1, order.size())));
  if (order.size() >= 2 && predicted_us[order[1]] <= kUnsure * predicted_us[order[0]]) timed.push_back(order[1]);
  // On the H100, where the policy ranked half of the CUDA plugin's variant pairs wrong, plans that
  // trusted a sure prediction ran up to 1.3x slower than `none` (docs/PERF.md).
  if (!order.empty() && std::find(timed.begin(), timed.end(), size_t{0}) == timed.end()) timed.push_back(0);
  return timed.size() < 2 ? std::vector<size_t>{} : timed;
}

OptimizerMode optimizer_mode(const std::string& name) {
  for (OptimizerMode m : {OptimizerMode::none, OptimizerMode::hints, OptimizerMode::policy, OptimizerMode::tune})
    if (name == optimizer_mode_name(m)) return m;
  throw std::invalid_argument("optimizer '" + name +
                              "': the optimizers are none (no fusion, default variants), hints (cost hints checked by timing "
                              "them against each device alone), policy (the learned policy, the best few candidates timed) and "
                              "tune (every candidate and variant timed)");
}

const char* optimizer_mode_name(OptimizerMode mode) {
  switch (mode) {
    case OptimizerMode::none: return "none";
    case OptimizerMode::hints: return "hints";
    case OptimizerMode::policy: return "policy";
    case OptimizerMode::tune: return "tune";
  }
  return "?";
}

PlannedModel plan_model(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& inputs,
                        const PlannerOptions& options) {
  if (targets.empty()) throw std::runtime_error("no device to place the graph on: no plugin loaded, or none has a device");
  PlannedModel result;
  switch (options.mode) {
    case OptimizerMode::none: {
      CostHintPlacement defaults({}, true);
      const PlacedGraph placed = place_graph(graph, targets, dims_of(inputs), defaults);
      result.plan = make_plan(graph, placed.fused, placed.placement, targets, placed.fusion_rules, placed.fusions, "none");
      break;
    }
    case OptimizerMode::hints: result.plan = plan_by_hints(graph, targets, inputs, options, result.report); break;
    case OptimizerMode::policy: result.plan = plan_by_policy(graph, targets, inputs, options, result.report); break;
    case OptimizerMode::tune: result.plan = plan_by_tuning(graph, targets, inputs, options, result.report); break;
  }
  return result;
}

}  // namespace cagr

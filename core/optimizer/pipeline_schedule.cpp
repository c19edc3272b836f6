// pipeline_schedule.cpp - stages, the pipeline's cost model and the sub-batch choice.
#include "pipeline_schedule.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace cagr {

namespace {

// A run order that keeps each device's nodes together: Kahn's algorithm over the file order, taking
// every ready node placed on the current device (and views, which run nothing), and moving to the
// device of the first ready node only when none is left on the current one.
std::vector<int> grouped_order(const Graph& graph, const Placement& placement, int first_target) {
  const std::vector<int> file = graph.topological_order();
  std::vector<bool> available(graph.num_tensors(), false);
  for (int id : graph.inputs()) available[static_cast<size_t>(id)] = true;
  for (size_t t = 0; t < available.size(); ++t)
    if (graph.tensor(static_cast<int>(t)).is_constant()) available[t] = true;
  auto ready = [&](int n) {
    for (int in : graph.nodes()[static_cast<size_t>(n)].inputs)
      if (!available[static_cast<size_t>(in)]) return false;
    return true;
  };
  std::vector<bool> done(graph.nodes().size(), false);
  std::vector<int> order;
  int current = first_target;
  while (order.size() < file.size()) {
    bool took = false;
    for (int n : file) {
      if (done[static_cast<size_t>(n)] || !ready(n)) continue;
      if (!graph.is_view(n) && placement.nodes.at(static_cast<size_t>(n)).target != current) continue;
      done[static_cast<size_t>(n)] = true;
      order.push_back(n);
      for (int out : graph.nodes()[static_cast<size_t>(n)].outputs) available[static_cast<size_t>(out)] = true;
      took = true;
    }
    if (took) continue;
    for (int n : file)  // file is a topological order: some node is ready
      if (!done[static_cast<size_t>(n)] && ready(n)) {
        current = placement.nodes.at(static_cast<size_t>(n)).target;
        break;
      }
  }
  return order;
}

std::vector<PipelineStage> stages_in(const Graph& graph, const Placement& placement, const std::vector<int>& order) {
  std::vector<PipelineStage> stages;
  std::vector<int> pending_views;  // views met before the first stage began
  for (int n : order) {
    const int target = placement.nodes.at(static_cast<size_t>(n)).target;
    if (graph.is_view(n)) {
      if (stages.empty()) pending_views.push_back(n);
      else stages.back().nodes.push_back(n);
      continue;
    }
    if (stages.empty() || stages.back().target != target) {
      stages.push_back(PipelineStage{target, {}});
      if (stages.size() == 1) stages.back().nodes = std::move(pending_views);
    }
    stages.back().nodes.push_back(n);
  }
  if (stages.empty() && !pending_views.empty())  // only views: one stage where the first is placed
    stages.push_back(PipelineStage{placement.nodes.at(static_cast<size_t>(pending_views.front())).target, pending_views});
  return stages;
}

}  // namespace

std::vector<PipelineStage> cut_stages(const Graph& graph, const Placement& placement) {
  // Each device the placement uses, tried first (in the order the file meets them: a tie keeps the
  // file's first device first); the fewest stages win.
  std::vector<int> firsts;
  for (int n : graph.topological_order()) {
    const int target = placement.nodes.at(static_cast<size_t>(n)).target;
    if (!graph.is_view(n) && std::find(firsts.begin(), firsts.end(), target) == firsts.end()) firsts.push_back(target);
  }
  if (firsts.empty()) return stages_in(graph, placement, graph.topological_order());
  std::vector<PipelineStage> best;
  for (int first : firsts) {
    std::vector<PipelineStage> stages = stages_in(graph, placement, grouped_order(graph, placement, first));
    if (best.empty() || stages.size() < best.size()) best = std::move(stages);
  }
  return best;
}

std::vector<int64_t> sub_batch_rows(int64_t batch, int sub_batches) {
  if (sub_batches < 1)
    throw std::invalid_argument("sub-batch count " + std::to_string(sub_batches) + ": must be at least 1");
  if (batch < 1) throw std::invalid_argument("a batch of " + std::to_string(batch) + " rows cannot be split into sub-batches");
  if (sub_batches > batch)
    throw std::invalid_argument("sub-batch count " + std::to_string(sub_batches) + " is larger than the batch (" + std::to_string(batch) +
                                " rows): each sub-batch needs at least one row");
  std::vector<int64_t> rows(static_cast<size_t>(sub_batches), batch / sub_batches);
  for (int64_t i = 0; i < batch % sub_batches; ++i) ++rows[static_cast<size_t>(i)];
  return rows;
}

double estimated_makespan_us(const std::vector<StageCost>& costs, int64_t batch, int sub_batches) {
  const int64_t rows = (batch + sub_batches - 1) / sub_batches;
  double sum = 0, slowest = 0;
  for (const StageCost& c : costs) {
    sum += c.us(rows);
    slowest = std::max(slowest, c.us(rows));
  }
  return sum + static_cast<double>(sub_batches - 1) * slowest;
}

int choose_sub_batches(const std::vector<StageCost>& costs, int64_t batch, int max_sub_batches, int min_sub_batches) {
  const int low = std::max(1, min_sub_batches);
  if (costs.size() < 2) return low;
  const int high = static_cast<int>(std::min<int64_t>(batch, std::max(low, max_sub_batches)));
  int best = low;
  double best_us = std::numeric_limits<double>::infinity();
  for (int k = low; k <= high; ++k) {
    const double us = estimated_makespan_us(costs, batch, k);
    if (us < best_us) {
      best_us = us;
      best = k;
    }
  }
  return best;
}

std::vector<StageCost> hinted_stage_costs(const Graph& graph, const Placement& placement, const std::vector<PipelineStage>& stages,
                                          int64_t compiled_batch) {
  std::vector<StageCost> costs;
  for (const PipelineStage& stage : stages) {
    StageCost c;
    for (int n : stage.nodes) {
      if (graph.is_view(n)) continue;
      c.fixed_us += kHintedLaunchUs;
      c.per_row_us += placement.nodes.at(static_cast<size_t>(n)).estimated_ns / 1000.0 / static_cast<double>(std::max<int64_t>(1, compiled_batch));
    }
    costs.push_back(c);
  }
  return costs;
}

std::vector<StageCost> fitted_stage_costs(const std::vector<int64_t>& rows, const std::vector<std::vector<double>>& us) {
  const bool distinct = rows.size() >= 2 && std::any_of(rows.begin(), rows.end(), [&](int64_t r) { return r != rows.front(); });
  if (!distinct || us.size() != rows.size() ||
      std::any_of(us.begin(), us.end(), [&](const std::vector<double>& p) { return p.size() != us.front().size(); }))
    throw std::invalid_argument("fitted_stage_costs: every stage measured at two or more different row counts is needed");
  const double n = static_cast<double>(rows.size());
  double mean_rows = 0;
  for (int64_t r : rows) mean_rows += static_cast<double>(r) / n;
  std::vector<StageCost> costs;
  for (size_t s = 0; s < us.front().size(); ++s) {
    double mean_us = 0, covariance = 0, variance = 0;
    for (size_t p = 0; p < rows.size(); ++p) mean_us += us[p][s] / n;
    for (size_t p = 0; p < rows.size(); ++p) {
      covariance += (static_cast<double>(rows[p]) - mean_rows) * (us[p][s] - mean_us);
      variance += (static_cast<double>(rows[p]) - mean_rows) * (static_cast<double>(rows[p]) - mean_rows);
    }
    StageCost c;
    c.per_row_us = std::max(0.0, covariance / variance);
    c.fixed_us = std::max(0.0, mean_us - c.per_row_us * mean_rows);
    costs.push_back(c);
  }
  return costs;
}

std::string stage_table(const PipelineSchedule& schedule, const Graph& graph, const std::vector<Target>& targets) {
  std::ostringstream out;
  char line[512];
  out << "pipeline: " << schedule.stages.size() << " stage" << (schedule.stages.size() == 1 ? "" : "s") << ", " << schedule.sub_batches
      << " sub-batch" << (schedule.sub_batches == 1 ? "" : "es") << " (decided by " << schedule.decided_by << ")\n";
  std::snprintf(line, sizeof line, "%-6s %-12s %6s  %-44s %14s %14s\n", "stage", "device", "nodes", "first .. last node",
                "fixed us", "us per row");
  out << line;
  for (size_t s = 0; s < schedule.stages.size(); ++s) {
    const PipelineStage& stage = schedule.stages[s];
    const std::string span = graph.nodes().at(static_cast<size_t>(stage.nodes.front())).name + " .. " +
                             graph.nodes().at(static_cast<size_t>(stage.nodes.back())).name;
    char fixed[32] = "-", per_row[32] = "-";
    if (s < schedule.costs.size()) {
      std::snprintf(fixed, sizeof fixed, "%.1f", schedule.costs[s].fixed_us);
      std::snprintf(per_row, sizeof per_row, "%.4f", schedule.costs[s].per_row_us);
    }
    std::snprintf(line, sizeof line, "%-6zu %-12s %6zu  %-44s %14s %14s\n", s, targets.at(static_cast<size_t>(stage.target)).label().c_str(),
                  stage.nodes.size(), span.c_str(), fixed, per_row);
    out << line;
  }
  return out.str();
}

}  // namespace cagr

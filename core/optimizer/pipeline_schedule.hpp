// pipeline_schedule.hpp - the cross-device pipeline schedule: where a placed graph is cut into
// stages (a stage is a maximal run of consecutive nodes, in the executor's order, on one device)
// and how many sub-batches a batch is streamed through them in, from the stages' costs (measured or
// hinted) and a cost model of the pipeline (docs/PIPELINE.md). core/runtime/pipeline_runner.hpp runs it.
#pragma once

#include <string>
#include <vector>

#include "graph.hpp"
#include "placement.hpp"
#include "shape_inference.hpp"
#include "targets.hpp"

namespace cagr {

struct PipelineStage {
  int target = -1;         // index into the targets the graph was placed on
  std::vector<int> nodes;  // fused-graph node indices, in run order
};

// The stages of `graph` (as fused) under `placement`: a run order that keeps each device's nodes
// together (every node ready on the current device first; of the orders that start on each device,
// the one with the fewest stages), cut where the next node's device differs from the current
// stage's. So a DLRM whose lookups are on one device and whose bottom MLP, before them in the file,
// is on the other has two stages, not three. A view (a reshape run as a view of its input) never
// cuts: it joins the stage current when it comes (where its input comes from another stage, that
// stage's device runs it as a reshape kernel).
std::vector<PipelineStage> cut_stages(const Graph& graph, const Placement& placement);

// A stage's time for one sub-batch of `rows` rows: fixed_us + per_row_us * rows. The fixed part is
// what every sub-batch pays whatever its size (kernel launches, synchronisations, host copies'
// latency); the per-row part includes copying the stage's inputs in from the previous stage.
struct StageCost {
  double fixed_us = 0;
  double per_row_us = 0;
  double us(int64_t rows) const { return fixed_us + per_row_us * static_cast<double>(rows); }
};

// The rows of each of `sub_batches` sub-batches of `batch` rows: sizes differing by at most one,
// the larger first. Throws std::invalid_argument where sub_batches < 1 or > batch (batch >= 1).
std::vector<int64_t> sub_batch_rows(int64_t batch, int sub_batches);

// The estimated makespan in microseconds of `batch` rows streamed through the stages in
// `sub_batches` sub-batches: the first sub-batch passes every stage, and each further one adds the
// slowest stage's time (the bottleneck bounds throughput): sum_s t_s(b) + (k - 1) max_s t_s(b),
// b = ceil(batch / k). Assumes the stages' devices work independently (on one CPU, the CPU plugin
// and PoCL share its cores, so the real gain is smaller).
double estimated_makespan_us(const std::vector<StageCost>& costs, int64_t batch, int sub_batches);

// The sub-batch count in [min_sub_batches, min(batch, max_sub_batches)] with the smallest estimated
// makespan (the smallest count among equals). One stage: min_sub_batches (nothing overlaps).
int choose_sub_batches(const std::vector<StageCost>& costs, int64_t batch, int max_sub_batches = 64, int min_sub_batches = 1);

// Stage costs from the plugins' cost hints at the compiled shapes (`compiled_batch` rows): per row,
// the stage's nodes' estimated_ns (transfers in included, as placement costed them) over the batch;
// fixed, kHintedLaunchUs per kernel. Used where nothing was measured.
constexpr double kHintedLaunchUs = 10.0;
std::vector<StageCost> hinted_stage_costs(const Graph& graph, const Placement& placement, const std::vector<PipelineStage>& stages,
                                          int64_t compiled_batch);

// Stage costs fitted to measured times: sub-batches of `rows[p]` rows took `us[p][s]` in stage s;
// per stage the least-squares line through the points, slope and intercept floored at 0.
std::vector<StageCost> fitted_stage_costs(const std::vector<int64_t>& rows, const std::vector<std::vector<double>>& us);

// The schedule as decided: the stages, the sub-batch count and what it was decided from.
struct PipelineSchedule {
  std::vector<PipelineStage> stages;
  std::vector<StageCost> costs;  // per stage (empty where the count was given, not decided)
  int sub_batches = 1;
  std::string decided_by;        // "measured", "hints", "given" (a count the user chose), "plan"
};

// The stages as a table: stage, device, nodes (first .. last), cost model.
std::string stage_table(const PipelineSchedule& schedule, const Graph& graph, const std::vector<Target>& targets);

}  // namespace cagr

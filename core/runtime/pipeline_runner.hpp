// pipeline_runner.hpp - runs a placed graph as a pipeline (docs/PIPELINE.md): the stages of its
// schedule (pipeline_schedule.hpp) each compiled as an executor of their own on their device, a
// thread per stage, and the batch streamed through them in sub-batches, so that while stage s works
// on sub-batch i, stage s-1 works on sub-batch i+1. Tensors cross stages through host memory (each
// stage's executor copies its outputs back and its inputs in). Every run records a timeline.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "batch_split.hpp"
#include "executor.hpp"
#include "pipeline_schedule.hpp"

namespace cagr {

// One stage's work on one sub-batch, in microseconds from the start of the run.
struct TimelineEntry {
  int stage = 0;
  std::string device;  // the target's label
  int sub_batch = 0;
  int64_t rows = 0;
  double start_us = 0, end_us = 0;
};

class PipelineRunner {
 public:
  // `graph`, `placement` and `targets`: the whole model as an executor compiled them (Executor::graph(),
  // placement(), targets(); the runner keeps its own copies); `stages`: cut_stages() of that placement. Each stage is compiled at the
  // shapes of the first of `sub_batches` sub-batches of `example_inputs` (later runs may use any
  // sub-batch size). Throws std::invalid_argument where the graph cannot be cut into sub-batches
  // (BatchSplitter says why) or the count does not fit the batch.
  PipelineRunner(const Graph& graph, const Placement& placement, const std::vector<Target>& targets, std::vector<PipelineStage> stages,
                 const std::vector<HostTensor>& example_inputs, int sub_batches);
  ~PipelineRunner();
  PipelineRunner(const PipelineRunner&) = delete;
  PipelineRunner& operator=(const PipelineRunner&) = delete;

  // One forward pass over `inputs` (graph input order) in `sub_batches` sub-batches; the outputs are
  // those of the whole batch. With `overlap` off the stages run one after another on this thread
  // (sub-batch by sub-batch): the same work without the pipeline, for comparison and measuring.
  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs, int sub_batches, bool overlap = true);
  // The timeline of the last run, in the order the work finished.
  const std::vector<TimelineEntry>& timeline() const { return timeline_; }

  // Each stage's cost model fitted to measured times: the stages run one after another on the whole
  // batch and on sub-batches of an eighth and a 32nd of it (the fastest of `repetitions` runs of
  // each, every sub-batch of a run counting). The model is not to be trusted for sub-batches
  // smaller than the smallest measured: kMeasuredSplit is the finest split measured.
  static constexpr int kMeasuredSplit = 32;
  std::vector<StageCost> measure_costs(const std::vector<HostTensor>& inputs, int repetitions);

  const std::vector<PipelineStage>& stages() const { return stages_; }
  // What could not be followed when the stages were compiled (a node's variant not offered at the
  // sub-batch's shapes): one line each.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Stage;
  void run_stage(size_t s, std::vector<std::vector<HostTensor>>& values, int sub_batch);

  const Graph graph_;  // a copy: the weights are shared, so it costs the structure only
  std::vector<PipelineStage> stages_;
  std::vector<Target> targets_;
  BatchSplitter splitter_;
  std::vector<std::unique_ptr<Stage>> compiled_;
  std::vector<TimelineEntry> timeline_;
  std::vector<std::string> warnings_;
};

// A model compiled to run pipelined: its schedule and the runner that follows it.
struct PipelinedModel {
  PipelineSchedule schedule;
  std::unique_ptr<PipelineRunner> runner;
};

// How make_pipeline decides the sub-batch count.
struct PipelineRequest {
  int sub_batches = 0;      // > 0: this many (decided_by "given"); 0: chosen from the stages' costs
  bool measure = true;      // chosen: from costs measured on the inputs (PipelineRunner::measure_costs,
                            // "measured"), else from the plugins' hints (hinted_stage_costs, "hints")
  int repetitions = 3;      // measured: runs of each measurement
  int min_sub_batches = 1;  // at least this many (a memory budget's, min_sub_batches_for_memory)
};

// The pipeline for `compiled`'s placement (stages cut where the device changes) over batches like
// `inputs`, its sub-batch count as `request` says. The runner reads `compiled`'s graph only while
// it is made (it keeps its own copy, sharing the weights).
PipelinedModel make_pipeline(const Executor& compiled, const std::vector<HostTensor>& inputs, const PipelineRequest& request);

// The fewest sub-batches whose buffers fit every device's memory (a batch too large for one
// device is then run in sub-batches): per device, the weights its stages hold plus, per row of a
// sub-batch, the bytes of every other tensor its stages' executors keep (a tensor crossing stages
// counts in each), within `budget_bytes`, or where that is 0, the device's own memory size (no
// limit where its plugin reports none). Throws std::invalid_argument naming the device where even
// one row does not fit.
int min_sub_batches_for_memory(const Executor& compiled, const std::vector<HostTensor>& inputs, uint64_t budget_bytes);

// The timeline as a table: stage, device, sub-batch, rows, start, end (microseconds).
std::string timeline_table(const std::vector<TimelineEntry>& timeline);

}  // namespace cagr

// pipelined.hpp - cagr-run's --pipeline: the flag, the pipeline it makes (core/runtime/
// pipeline_runner.hpp) and what the report shows of it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "executor.hpp"
#include "pipeline_runner.hpp"
#include "plan.hpp"
#include "run_report.hpp"

namespace cagr::run {

// --pipeline=off|auto|hints|N: nullopt for off; a count chosen from measured (auto) or hinted costs;
// or N sub-batches. Throws std::invalid_argument naming the value.
std::optional<PipelineRequest> pipeline_flag(const std::string& value);

// The pipelined model for `compiled`: `request` as pipeline_flag() gives it; where the flag was
// not given, a loaded plan's pipeline (`planned`, sub_batches 0: none) is followed, with a warning
// line where its stages differ from those cut here; where neither asks for one but the batch needs
// `min_sub_batches` > 1 (min_sub_batches_for_memory), that many. Returns nullopt where the run is
// not pipelined. Throws std::invalid_argument where a count asked for is below `min_sub_batches`.
std::optional<PipelinedModel> pipelined_model(const Executor& compiled, const std::vector<HostTensor>& inputs,
                                              std::optional<PipelineRequest> request, const PlannedPipeline& planned, int min_sub_batches,
                                              std::vector<std::string>& warnings);

// The report's account of the pipeline and of the last run's timeline.
PipelineEntry pipeline_entry(const PipelinedModel& pipelined, const Executor& compiled);

}  // namespace cagr::run

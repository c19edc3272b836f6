// pipelined.cpp - see pipelined.hpp.
#include "pipelined.hpp"

#include <stdexcept>

namespace cagr::run {

std::optional<PipelineRequest> pipeline_flag(const std::string& value) {
  if (value == "off") return std::nullopt;
  if (value == "auto" || value == "hints") {
    PipelineRequest chosen;
    chosen.measure = value == "auto";
    return chosen;
  }
  size_t used = 0;
  int count = 0;
  try {
    count = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty() || count < 1)
    throw std::invalid_argument("--pipeline=" + value + ": expected off, auto, hints or a sub-batch count of at least 1");
  PipelineRequest given;
  given.sub_batches = count;
  return given;
}

std::optional<PipelinedModel> pipelined_model(const Executor& compiled, const std::vector<HostTensor>& inputs,
                                              std::optional<PipelineRequest> request, const PlannedPipeline& planned, int min_sub_batches,
                                              std::vector<std::string>& warnings) {
  const bool from_plan = !request && planned.sub_batches > 0;
  if (!request && !from_plan) {
    if (min_sub_batches <= 1) return std::nullopt;
    PipelineRequest fit;
    fit.sub_batches = min_sub_batches;
    PipelinedModel made = make_pipeline(compiled, inputs, fit);
    made.schedule.decided_by = "memory budget";
    return made;
  }
  if (from_plan) {
    request.emplace();
    request->sub_batches = planned.sub_batches;
  }
  if (request->sub_batches > 0 && request->sub_batches < min_sub_batches)
    throw std::invalid_argument(std::to_string(request->sub_batches) + " sub-batches" + (from_plan ? " (the plan's)" : "") +
                                " do not fit the memory budget: it needs at least " + std::to_string(min_sub_batches));
  request->min_sub_batches = min_sub_batches;
  PipelinedModel made = make_pipeline(compiled, inputs, *request);
  if (from_plan) {
    made.schedule.decided_by = "plan";
    const Graph& g = compiled.graph();
    bool same = planned.stages.size() == made.schedule.stages.size();
    for (size_t s = 0; same && s < planned.stages.size(); ++s) {
      const PipelineStage& here = made.schedule.stages[s];
      same = planned.stages[s].first == g.nodes()[static_cast<size_t>(here.nodes.front())].name &&
             planned.stages[s].last == g.nodes()[static_cast<size_t>(here.nodes.back())].name;
    }
    if (same)  // the plan's cost model, for the report
      for (const PlannedStage& stage : planned.stages) made.schedule.costs.push_back(StageCost{stage.fixed_us, stage.per_row_us});
    else
      warnings.push_back("the plan's pipeline had " + std::to_string(planned.stages.size()) + " stages; the placement here cuts " +
                         std::to_string(made.schedule.stages.size()) + " (stages follow the placement; the sub-batch count is the plan's)");
  }
  return made;
}

PipelineEntry pipeline_entry(const PipelinedModel& pipelined, const Executor& compiled) {
  const PipelineSchedule& schedule = pipelined.schedule;
  PipelineEntry entry;
  entry.sub_batches = schedule.sub_batches;
  entry.decided_by = schedule.decided_by;
  for (size_t s = 0; s < schedule.stages.size(); ++s) {
    const PipelineStage& stage = schedule.stages[s];
    PipelineStageEntry e;
    e.stage = static_cast<int>(s);
    e.device = compiled.targets().at(static_cast<size_t>(stage.target)).label();
    e.first = compiled.graph().nodes()[static_cast<size_t>(stage.nodes.front())].name;
    e.last = compiled.graph().nodes()[static_cast<size_t>(stage.nodes.back())].name;
    e.nodes = static_cast<int64_t>(stage.nodes.size());
    if (s < schedule.costs.size()) {
      e.fixed_us = schedule.costs[s].fixed_us;
      e.per_row_us = schedule.costs[s].per_row_us;
    }
    entry.stages.push_back(std::move(e));
  }
  for (const TimelineEntry& t : pipelined.runner->timeline())
    entry.timeline.push_back(TimelineRow{t.stage, t.device, t.sub_batch, t.rows, t.start_us, t.end_us});
  entry.stage_table = stage_table(schedule, compiled.graph(), compiled.targets());
  entry.timeline_table = timeline_table(pipelined.runner->timeline());
  return entry;
}

}  // namespace cagr::run

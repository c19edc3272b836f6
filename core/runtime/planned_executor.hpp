// planned_executor.hpp - an Executor whose placement is decided the way its caller asks: by a loaded
// plan (measuring nothing), by the planner in one of its modes (docs/OPTIMISER.md), or by the
// plugins' cost hints alone. cagr-run, the C API and the ranking pipeline's stages all make their
// executors here, so a model is placed the same way whichever of them runs it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "executor.hpp"
#include "host_tensor.hpp"
#include "plan.hpp"
#include "planner.hpp"

namespace cagr {

struct PlannedExecutor {
  std::unique_ptr<Executor> executor;
  std::string decided_by;             // "plan", the planner's mode, or "hints" (cost hints, nothing measured)
  std::vector<std::string> planning;  // what the planner measured, a line per candidate
  std::vector<std::string> warnings;  // what a loaded plan could not follow on these targets, tables left f32
  // The model with its tables converted (table_precision.hpp): compiling again from it, with the
  // same kernel pool, shares the converted tables instead of converting and uploading them again.
  Graph graph;
};

// `examples`: inputs in graph input order, whose shapes are the compiled ones (the planner times
// passes over them). With `plan`, its decisions are followed; else with `planner`, the planner
// decides; else each node goes where the plugins' cost hints say. Embedding tables are first
// converted to the dtype their nodes ask for (Node::table_dtype, or the plan's; table_precision.hpp).
// With `kernels`, kernels are shared with the pool's other executors (kernel_pool.hpp); the
// planner's candidates, measured and dropped, make their own.
PlannedExecutor make_executor(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& examples,
                              const std::optional<Plan>& plan, const std::optional<PlannerOptions>& planner,
                              std::shared_ptr<KernelPool> kernels = nullptr);

}  // namespace cagr

// planned_executor.cpp - the one place an Executor's placement policy is chosen.
#include "planned_executor.hpp"

#include "table_precision.hpp"

namespace cagr {

PlannedExecutor make_executor(const Graph& model, const std::vector<Target>& targets, const std::vector<HostTensor>& examples,
                              const std::optional<Plan>& plan, const std::optional<PlannerOptions>& planner,
                              std::shared_ptr<KernelPool> kernels) {
  std::vector<Dims> dims;
  for (const HostTensor& e : examples) dims.push_back(e.dims);
  PlannedExecutor made;
  // Tables in the dtype the session asks for, before anything is planned on them.
  Graph graph = model;
  if (plan && plan->table_dtype != CAGR_DTYPE_F32) request_table_dtype(graph, plan->table_dtype);
  made.warnings = convert_tables(graph, targets, dims);
  if (plan || planner) {
    Plan followed;
    if (plan) {
      followed = *plan;
      made.decided_by = "plan";
    } else {
      PlannedModel planned = plan_model(graph, targets, examples, *planner);
      made.planning = std::move(planned.report);
      followed = std::move(planned.plan);
      made.decided_by = followed.decided_by;
    }
    // The plan's variants are offered only under the precision it was made with.
    Graph allowed = graph;
    allow_math_precision(allowed, followed.math_precision);
    PlannedPlacement policy(std::move(followed));
    made.executor = std::make_unique<Executor>(std::move(allowed), targets, dims, policy, kernels);
    for (const std::string& w : policy.warnings()) made.warnings.push_back(w);
  } else {
    CostHintPlacement policy;
    made.executor = std::make_unique<Executor>(graph, targets, dims, policy, kernels);
    made.decided_by = "hints";
  }
  made.graph = std::move(graph);
  return made;
}

}  // namespace cagr

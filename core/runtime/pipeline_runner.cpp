// pipeline_runner.cpp - see pipeline_runner.hpp.
#include "pipeline_runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include "node_desc.hpp"
#include "plan.hpp"

namespace cagr {

// One stage compiled on its own: the stage's nodes as a graph whose inputs are what the stage reads
// from the model's inputs and from earlier stages, and whose outputs are what later stages and the
// model's outputs read. Tensors are named as in the whole graph; `inputs` and `outputs` hold their
// ids there.
struct PipelineRunner::Stage {
  std::vector<int> inputs, outputs;
  std::unique_ptr<Executor> executor;
};

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

}  // namespace

PipelineRunner::PipelineRunner(const Graph& graph, const Placement& placement, const std::vector<Target>& targets,
                               std::vector<PipelineStage> stages, const std::vector<HostTensor>& example_inputs, int sub_batches)
    : graph_(graph), stages_(std::move(stages)), targets_(targets), splitter_(graph) {
  const std::vector<int64_t> rows = sub_batch_rows(splitter_.batch(example_inputs), sub_batches);
  std::vector<Dims> first_dims;
  for (const HostTensor& t : splitter_.slice(example_inputs, 0, rows.front())) first_dims.push_back(t.dims);
  const std::vector<TensorShape> shapes = infer_shapes(graph_, first_dims);

  std::vector<int> stage_of(graph_.nodes().size(), -1);
  for (size_t s = 0; s < stages_.size(); ++s)
    for (int n : stages_[s].nodes) stage_of[static_cast<size_t>(n)] = static_cast<int>(s);
  for (size_t n = 0; n < stage_of.size(); ++n)
    if (stage_of[n] < 0) throw std::invalid_argument("pipeline: node '" + graph_.nodes()[n].name + "' is in no stage");
  std::vector<bool> is_output(graph_.num_tensors(), false);
  for (int out : graph_.outputs()) is_output[static_cast<size_t>(out)] = true;

  for (size_t s = 0; s < stages_.size(); ++s) {
    const PipelineStage& stage = stages_[s];
    const Target& target = targets_.at(static_cast<size_t>(stage.target));
    auto compiled = std::make_unique<Stage>();
    Graph sub;
    sub.name = graph_.name + " stage " + std::to_string(s);
    std::vector<bool> known(graph_.num_tensors(), false);  // in `sub` already
    for (int n : stage.nodes)
      for (int in : graph_.nodes()[static_cast<size_t>(n)].inputs) {
        if (known[static_cast<size_t>(in)]) continue;
        const TensorInfo& info = graph_.tensor(in);
        const int producer = graph_.producer(in);
        if (info.is_constant()) {
          sub.add_tensor(info);  // shares the weights' bytes
        } else if (producer < 0 || stage_of[static_cast<size_t>(producer)] != static_cast<int>(s)) {
          const bool model_input = producer < 0;
          Dims dims = model_input ? info.dims : shapes[static_cast<size_t>(in)].dims;
          if (!model_input && !dims.empty()) dims[0] = kDynamic;  // varies per sub-batch
          sub.add_input(info.name, shapes[static_cast<size_t>(in)].dtype, dims);
          compiled->inputs.push_back(in);
        } else {
          continue;  // made in this stage: add_node creates it
        }
        known[static_cast<size_t>(in)] = true;
      }
    Plan plan;  // the whole graph's choices for these nodes, and no fusion (the graph is fused already)
    plan.fusion_rules = {};
    for (int n : stage.nodes) {
      const Node& node = graph_.nodes()[static_cast<size_t>(n)];
      std::vector<std::string> ins, outs;
      for (int in : node.inputs) ins.push_back(graph_.tensor(in).name);
      for (int out : node.outputs) {
        outs.push_back(graph_.tensor(out).name);
        known[static_cast<size_t>(out)] = true;
      }
      sub.add_node(node, ins, outs);
      std::string variant = placement.nodes.at(static_cast<size_t>(n)).variant_name;
      const int source = graph_.producer(node.inputs.at(0));
      if (graph_.is_view(n) && (source < 0 || stage_of[static_cast<size_t>(source)] != static_cast<int>(s))) {
        // A view of a tensor from another stage is a reshape kernel here: the device's default.
        const OpSupport support = target.plugin->query(target.device, describe_node(node, shapes).desc());
        if (!support.supported || support.variants.empty())
          throw std::invalid_argument("pipeline: node '" + node.name + "' (reshape) reads another stage's tensor, and " + target.label() +
                                      " cannot run it as a kernel: " + support.reason);
        variant = support.variants.front().name;
      }
      plan.nodes.push_back(PlannedNode{node.name, node.op, target.plugin->name(), target.device, target.info.name, variant});
    }
    for (int n : stage.nodes)
      for (int out : graph_.nodes()[static_cast<size_t>(n)].outputs) {
        bool read_later = is_output[static_cast<size_t>(out)];
        for (size_t m = 0; m < graph_.nodes().size() && !read_later; ++m) {
          const auto& ins = graph_.nodes()[m].inputs;
          read_later = stage_of[m] != static_cast<int>(s) && std::find(ins.begin(), ins.end(), out) != ins.end();
        }
        if (read_later) {
          sub.mark_output(graph_.tensor(out).name);
          compiled->outputs.push_back(out);
        }
      }
    std::vector<Dims> example;
    for (int in : compiled->inputs) example.push_back(shapes[static_cast<size_t>(in)].dims);
    PlannedPlacement follow(std::move(plan));
    compiled->executor = std::make_unique<Executor>(std::move(sub), std::vector<Target>{target}, example, follow);
    for (const std::string& w : follow.warnings()) warnings_.push_back("stage " + std::to_string(s) + ": " + w);
    compiled_.push_back(std::move(compiled));
  }
}

PipelineRunner::~PipelineRunner() = default;

// Stage s on one sub-batch: its inputs from `values` (the sub-batch's tensors by id in the whole
// graph), its outputs back there.
void PipelineRunner::run_stage(size_t s, std::vector<std::vector<HostTensor>>& values, int sub_batch) {
  Stage& stage = *compiled_[s];
  std::vector<HostTensor>& tensors = values[static_cast<size_t>(sub_batch)];
  std::vector<HostTensor> inputs;
  for (int in : stage.inputs) inputs.push_back(tensors[static_cast<size_t>(in)]);
  std::vector<HostTensor> outputs = stage.executor->run(inputs);
  for (size_t o = 0; o < outputs.size(); ++o) tensors[static_cast<size_t>(stage.outputs[o])] = std::move(outputs[o]);
}

std::vector<HostTensor> PipelineRunner::run(const std::vector<HostTensor>& inputs, int sub_batches, bool overlap) {
  const std::vector<int64_t> rows = sub_batch_rows(splitter_.batch(inputs), sub_batches);
  const auto t0 = Clock::now();
  // Per sub-batch, every tensor of the whole graph by id (only those that cross stages are filled).
  std::vector<std::vector<HostTensor>> values(rows.size(), std::vector<HostTensor>(graph_.num_tensors()));
  int64_t begin = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<HostTensor> part = splitter_.slice(inputs, begin, begin + rows[i]);
    for (size_t k = 0; k < part.size(); ++k) values[i][static_cast<size_t>(graph_.inputs()[k])] = std::move(part[k]);
    begin += rows[i];
  }
  timeline_.clear();
  std::mutex mutex;
  auto record = [&](size_t s, int i, double start) {
    const TimelineEntry e{static_cast<int>(s), targets_.at(static_cast<size_t>(stages_[s].target)).label(), i, rows[static_cast<size_t>(i)],
                          start, us_since(t0)};
    std::lock_guard<std::mutex> lock(mutex);
    timeline_.push_back(e);
  };

  if (!overlap) {
    for (int i = 0; i < sub_batches; ++i)
      for (size_t s = 0; s < compiled_.size(); ++s) {
        const double start = us_since(t0);
        run_stage(s, values, i);
        record(s, i, start);
      }
  } else {
    // A thread per stage; stage s takes sub-batch i once stage s-1 has finished it. `done[s]`: how
    // many sub-batches stage s has finished. The first error stops every stage.
    std::condition_variable changed;
    std::vector<int> done(compiled_.size(), 0);
    std::exception_ptr failure;
    auto work = [&](size_t s) {
      for (int i = 0; i < sub_batches; ++i) {
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [&] { return failure || s == 0 || done[s - 1] > i; });
          if (failure) return;
        }
        const double start = us_since(t0);
        try {
          run_stage(s, values, i);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex);
          if (!failure) failure = std::current_exception();
          changed.notify_all();
          return;
        }
        record(s, i, start);
        std::lock_guard<std::mutex> lock(mutex);
        done[s] = i + 1;
        changed.notify_all();
      }
    };
    std::vector<std::thread> threads;
    for (size_t s = 0; s < compiled_.size(); ++s) threads.emplace_back(work, s);
    for (std::thread& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
  }

  std::vector<HostTensor> outputs;
  for (size_t k = 0; k < graph_.outputs().size(); ++k) {
    std::vector<const HostTensor*> parts;
    for (const auto& v : values) parts.push_back(&v[static_cast<size_t>(graph_.outputs()[k])]);
    outputs.push_back(splitter_.join(k, parts));
  }
  return outputs;
}

std::vector<StageCost> PipelineRunner::measure_costs(const std::vector<HostTensor>& inputs, int repetitions) {
  const int64_t batch = splitter_.batch(inputs);
  // Per stage: its fastest time on a sub-batch of the largest size, over every such sub-batch of
  // `repetitions` runs in `sub_batches`.
  auto fastest = [&](int sub_batches) {
    const int64_t rows = sub_batch_rows(batch, sub_batches).front();
    std::vector<double> us(compiled_.size(), std::numeric_limits<double>::infinity());
    for (int r = 0; r < std::max(1, repetitions); ++r) {
      run(inputs, sub_batches, false);
      for (const TimelineEntry& e : timeline_)
        if (e.rows == rows) us[static_cast<size_t>(e.stage)] = std::min(us[static_cast<size_t>(e.stage)], e.end_us - e.start_us);
    }
    return us;
  };
  run(inputs, 1, false);  // warm-up: buffers sized for the whole batch
  std::vector<int64_t> rows;
  std::vector<std::vector<double>> us;
  for (int split : {1, 8, kMeasuredSplit}) {
    if (split > batch || (!rows.empty() && sub_batch_rows(batch, split).front() == rows.back())) continue;
    rows.push_back(sub_batch_rows(batch, split).front());
    us.push_back(fastest(split));
  }
  if (rows.size() < 2) {  // one row: nothing to fit a slope to
    std::vector<StageCost> costs;
    for (double t : us.front()) costs.push_back(StageCost{t, 0});
    return costs;
  }
  return fitted_stage_costs(rows, us);
}

PipelinedModel make_pipeline(const Executor& compiled, const std::vector<HostTensor>& inputs, const PipelineRequest& request) {
  PipelinedModel made;
  made.schedule.stages = cut_stages(compiled.graph(), compiled.placement());
  made.runner = std::make_unique<PipelineRunner>(compiled.graph(), compiled.placement(), compiled.targets(), made.schedule.stages, inputs,
                                                 request.sub_batches > 0 ? request.sub_batches : request.min_sub_batches);
  if (request.sub_batches > 0) {
    made.schedule.sub_batches = request.sub_batches;
    made.schedule.decided_by = "given";
    return made;
  }
  const int64_t batch = BatchSplitter(compiled.graph()).batch(inputs);
  if (request.measure) {
    made.schedule.costs = made.runner->measure_costs(inputs, request.repetitions);
    made.schedule.sub_batches = choose_sub_batches(made.schedule.costs, batch, PipelineRunner::kMeasuredSplit, request.min_sub_batches);
    made.schedule.decided_by = "measured";
  } else {
    made.schedule.costs = hinted_stage_costs(compiled.graph(), compiled.placement(), made.schedule.stages, batch);
    made.schedule.sub_batches = choose_sub_batches(made.schedule.costs, batch, 64, request.min_sub_batches);
    made.schedule.decided_by = "hints";
  }
  return made;
}

int min_sub_batches_for_memory(const Executor& compiled, const std::vector<HostTensor>& inputs, uint64_t budget_bytes) {
  const Graph& graph = compiled.graph();
  std::vector<Dims> dims;
  for (const HostTensor& t : inputs) dims.push_back(t.dims);
  const std::vector<TensorShape> shapes = infer_shapes(graph, dims);
  auto bytes = [&](int t) {
    return static_cast<double>(std::max<int64_t>(0, element_count(shapes[static_cast<size_t>(t)].dims))) *
           static_cast<double>(dtype_size(shapes[static_cast<size_t>(t)].dtype));
  };
  // Per device: the weights (once) and the other tensors of the whole batch (once per stage).
  const std::vector<Target>& targets = compiled.targets();
  std::vector<double> weights(targets.size(), 0), buffers(targets.size(), 0);
  std::vector<std::vector<bool>> weights_counted(targets.size(), std::vector<bool>(graph.num_tensors(), false));
  for (const PipelineStage& stage : cut_stages(graph, compiled.placement())) {
    const size_t t = static_cast<size_t>(stage.target);
    std::vector<bool> counted(graph.num_tensors(), false);  // each stage's executor has its own buffers
    for (int n : stage.nodes) {
      const Node& node = graph.nodes()[static_cast<size_t>(n)];
      for (const auto* ids : {&node.inputs, &node.outputs})
        for (int id : *ids) {
          if (graph.tensor(id).is_constant()) {
            if (!weights_counted[t][static_cast<size_t>(id)]) weights[t] += bytes(id);
            weights_counted[t][static_cast<size_t>(id)] = true;
          } else if (!counted[static_cast<size_t>(id)] && !graph.is_view(n)) {
            buffers[t] += bytes(id);
            counted[static_cast<size_t>(id)] = true;
          }
        }
    }
  }
  auto budget_of = [&](size_t t) { return static_cast<double>(budget_bytes ? budget_bytes : targets[t].info.memory_bytes); };
  size_t over = targets.size();  // a device the whole batch does not fit
  for (size_t t = 0; t < targets.size(); ++t)
    if (budget_of(t) > 0 && weights[t] + buffers[t] > budget_of(t)) over = t;
  if (over == targets.size()) return 1;
  int64_t batch = 0;
  try {
    batch = BatchSplitter(graph).batch(inputs);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("the batch needs " + std::to_string(static_cast<uint64_t>(weights[over] + buffers[over])) + " bytes on " +
                                targets[over].label() + ", over its memory budget of " + std::to_string(static_cast<uint64_t>(budget_of(over))) +
                                ", and cannot be cut into sub-batches: " + e.what());
  }
  int64_t fewest = 1;
  for (size_t t = 0; t < targets.size(); ++t) {
    const double budget = budget_of(t), per_row = buffers[t] / static_cast<double>(batch);
    if (budget <= 0 || per_row <= 0) continue;
    const double rows = std::floor((budget - weights[t]) / per_row);
    if (rows < 1)
      throw std::invalid_argument("the memory budget of " + std::to_string(static_cast<uint64_t>(budget)) + " bytes on " + targets[t].label() +
                                  " holds not even one row: its weights take " + std::to_string(static_cast<uint64_t>(weights[t])) +
                                  " bytes and a row " + std::to_string(static_cast<uint64_t>(std::ceil(per_row))));
    fewest = std::max(fewest, (batch + static_cast<int64_t>(rows) - 1) / static_cast<int64_t>(rows));
  }
  return static_cast<int>(std::min<int64_t>(fewest, std::numeric_limits<int>::max()));
}

std::string timeline_table(const std::vector<TimelineEntry>& timeline) {
  std::vector<TimelineEntry> sorted = timeline;
  std::sort(sorted.begin(), sorted.end(), [](const TimelineEntry& a, const TimelineEntry& b) { return a.start_us < b.start_us; });
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-6s %-12s %-9s %8s %12s %12s\n", "stage", "device", "sub-batch", "rows", "start us", "end us");
  out << line;
  for (const TimelineEntry& e : sorted) {
    std::snprintf(line, sizeof line, "%-6d %-12s %-9d %8lld %12.1f %12.1f\n", e.stage, e.device.c_str(), e.sub_batch,
                  static_cast<long long>(e.rows), e.start_us, e.end_us);
    out << line;
  }
  return out.str();
}

}  // namespace cagr

// executor.cpp - kernels, buffers, cross-device copies and timing for one placed graph.
#include "executor.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "cagr_struct.hpp"
#include "fusion.hpp"
#include "node_desc.hpp"

namespace cagr {

bool is_weight_input(const std::string& op, size_t index) {
  if (op == "embedding_bag") return index >= 2;
  if (op == "dlrm_embedding_interaction") return index >= 3;  // embedding_bag's tables, after the dense input
  if (op == "linear" || op == "mlp") return index >= 1;
  if (op == "cross_layer") return index == 2 || index == 3;  // W and bias
  return false;
}

namespace {

uint64_t byte_size(const TensorShape& shape) {
  const int64_t n = element_count(shape.dims);
  if (n < 0) throw std::logic_error("tensor shape still unknown at run time: [" + dims_to_string(shape.dims) + "]");
  return static_cast<uint64_t>(n) * dtype_size(shape.dtype);
}

}  // namespace

Executor::Executor(Graph graph, std::vector<Target> targets, const std::vector<Dims>& example_inputs, PlacementPolicy& policy,
                   std::shared_ptr<KernelPool> kernels)
    // `targets` copied, not moved: the order in which the two arguments are made is unspecified.
    : Executor(place_graph(std::move(graph), targets, example_inputs, policy), targets, std::move(kernels)) {}

Executor::Executor(PlacedGraph placed, std::vector<Target> targets, std::shared_ptr<KernelPool> kernels)
    : fusion_rules_(std::move(placed.fusion_rules)),
      fusions_(std::move(placed.fusions)),
      graph_(std::move(placed.fused)),
      targets_(std::move(targets)),
      placement_(std::move(placed.placement)),
      compiled_shapes_(std::move(placed.shapes)),
      kernel_pool_(std::move(kernels)) {
  order_ = graph_.topological_order();
  producer_.assign(graph_.num_tensors(), -1);
  for (size_t n = 0; n < graph_.nodes().size(); ++n)
    for (int out : graph_.nodes()[n].outputs) producer_[static_cast<size_t>(out)] = static_cast<int>(n);
  // Streams only where nodes are placed: a target that runs none (it refused every op, or its
  // isolated plugin crashed answering op_query) is never called.
  std::vector<bool> used(targets_.size(), false);
  for (const NodePlacement& p : placement_.nodes) used[static_cast<size_t>(p.target)] = true;
  for (size_t t = 0; t < targets_.size(); ++t)
    streams_.push_back(used[t] ? targets_[t].plugin->create_stream(targets_[t].device) : Stream());

  // A reshape changes no byte: its output shares its input's buffers (a view) and runs no kernel.
  storage_.resize(graph_.num_tensors());
  for (size_t t = 0; t < storage_.size(); ++t) storage_[t] = static_cast<int>(t);
  for (int n : order_) {
    const Node& node = graph_.nodes()[static_cast<size_t>(n)];
    if (graph_.is_view(n)) storage_[static_cast<size_t>(node.outputs[0])] = storage_[static_cast<size_t>(node.inputs[0])];
  }

  kernels_.resize(graph_.nodes().size());
  kernel_shapes_.resize(graph_.nodes().size());
  runtime_inputs_.resize(graph_.nodes().size());
  for (int n : order_) {
    const Node& node = graph_.nodes()[static_cast<size_t>(n)];
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (!(graph_.tensor(node.inputs[i]).is_constant() && is_weight_input(node.op, i)))
        runtime_inputs_[static_cast<size_t>(n)].push_back(node.inputs[i]);
    }
    if (!graph_.is_view(n)) create_kernel(n, compiled_shapes_, true);
  }
  upload_constants();
}

Executor::~Executor() = default;

Buffer& Executor::stored(int tensor, int target) { return buffers_.at({storage_[static_cast<size_t>(tensor)], target}); }

void Executor::create_kernel(int n, const std::vector<TensorShape>& shapes, bool any_variant) {
  const Node& node = graph_.nodes()[static_cast<size_t>(n)];
  NodePlacement& where = placement_.nodes[static_cast<size_t>(n)];
  const Target& target = targets_[static_cast<size_t>(where.target)];
  std::vector<cagr_constant> constants;
  std::vector<std::shared_ptr<const void>> owners;  // graph weights are immutable and shared: lent to the plugin
  KernelPool::Request request;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const TensorInfo& info = graph_.tensor(node.inputs[i]);
    if (info.is_constant() && is_weight_input(node.op, i)) {
      auto c = abi::make_struct<cagr_constant>();
      c.input_index = i;
      c.data = info.data->data();
      c.lifetime = CAGR_CONSTANT_BORROWED;
      constants.push_back(c);
      owners.push_back(info.data);
      request.weights.push_back(c.data);
      request.weight_bytes += info.data->size();
    }
  }
  abi::OwnedOpDesc desc = describe_node(node, shapes);
  // The hot rows of an id profile (ABI 1.4), where the run has one for this node.
  auto hot = abi::make_struct<cagr_hot_rows_extension>();
  std::vector<size_t> hot_counts;
  std::vector<const int64_t*> hot_rows;
  for (const std::vector<int64_t>& rows : node.hot_rows) {
    hot_counts.push_back(rows.size());
    hot_rows.push_back(rows.data());
  }
  hot.type = CAGR_EXTENSION_HOT_ROWS;
  hot.num_tables = hot_rows.size();
  hot.num_rows = hot_counts.data();
  hot.rows = hot_rows.data();
  const cagr_extension* extensions = node.hot_rows.empty() ? nullptr : reinterpret_cast<const cagr_extension*>(&hot);
  auto make = [&] {
    try {
      return target.plugin->create_kernel(target.device, desc.desc(), where.variant, constants, extensions, owners);
    } catch (const Error& e) {
      throw Error(e.status(), "node '" + node.name + "' (" + node.op + ") on " + target.label() + ": " + e.what());
    }
  };
  if (kernel_pool_) {
    request.target = &target;
    request.op = &desc.desc();
    request.hot_rows = hot_counts;
    kernels_[static_cast<size_t>(n)] = kernel_pool_->get(request, any_variant, where.variant, where.variant_name, make);
  } else {
    kernels_[static_cast<size_t>(n)] = std::make_shared<Kernel>(make());
  }
  std::vector<Dims>& made = kernel_shapes_[static_cast<size_t>(n)];
  made.clear();
  for (int id : node.inputs) made.push_back(shapes[static_cast<size_t>(id)].dims);
  for (int id : node.outputs) made.push_back(shapes[static_cast<size_t>(id)].dims);
  ++plan_generation_;
}

// A kernel serves runs whose tensors differ from its creation shapes in the first dimension only
// (the batch, the number of indices: OPS.md's "varies per run"). Any other change - NGCF's number of
// candidates, a gather's index shape - gets a kernel made for the new shapes, before any work is
// queued (never during a capture).
void Executor::fit_kernels(const std::vector<TensorShape>& shapes) {
  for (int n : order_) {
    if (graph_.is_view(n)) continue;
    const Node& node = graph_.nodes()[static_cast<size_t>(n)];
    const std::vector<Dims>& made = kernel_shapes_[static_cast<size_t>(n)];
    size_t k = 0;
    bool fits = true;
    for (const auto* ids : {&node.inputs, &node.outputs}) {
      for (int id : *ids) {
        const Dims& run = shapes[static_cast<size_t>(id)].dims;
        const Dims& then = made[k++];
        fits = fits && run.size() == then.size() && (run.empty() || std::equal(run.begin() + 1, run.end(), then.begin() + 1));
      }
    }
    if (!fits) create_kernel(n, shapes, true);
  }
}

Buffer& Executor::buffer(int tensor, int target, uint64_t bytes) {
  const auto key = std::make_pair(storage_[static_cast<size_t>(tensor)], target);
  auto it = buffers_.find(key);
  if (it == buffers_.end() || it->second.bytes() < bytes) {
    // Grow-only, with headroom so that a slowly growing batch does not reallocate every run.
    const uint64_t size = std::max<uint64_t>(64, it == buffers_.end() ? bytes : bytes + bytes / 4);
    const Target& t = targets_[static_cast<size_t>(target)];
    Buffer fresh = t.plugin->alloc(t.device, size);
    it = buffers_.insert_or_assign(key, std::move(fresh)).first;
    ++plan_generation_;
  }
  return it->second;
}

// Constants that are not weights (an add's bias row, say) live in ordinary buffers, uploaded once
// to every target that reads them.
void Executor::upload_constants() {
  for (int n : order_) {
    const int target = placement_.nodes[static_cast<size_t>(n)].target;
    for (int in : runtime_inputs_[static_cast<size_t>(n)]) {
      const TensorInfo& info = graph_.tensor(in);
      if (!info.is_constant() || buffers_.count({storage_[static_cast<size_t>(in)], target})) continue;
      buffer(in, target, info.data->size()).copy_from_host(streams_[static_cast<size_t>(target)], info.data->data(), info.data->size());
    }
  }
  for (Stream& s : streams_)
    if (s.get() != nullptr) s.synchronize();
}

void Executor::move_to(int tensor, int target, const std::vector<TensorShape>& shapes) {
  const int from = home_[static_cast<size_t>(tensor)];
  if (from == target || graph_.tensor(tensor).is_constant()) return;
  if (from < 0) throw std::logic_error("tensor '" + graph_.tensor(tensor).name + "' has no value yet");
  // Across devices (and plugins) through host memory: the ABI copies only within one plugin.
  const uint64_t bytes = byte_size(shapes[static_cast<size_t>(tensor)]);
  std::vector<std::byte>& staging = staging_.emplace_back(bytes);
  Stream& src_stream = streams_[static_cast<size_t>(from)];
  stored(tensor, from).copy_to_host(src_stream, staging.data(), bytes);
  src_stream.synchronize();
  buffer(tensor, target, bytes).copy_from_host(streams_[static_cast<size_t>(target)], staging.data(), bytes);
}

bool Executor::captures() const {
  // A pooled kernel may reallocate what it keeps for another executor's batch, under a graph this
  // one recorded: executors that share kernels do not record.
  if (!capture_ || profiling_ || kernel_pool_) return false;
  for (const NodePlacement& p : placement_.nodes)
    if (p.target != placement_.nodes.front().target) return false;
  return !placement_.nodes.empty() && targets_[static_cast<size_t>(placement_.nodes.front().target)].plugin->supports_capture();
}

// Graph inputs go straight from the caller's memory to every target that reads them.
void Executor::upload_inputs(const std::vector<HostTensor>& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int id = graph_.inputs()[i];
    std::vector<bool> done(targets_.size(), false);
    for (int n : order_) {
      const int target = placement_.nodes[static_cast<size_t>(n)].target;
      const auto& ins = runtime_inputs_[static_cast<size_t>(n)];
      if (done[static_cast<size_t>(target)] || std::find(ins.begin(), ins.end(), id) == ins.end()) continue;
      done[static_cast<size_t>(target)] = true;
      buffer(id, target, inputs[i].data.size())
          .copy_from_host(streams_[static_cast<size_t>(target)], inputs[i].data.data(), inputs[i].data.size());
    }
  }
}

// Every node output sized before any kernel is queued: allocation never happens during a capture.
void Executor::size_outputs(const std::vector<TensorShape>& shapes) {
  for (int n : order_) {
    const int target = placement_.nodes[static_cast<size_t>(n)].target;
    for (int out : graph_.nodes()[static_cast<size_t>(n)].outputs) buffer(out, target, byte_size(shapes[static_cast<size_t>(out)]));
  }
}

const Executor::NodeIo& Executor::node_io(int n, const std::vector<TensorShape>& shapes) {
  const int target = placement_.nodes[static_cast<size_t>(n)].target;
  if (node_io_.size() != graph_.nodes().size()) node_io_.resize(graph_.nodes().size());
  NodeIo& io = node_io_[static_cast<size_t>(n)];
  io.inputs.clear();
  io.outputs.clear();
  io.input_descs.clear();
  io.output_descs.clear();
  for (int in : runtime_inputs_[static_cast<size_t>(n)]) {
    io.inputs.push_back(stored(in, target).get());
    io.input_descs.push_back(tensor_desc_of(shapes[static_cast<size_t>(in)]));
  }
  for (int out : graph_.nodes()[static_cast<size_t>(n)].outputs) {
    io.outputs.push_back(stored(out, target).get());
    io.output_descs.push_back(tensor_desc_of(shapes[static_cast<size_t>(out)]));
  }
  return io;
}

void Executor::enqueue_nodes(const std::vector<TensorShape>& shapes) {
  home_.assign(graph_.num_tensors(), -1);
  staging_.clear();
  for (size_t step = 0; step < order_.size(); ++step) {
    const int n = order_[step];
    const Node& node = graph_.nodes()[static_cast<size_t>(n)];
    const int target = placement_.nodes[static_cast<size_t>(n)].target;
    Stream& stream = streams_[static_cast<size_t>(target)];

    for (int in : runtime_inputs_[static_cast<size_t>(n)])
      if (producer_[static_cast<size_t>(in)] >= 0) move_to(in, target, shapes);
    const NodeIo& io = node_io(n, shapes);
    for (int out : node.outputs) home_[static_cast<size_t>(out)] = target;
    if (graph_.is_view(n)) {  // runs nothing: its output's storage is its input's
      if (profiling_) profile_[step].microseconds.push_back(0.0);
      continue;
    }

    const bool device_timed = profiling_ && profile_[step].device_timed;
    const auto start = std::chrono::steady_clock::now();
    try {
      if (device_timed) node_events_[step].first.record(stream);
      kernels_[static_cast<size_t>(n)]->run(stream, io.inputs, io.input_descs, io.outputs, io.output_descs);
      if (device_timed) node_events_[step].second.record(stream);
      if (profiling_ && !device_timed) stream.synchronize();
    } catch (const Error& e) {
      throw Error(e.status(), "node '" + node.name + "' (" + node.op + "): " + e.what());
    }
    if (profiling_ && !device_timed) {
      profile_[step].microseconds.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
  }
}

std::vector<HostTensor> Executor::run(const std::vector<HostTensor>& inputs) {
  bind(inputs);
  enqueue_pass();
  std::vector<HostTensor> outputs = enqueue_output_copies();
  finish_pass();  // one synchronisation covers the pass and the copies
  return outputs;
}

void Executor::bind(const std::vector<HostTensor>& inputs) {
  if (inputs.size() != graph_.inputs().size())
    throw std::invalid_argument("model takes " + std::to_string(graph_.inputs().size()) + " inputs, " +
                                std::to_string(inputs.size()) + " given");
  std::vector<Dims> input_dims;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorInfo& info = graph_.tensor(graph_.inputs()[i]);
    if (inputs[i].dtype != info.dtype)
      throw std::invalid_argument("input '" + info.name + "': dtype " + dtype_name(inputs[i].dtype) + " given, model takes " +
                                  dtype_name(info.dtype));
    if (element_count(inputs[i].dims) < 0 ||
        inputs[i].data.size() != static_cast<size_t>(element_count(inputs[i].dims)) * dtype_size(inputs[i].dtype))
      throw std::invalid_argument("input '" + info.name + "': data size does not match its shape [" + dims_to_string(inputs[i].dims) + "]");
    input_dims.push_back(inputs[i].dims);
  }
  if (bound_shapes_.empty() || input_dims != bound_dims_ || bound_generation_ != plan_generation_) {
    bound_shapes_ = infer_shapes(graph_, input_dims);
    fit_kernels(bound_shapes_);
    bound_dims_ = std::move(input_dims);
  }
  upload_inputs(inputs);
  size_outputs(bound_shapes_);
  bound_generation_ = plan_generation_;
  passed_ = false;
  // The caller's memory may go once bind() returns.
  synchronize("copying inputs");
}

void Executor::run_bound() {
  enqueue_pass();
  finish_pass();
}

std::vector<HostTensor> Executor::outputs() {
  if (!passed_) throw std::logic_error("outputs() before a pass over the inputs last bound");
  std::vector<HostTensor> outputs = enqueue_output_copies();
  synchronize("copying outputs");
  return outputs;
}

void Executor::enqueue_pass() {
  if (bound_shapes_.empty()) throw std::logic_error("a pass before bind()");
  const std::vector<TensorShape>& shapes = bound_shapes_;
  if (profiling_ && profile_.empty()) {
    for (int n : order_) {
      const Node& node = graph_.nodes()[static_cast<size_t>(n)];
      const NodePlacement& p = placement_.nodes[static_cast<size_t>(n)];
      const Target& target = targets_[static_cast<size_t>(p.target)];
      const bool device_timed = target.plugin->supports_event_timing();
      profile_.push_back(NodeProfile{node.name, node.op, target.label(), graph_.is_view(n) ? "view (no copy)" : p.variant_name,
                                     {}, device_timed});
      node_events_.emplace_back();
      if (device_timed && !graph_.is_view(n))
        node_events_.back() = {target.plugin->create_event(target.device), target.plugin->create_event(target.device)};
    }
  }

  if (pass_events_) pass_events_->first.record(streams_[static_cast<size_t>(placement_.nodes.front().target)]);
  if (captures()) {
    Stream& stream = streams_[static_cast<size_t>(placement_.nodes.front().target)];
    const bool same = graph_replay_ && replay_generation_ == plan_generation_ && replay_shapes_.size() == shapes.size() &&
                      std::equal(shapes.begin(), shapes.end(), replay_shapes_.begin(),
                                 [](const TensorShape& a, const TensorShape& b) { return a.dims == b.dims; });
    if (!same) {
      graph_replay_ = CapturedGraph();
      stream.begin_capture();
      try {
        enqueue_nodes(shapes);
      } catch (...) {
        stream.end_capture();  // leave the stream usable; the error is the node's
        throw;
      }
      graph_replay_ = stream.end_capture();
      replay_shapes_ = shapes;
      replay_generation_ = plan_generation_;
    }
    graph_replay_.launch(stream);
  } else {
    enqueue_nodes(shapes);
  }
  if (pass_events_) pass_events_->second.record(streams_[static_cast<size_t>(placement_.nodes.front().target)]);
}

std::vector<HostTensor> Executor::enqueue_output_copies() {
  std::vector<HostTensor> outputs;
  for (int out : graph_.outputs()) {
    const TensorShape& shape = bound_shapes_[static_cast<size_t>(out)];
    HostTensor h(shape.dtype, shape.dims);
    const int from = home_[static_cast<size_t>(out)];
    if (from < 0) throw std::logic_error("output '" + graph_.tensor(out).name + "' is not computed by any node");
    stored(out, from).copy_to_host(streams_[static_cast<size_t>(from)], h.data.data(), h.data.size());
    outputs.push_back(std::move(h));
  }
  return outputs;
}

void Executor::synchronize(const char* what) {
  try {
    for (Stream& s : streams_)
      if (s.get() != nullptr) s.synchronize();
  } catch (const Error& e) {
    throw Error(e.status(), std::string(what) + " failed: " + e.what());
  }
}

void Executor::finish_pass() {
  synchronize("run");
  passed_ = true;
  if (profiling_) {
    for (size_t step = 0; step < profile_.size(); ++step)
      if (profile_[step].device_timed && !graph_.is_view(order_[step]))
        profile_[step].microseconds.push_back(node_events_[step].second.microseconds_since(node_events_[step].first));
  }
}

// A pass is timed on the device where the whole graph runs on one device that can time events: the
// host's clock adds the output copy and a synchronisation, +-5 us of noise on a GPU pass
// (docs/PERF.md), more than many variants differ by.
struct Executor::PassTiming {
  explicit PassTiming(Executor& e) : executor(e) {
    const auto& nodes = e.placement_.nodes;
    const Target& first = e.targets_[static_cast<size_t>(nodes.front().target)];
    const bool one_device =
        std::all_of(nodes.begin(), nodes.end(), [&](const NodePlacement& p) { return p.target == nodes.front().target; });
    if (one_device && first.plugin->supports_event_timing())
      e.pass_events_.emplace(first.plugin->create_event(first.device), first.plugin->create_event(first.device));
  }
  ~PassTiming() { executor.pass_events_.reset(); }
  // `repetitions` whole passes over the bound inputs, after one that warms up (and records a graph
  // where capture is on).
  PassTimes times_us(int repetitions) {
    executor.run_bound();
    std::vector<double> times;
    for (int r = 0; r < std::max(1, repetitions); ++r) {
      const auto start = std::chrono::steady_clock::now();
      executor.run_bound();
      const auto& events = executor.pass_events_;
      times.push_back(events ? events->second.microseconds_since(events->first)
                             : std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
    return PassTimes{times[times.size() / 2], *std::min_element(times.begin(), times.end())};
  }
  Executor& executor;
};

Executor::PassTimes Executor::measure(const std::vector<HostTensor>& inputs, int repetitions) {
  bind(inputs);
  PassTiming timing(*this);
  return timing.times_us(repetitions);
}

Executor::Tuning Executor::tune(const std::vector<HostTensor>& inputs, const TuneOptions& options) {
  bind(inputs);  // real data: every node sees the values it will see in use
  const std::vector<TensorShape> shapes = bound_shapes_;
  struct RestoreProfiling {
    Executor& e;
    bool was;
    ~RestoreProfiling() {
      e.profiling_ = was;
      e.profile_.clear();
      e.node_events_.clear();
    }
  } restore{*this, profiling_};
  // Each node's median time over profiled whole passes (events around it inside a real pass, so it
  // meets the caches as the rest of the pass leaves them), after one pass that warms up.
  auto profiled_us = [&]() {
    profiling_ = true;
    for (int pass = 0; pass < 2; ++pass) {
      profile_.clear();
      node_events_.clear();
      for (int r = 0; r < (pass == 0 ? 1 : std::max(1, options.repetitions)); ++r) run_bound();
    }
    std::vector<double> medians;
    for (const NodeProfile& p : profile_) {
      std::vector<double> times = p.microseconds;
      std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
      medians.push_back(times[times.size() / 2]);
    }
    return medians;
  };
  const std::vector<double> as_placed = options.every_node ? profiled_us() : std::vector<double>{};
  Tuning result;
  // The nodes to tune and the variants each tries.
  struct Trial {
    size_t step;
    std::vector<Variant> variants;  // tried, in order
    std::vector<std::string> keys;  // each one's measurement-cache key
    std::vector<std::optional<double>> us;
    std::vector<bool> cached;
    std::string failures;
    int kernel_variant;  // the variant the node's kernel was made for
  };
  std::vector<Trial> trials;
  for (size_t step = 0; step < order_.size(); ++step) {
    const int n = order_[step];
    if (graph_.is_view(n)) continue;
    const Node& node = graph_.nodes()[static_cast<size_t>(n)];
    const NodePlacement& where = placement_.nodes[static_cast<size_t>(n)];
    const Target& target = targets_[static_cast<size_t>(where.target)];
    abi::OwnedOpDesc desc = describe_node(node, shapes);
    const OpSupport support = target.plugin->query(target.device, desc.desc());
    if (support.variants.size() < 2) {
      if (options.every_node && support.variants.size() == 1)
        result.timings.push_back(NodeTiming{n, {{support.variants[0], as_placed[step]}}});
      continue;
    }
    std::vector<size_t> tried(support.variants.size());
    for (size_t k = 0; k < tried.size(); ++k) tried[k] = k;
    if (options.choose) tried = options.choose(node, desc.desc(), target, support.variants);
    if (tried.size() < 2) continue;
    Trial trial{step, {}, {}, std::vector<std::optional<double>>(tried.size()), std::vector<bool>(tried.size()), "", where.variant};
    for (size_t k : tried) {
      trial.variants.push_back(support.variants.at(k));
      trial.keys.push_back(MeasurementCache::key(target, desc.desc(), trial.variants.back().name));
    }
    trials.push_back(std::move(trial));
  }
  // Node by node, or (options.together) all at once: round k runs each node of the group on its
  // k-th variant and times them in the same passes.
  // A node keeps its fastest variant before the next group is timed.
  auto settle = [&](Trial& trial) {
    const int n = order_[trial.step];
    const Node& node = graph_.nodes()[static_cast<size_t>(n)];
    NodePlacement& where = placement_.nodes[static_cast<size_t>(n)];
    const Target& target = targets_[static_cast<size_t>(where.target)];
    NodeTiming timing{n, {}};
    const Variant* best = nullptr;
    double best_us = std::numeric_limits<double>::infinity();
    std::string line = node.name + " (" + node.op + ", " + target.label() + "):" + trial.failures;
    for (size_t k = 0; k < trial.variants.size(); ++k) {
      if (!trial.us[k]) continue;
      const Variant& v = trial.variants[k];
      char figure[96];
      std::snprintf(figure, sizeof figure, " %s %.1f us%s", v.name.c_str(), *trial.us[k], trial.cached[k] ? " (cached)" : "");
      line += figure;
      timing.variants.emplace_back(v, *trial.us[k]);
      if (*trial.us[k] < best_us) {
        best_us = *trial.us[k];
        best = &v;
      }
    }
    if (best == nullptr) throw Error(CAGR_ERROR_INTERNAL, "node '" + node.name + "': no variant ran while tuning");
    where.variant = best->index;
    where.variant_name = best->name;
    where.math_precision = best->math_precision;
    where.estimated_ns = variant_cost_ns(*best, target.info);
    if (trial.kernel_variant != best->index) create_kernel(n, shapes, false);
    ++plan_generation_;
    result.report.push_back(line + " -> " + where.variant_name);
    result.timings.push_back(std::move(timing));
  };
  const size_t group_size = options.together ? std::max<size_t>(trials.size(), 1) : 1;
  for (size_t first = 0; first < trials.size(); first += group_size) {
    const size_t last = std::min(trials.size(), first + group_size);
    size_t rounds = 0;
    for (size_t t = first; t < last; ++t) rounds = std::max(rounds, trials[t].variants.size());
    for (size_t k = 0; k < rounds; ++k) {
      std::vector<size_t> measured;
      for (size_t t = first; t < last; ++t) {
        Trial& trial = trials[t];
        if (k >= trial.variants.size()) continue;
        const int n = order_[trial.step];
        const Node& node = graph_.nodes()[static_cast<size_t>(n)];
        const Variant& v = trial.variants[k];
        if (options.progress)
          options.progress("tuning node " + std::to_string(trial.step + 1) + "/" + std::to_string(order_.size()) + " " + node.name +
                           ": variant " + std::to_string(k + 1) + "/" + std::to_string(trial.variants.size()));
        if (options.cache) trial.us[k] = options.cache->find(trial.keys[k]);
        trial.cached[k] = trial.us[k].has_value();
        if (trial.cached[k]) continue;
        NodePlacement& where = placement_.nodes[static_cast<size_t>(n)];
        where.variant = v.index;
        where.variant_name = v.name;
        try {
          create_kernel(n, shapes, false);
          trial.kernel_variant = v.index;
          measured.push_back(t);
        } catch (const Error& e) {
          trial.failures += " " + v.name + " failed (" + e.what() + ")";
        }
      }
      if (measured.empty()) continue;
      const std::vector<double> medians = profiled_us();
      for (size_t t : measured) {
        Trial& trial = trials[t];
        trial.us[k] = medians[trial.step];
        const std::string what = graph_.nodes()[static_cast<size_t>(order_[trial.step])].op + " " + trial.variants[k].name;
        if (options.cache) options.cache->store(trial.keys[k], what, *trial.us[k]);
      }
    }
    for (size_t t = first; t < last; ++t) settle(trials[t]);
  }
  return result;
}

std::vector<NodeStatistics> Executor::kernel_statistics() const {
  std::vector<NodeStatistics> out;
  for (int n : order_) {
    const std::shared_ptr<Kernel>& kernel = kernels_[static_cast<size_t>(n)];
    if (!kernel) continue;
    auto figures = kernel->statistics();
    if (figures.empty()) continue;
    const Node& node = graph_.nodes()[static_cast<size_t>(n)];
    const NodePlacement& p = placement_.nodes[static_cast<size_t>(n)];
    out.push_back({node.name, node.op, targets_[static_cast<size_t>(p.target)].label(), std::move(figures)});
  }
  return out;
}

std::string Executor::plan_table() const {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "%-4s %-24s %-16s %-12s %-26s %12s  %s\n", "#", "node", "op", "device", "variant", "est. us",
                "output shape");
  out << line;
  int step = 0;
  for (int n : order_) {
    const Node& node = graph_.nodes()[static_cast<size_t>(n)];
    const NodePlacement& p = placement_.nodes[static_cast<size_t>(n)];
    std::snprintf(line, sizeof line, "%-4d %-24s %-16s %-12s %-26s %12.2f  [%s]\n", step++, node.name.c_str(), node.op.c_str(),
                  targets_[static_cast<size_t>(p.target)].label().c_str(), graph_.is_view(n) ? "view (no copy)" : p.variant_name.c_str(),
                  graph_.is_view(n) ? 0.0 : p.estimated_ns / 1000.0,
                  dims_to_string(compiled_shapes_[static_cast<size_t>(node.outputs.at(0))].dims).c_str());
    out << line;
  }
  for (const std::string& f : fusions_) out << "fused: " << f << "\n";
  return out.str();
}

}  // namespace cagr

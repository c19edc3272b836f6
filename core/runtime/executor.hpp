// executor.hpp - runs a placed graph: one kernel per node on its (plugin, device, variant), a buffer
// per tensor on every device that touches it, copies inserted where a tensor crosses devices, and an
// optional per-node timing profile.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph.hpp"
#include "host_tensor.hpp"
#include "kernel_pool.hpp"
#include "measurement_cache.hpp"
#include "placement.hpp"
#include "plugin.hpp"
#include "shape_inference.hpp"

namespace cagr {

struct NodeProfile {
  std::string node, op, target, variant;
  std::vector<double> microseconds;  // one entry per profiled run
  // true: device time between events recorded around the node (plugins of ABI 1.1 with
  // event_elapsed); false: host time with the stream synchronised after the node, which adds
  // launch and wake-up latency (15-20 us per node on a GPU).
  bool device_timed = false;
};

// What a node's kernel counted since it was made (ABI 1.4 kernel_statistics: an embedding cache's
// hits and misses per table, its host and copy times).
struct NodeStatistics {
  std::string node, op, target;
  std::vector<std::pair<std::string, double>> figures;
};

class Executor {
 public:
  // Fuses what the targets offer with the policy's fusion rules (fusion.hpp), places `graph` on `targets` with `policy` at the
  // shapes of `example_inputs` (graph input order), creates every kernel (uploading weights once)
  // and the streams. Runs may use other sizes in the
  // dimensions that vary per run (batch size, number of indices). With `kernels`, a kernel that an
  // executor of the same pool made for the same node is shared, not made again (kernel_pool.hpp).
  Executor(Graph graph, std::vector<Target> targets, const std::vector<Dims>& example_inputs, PlacementPolicy& policy,
           std::shared_ptr<KernelPool> kernels = nullptr);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // One forward pass. `inputs` in graph input order; returns the graph outputs in order.
  // Equivalent to bind(inputs) followed by run_bound().
  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs);

  // Copies `inputs` to the devices that read them and sizes every buffer for their shapes.
  void bind(const std::vector<HostTensor>& inputs);
  // A forward pass over the inputs last bound, which stay on the devices, as do its outputs
  // (outputs() copies them): what a caller whose data lives in device memory pays. Benchmarks
  // report it beside run(), against a PyTorch pass that also leaves its outputs on the device.
  void run_bound();
  // The graph outputs of the last pass, in order, copied to the host.
  std::vector<HostTensor> outputs();

  // With profiling on, each node's time is measured: from events recorded around it where its
  // plugin can time events, else by synchronising its stream after it (end-to-end latency is
  // higher than without profiling either way).
  void set_profiling(bool on) { profiling_ = on; }
  // Implementation choice by measurement, on real data: for each node whose device offers several
  // variants, in order, runs whole forward passes over `inputs` with each variant in turn and times
  // the node inside them (median of `repetitions`; the device's events around the node where its
  // plugin has them, else the host's clock with the stream synchronised), keeping the fastest.
  // Timing the node inside a whole pass judges a variant with the caches as the rest of the pass
  // leaves them (a node run alone finds its inputs, and an embedding's rows, still in L2), and
  // gives a figure that holds for the same layer in another model. Placement's device choice stays.
  // Reports progress through `progress` (may be empty); returns a line per tuned node with the
  // node's time under each variant, and the timings themselves. With `cache`, a node's timing for a
  // variant is looked up before it is measured, and stored after (measurement_cache.hpp): a second
  // run, or another model with a layer of the same shape, measures nothing twice.
  struct TuneOptions {
    int repetitions = 5;
    std::function<void(const std::string&)> progress;
    MeasurementCache* cache = nullptr;
    bool every_node = false;  // also time the nodes with one variant (cost samples for the learned policy)
    // Time every tuned node's k-th variant in the same passes (as many rounds as the most variants a
    // node tries), not node by node: a pass set per round instead of per node and variant, with
    // each node timed beside the others' trial variants. For a check of a few nodes (the policy's).
    bool together = false;
    // Which of a node's offered variants to time (indices into `offered`); fewer than two: the node
    // keeps its variant untimed. Empty function: every variant.
    std::function<std::vector<size_t>(const Node& node, const cagr_op_desc& op, const Target& target,
                                      const std::vector<Variant>& offered)>
        choose;
  };
  struct NodeTiming {
    int node = 0;                                         // index in graph() (as fused)
    std::vector<std::pair<Variant, double>> variants;     // each variant that ran, with its microseconds
  };
  struct Tuning {
    std::vector<std::string> report;
    std::vector<NodeTiming> timings;
  };
  Tuning tune(const std::vector<HostTensor>& inputs, const TuneOptions& options);
  // `repetitions` whole passes over `inputs` (after a warm-up pass), in microseconds: device time
  // where the graph runs on one device that can time events, else the host's.
  struct PassTimes {
    double median = 0, fastest = 0;
  };
  PassTimes measure(const std::vector<HostTensor>& inputs, int repetitions);

  // With capture on, when every node runs on one device whose plugin can record streams (CUDA / HIP
  // graphs), the kernels of a run are recorded once per set of shapes and replayed as one launch,
  // so small batches are not bound by launch overhead. Profiling runs are never captured, nor those
  // of an executor that shares its kernels (a kernel pool).
  void set_graph_capture(bool on) { capture_ = on; }
  bool captures() const;  // whether runs are replayed from a recorded graph
  const std::vector<NodeProfile>& profile() const { return profile_; }
  // Every node whose plugin reports figures for its kernel; call it between passes.
  std::vector<NodeStatistics> kernel_statistics() const;

  const Graph& graph() const { return graph_; }  // as fused
  const std::vector<std::string>& fusions() const { return fusions_; }  // one line per fused chain
  const std::vector<std::string>& fusion_rules() const { return fusion_rules_; }  // the rules they were chosen by
  const Placement& placement() const { return placement_; }
  const std::vector<Target>& targets() const { return targets_; }
  // The plan as a table: node, op, device, variant, estimated cost, output shape.
  std::string plan_table() const;

 private:
  struct PassTiming;  // times whole passes (tune, measure)
  Executor(PlacedGraph placed, std::vector<Target> targets, std::shared_ptr<KernelPool> kernels);
  Buffer& stored(int tensor, int target);  // the buffer holding `tensor` on `target` (views: their source's)
  struct NodeIo {
    std::vector<cagr_buffer*> inputs, outputs;
    std::vector<cagr_tensor_desc> input_descs, output_descs;
  };
  // The buffers and run shapes of node `n`, whose inputs are already on its device: node_io_'s
  // entry for it, refilled (its vectors keep their memory from pass to pass).
  const NodeIo& node_io(int n, const std::vector<TensorShape>& shapes);
  // `any_variant`: a pooled kernel of another variant may serve a node with large weights (not while tuning).
  void create_kernel(int node, const std::vector<TensorShape>& shapes, bool any_variant);
  void fit_kernels(const std::vector<TensorShape>& shapes);
  Buffer& buffer(int tensor, int target, uint64_t bytes);
  void upload_constants();
  void upload_inputs(const std::vector<HostTensor>& inputs);
  void size_outputs(const std::vector<TensorShape>& shapes);
  void enqueue_nodes(const std::vector<TensorShape>& shapes);
  // A pass is enqueued, then finished: every stream synchronised (errors named `what`) and, when
  // profiling, each node's events read. run() enqueues its output copies in between, so that one
  // synchronisation covers both.
  void enqueue_pass();
  std::vector<HostTensor> enqueue_output_copies();
  void synchronize(const char* what);
  void finish_pass();
  void move_to(int tensor, int target, const std::vector<TensorShape>& shapes);

  std::vector<std::string> fusion_rules_;  // the policy's
  std::vector<std::string> fusions_;       // one line per fused chain
  Graph graph_;
  std::vector<Target> targets_;
  Placement placement_;
  std::vector<int> order_;
  std::vector<int> producer_;                        // per tensor: the node writing it, -1 input/constant
  std::vector<TensorShape> compiled_shapes_;
  std::shared_ptr<KernelPool> kernel_pool_;          // shared with the session's other executors, or null
  std::vector<std::shared_ptr<Kernel>> kernels_;     // per node (null for views)
  std::vector<std::vector<Dims>> kernel_shapes_;     // per node: input then output shapes it was made for
  std::vector<std::vector<int>> runtime_inputs_;     // per node: inputs passed at run (weights excluded)
  std::vector<Stream> streams_;                      // per target
  std::map<std::pair<int, int>, Buffer> buffers_;    // (storage tensor, target) -> buffer
  std::vector<int> storage_;                         // per tensor: whose buffers hold it (itself, or a view's source)
  std::vector<int> home_;                            // per tensor: target holding its latest value, -1 host
  std::vector<std::vector<std::byte>> staging_;      // host copies for cross-device moves in this run
  bool profiling_ = false;
  std::vector<NodeProfile> profile_;                 // per step of order_
  std::vector<std::pair<Event, Event>> node_events_; // per step: around the node, where device-timed
  std::optional<std::pair<Event, Event>> pass_events_;  // while tuning on one device: around each pass
  bool capture_ = false;
  uint64_t plan_generation_ = 0;  // bumped on every buffer (re)allocation and kernel (re)creation:
                                  // a recorded graph holds their addresses
  std::vector<NodeIo> node_io_;            // per node: node_io()'s answer
  std::vector<TensorShape> bound_shapes_;  // of the inputs last bound
  // Their input dims, and the plan_generation_ the kernels were fitted to them at: a bind with the
  // same dims and no kernel made since infers and fits nothing (at batch 1 shape inference and its
  // op-contract checks were a large part of a pass).
  std::vector<Dims> bound_dims_;
  uint64_t bound_generation_ = 0;
  bool passed_ = false;                    // whether a pass has run over them (outputs() has values)
  CapturedGraph graph_replay_;
  std::vector<TensorShape> replay_shapes_;
  uint64_t replay_generation_ = 0;
};

// Whether input `index` of `op` is a weight handed to kernel_create when it is a constant (OPS.md's
// "usually constant" inputs); other constants are uploaded as ordinary input buffers.
bool is_weight_input(const std::string& op, size_t index);

}  // namespace cagr

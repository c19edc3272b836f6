// run_report.hpp - everything one cagr-run run reports, as plain data, and its two renderings:
// text for people and JSON for programs. Both carry the same facts (the text shows the placement
// table with --print-plan only).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "report.hpp"

namespace cagr::run {

struct DeviceEntry {
  int index = 0;
  std::string name, kind, pci_bus_id;
  int compute_units = 0;
  double gflops_f32 = 0, gflops_f16 = 0, bandwidth_gbps = 0;
  uint64_t memory_bytes = 0;
};

struct PluginEntry {
  std::string name, status, origin, path, reason;  // reason: why it is not loaded
  std::string version, vendor, abi_built, abi_negotiated;  // loaded ones
  int priority = 0;
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<DeviceEntry> devices;
};

struct PlacedNode {
  std::string node, op, device, variant, output_shape;
  double estimated_us = 0;
  bool view = false;  // a view of its input: no kernel, no copy
};

struct ProfiledNode {
  std::string node, op, device, variant;
  LatencyStats stats;
  bool device_timed = false;
};

// What a node's kernel counted over the whole run, warm-up and profiled passes included (ABI 1.4
// kernel_statistics), with each table's hit rate derived where the kernel counts lookups and hits.
struct KernelStatisticsEntry {
  std::string node, op, device;
  std::vector<std::pair<std::string, double>> figures;
};
// `figures` with "table<t>.hit_rate" (hits / lookups) added after each table's hits.
std::vector<std::pair<std::string, double>> with_hit_rates(std::vector<std::pair<std::string, double>> figures);

// The pipeline a pipelined run followed (--pipeline; docs/PIPELINE_SCHEDULE.md).
struct PipelineStageEntry {
  int stage = 0;
  std::string device, first, last;  // first and last node
  int64_t nodes = 0;
  double fixed_us = 0, per_row_us = 0;  // its cost model, where measured
};
struct TimelineRow {
  int stage = 0;
  std::string device;
  int sub_batch = 0;
  int64_t rows = 0;
  double start_us = 0, end_us = 0;
};
struct PipelineEntry {
  int sub_batches = 0;  // 0: the run was not pipelined
  std::string decided_by;
  std::vector<PipelineStageEntry> stages;
  std::vector<TimelineRow> timeline;  // of the last timed run
  std::string stage_table, timeline_table;  // the text renderings of the same
};

struct RunReport {
  std::string version, abi;             // cagr-run's and the plugin ABI's
  std::vector<std::string> arguments;   // the flags given
  std::string model, model_name, source;
  size_t model_nodes = 0;
  int64_t batch = 0;                    // samples per batch (of the first batch)
  size_t batches = 0;
  MachineInfo machine;
  std::vector<PluginEntry> plugins;     // every plugin found
  int threads = 0;                      // --threads, 0 when not given

  std::string decided_by;               // hints, tune, plan
  std::vector<std::string> planning;    // what the planner measured
  std::vector<std::string> warnings;    // what a loaded plan could not follow
  std::vector<std::string> fusions;
  std::vector<PlacedNode> placement;
  std::string placement_table;          // the text rendering of the same (executor's plan_table)
  PipelineEntry pipeline;

  int64_t warmup = 0, runs = 0;
  double seconds = 0;
  double time_limit = 0;                // --time, 0 when not given
  bool resident_inputs = false, graph_capture = false, captured = false;
  LatencyStats latency;
  double throughput = 0;                // samples per second
  bool profiled = false;
  std::vector<ProfiledNode> profile;
  std::vector<KernelStatisticsEntry> kernel_statistics;

  std::string output_name;              // the first output, whose first values are shown
  std::vector<double> predictions;
  std::vector<double> labels;           // of those samples, when the data has labels
  std::string saved_inputs, saved_outputs, saved_plan, saved_profile;
};

// print_plan: include the placement table; show_predictions: how many predictions to print.
std::string render_text(const RunReport& report, bool print_plan);
std::string render_json(const RunReport& report);

}  // namespace cagr::run

// run_report.cpp - the text and JSON renderings of a RunReport.
#include "run_report.hpp"

#include <cstdarg>
#include <cstdio>

namespace cagr::run {

namespace {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, args);
  va_end(args);
  return out;
}

std::string gib(uint64_t bytes) { return format("%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0)); }

std::string options_text(const std::vector<std::pair<std::string, std::string>>& options) {
  std::string out;
  for (const auto& [key, value] : options) out += (out.empty() ? "" : ", ") + key + "=" + value;
  return out;
}

void stats_fields(JsonWriter& j, const LatencyStats& s) {
  j.field("mean", s.mean).field("min", s.min).field("max", s.max).field("p50", s.p50).field("p90", s.p90);
  j.field("p95", s.p95).field("p99", s.p99).field("p99.9", s.p999);
}

}  // namespace

std::vector<std::pair<std::string, double>> with_hit_rates(std::vector<std::pair<std::string, double>> figures) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, value] : figures) {
    out.emplace_back(name, value);
    const size_t dot = name.find('.');
    if (name.rfind("table", 0) != 0 || dot == std::string::npos || name.substr(dot) != ".hits") continue;
    for (const auto& [other, lookups] : figures)
      if (other == name.substr(0, dot) + ".lookups" && lookups > 0) out.emplace_back(name.substr(0, dot) + ".hit_rate", value / lookups);
  }
  return out;
}

std::string render_text(const RunReport& r, bool print_plan) {
  std::string out = format("cagr-run %s: model %s (%zu nodes) on %s\n", r.version.c_str(), r.model.c_str(), r.model_nodes,
                           r.source.c_str());
  out += format("batch %lld (%zu batch%s), %lld warm-up runs, %lld timed runs%s\n", (long long)r.batch, r.batches,
                r.batches == 1 ? "" : "es", (long long)r.warmup, (long long)r.runs,
                r.time_limit > 0 ? format(" (--time=%g)", r.time_limit).c_str() : "");
  out += "machine: " + r.machine.host + ", " + (r.machine.cpu.empty() ? "unknown CPU" : r.machine.cpu) + " (" +
         std::to_string(r.machine.logical_cpus) + " logical CPUs, " + gib(r.machine.memory_bytes) + "), " + r.machine.os + "\n";
  out += "plugins (ABI " + r.abi + "):";
  for (const PluginEntry& p : r.plugins) {
    if (p.status != "loaded") continue;
    out += "\n  " + p.name + " " + p.version + " (" + p.path + ")";
    if (!p.options.empty()) out += " [" + options_text(p.options) + "]";
    for (const DeviceEntry& d : p.devices) out += "\n    " + p.name + ":" + std::to_string(d.index) + " " + d.name;
  }
  out += "\n";
  if (!r.planning.empty()) {
    out += "\nplanned (forward-pass times on the first batch: the candidate placements, then each variant of a node):\n";
    for (const std::string& line : r.planning) out += "  " + line + "\n";
  }
  out += "placement decided by " + r.decided_by + "\n";
  if (print_plan) out += "\nplacement:\n" + r.placement_table + "\n";
  if (r.pipeline.sub_batches > 0) {
    if (print_plan) out += "\n" + r.pipeline.stage_table + "\ntimeline (the last timed run, us from its start):\n" + r.pipeline.timeline_table;
    else out += format("pipelined: %zu stage%s, %d sub-batch%s (decided by %s)\n", r.pipeline.stages.size(),
                       r.pipeline.stages.size() == 1 ? "" : "s", r.pipeline.sub_batches, r.pipeline.sub_batches == 1 ? "" : "es",
                       r.pipeline.decided_by.c_str());
  }

  if (!r.predictions.empty()) {
    out += "\npredictions (" + r.output_name + ", first batch):\n";
    for (size_t i = 0; i < r.predictions.size(); ++i) {
      out += format("  %3zu  %.6f", i, r.predictions[i]);
      if (i < r.labels.size()) out += format("   label %.0f", r.labels[i]);
      out += "\n";
    }
  }
  if (r.profiled) {
    out += format("\nper node (profiled pass, p50; timed by: device = events around the node, host = the stream\n"
                  "synchronised after it, which adds launch and wake-up latency):\n%-24s %-16s %-12s %-26s %10s  %s\n",
                  "node", "op", "device", "variant", "us", "timed by");
    for (const ProfiledNode& p : r.profile)
      out += format("%-24s %-16s %-12s %-26s %10.2f  %s\n", p.node.c_str(), p.op.c_str(), p.device.c_str(), p.variant.c_str(),
                    p.stats.p50, p.device_timed ? "device" : "host");
  }
  if (print_plan && !r.kernel_statistics.empty()) {
    out += "\nkernel statistics (counted by the plugin over the whole run, warm-up and profiled passes included):\n";
    for (const KernelStatisticsEntry& k : r.kernel_statistics) {
      out += "  " + k.node + " (" + k.op + ", " + k.device + "):";
      std::string table;  // figures of one table share a line
      for (const auto& [name, value] : k.figures) {
        const size_t dot = name.find('.');
        const std::string group = dot == std::string::npos ? "" : name.substr(0, dot);
        if (group != table || group.empty()) out += "\n    " + (group.empty() ? "" : group + ":");
        table = group;
        const std::string field = dot == std::string::npos ? name : name.substr(dot + 1);
        out += " " + field + " " + (field == "hit_rate" ? format("%.1f%%", 100 * value) : format("%.6g", value));
      }
      out += "\n";
    }
  }
  const char* what = r.resident_inputs ? "forward pass (inputs and outputs resident on the device)" : "end to end";
  const LatencyStats& s = r.latency;
  out += format("\nlatency, %s, %lld runs in %.2f s (us):\n  mean %.1f  min %.1f  max %.1f  p50 %.1f  p90 %.1f  p95 %.1f  "
                "p99 %.1f  p99.9 %.1f\n",
                what, (long long)r.runs, r.seconds, s.mean, s.min, s.max, s.p50, s.p90, s.p95, s.p99, s.p999);
  for (const auto& [path, what_saved] : {std::pair{r.saved_inputs, "inputs (first batch)"}, std::pair{r.saved_outputs, "outputs (first batch)"},
                                         std::pair{r.saved_plan, "plan"},
                                         std::pair{r.saved_profile, "id profile"}})
    if (!path.empty()) out += std::string("saved ") + what_saved + " to " + path + "\n";
  out += format("%s: %lld runs, latency p50 %.1f us, p99 %.1f us, throughput %.0f samples/s\n", what, (long long)r.runs, s.p50,
                s.p99, r.throughput);
  return out;
}

std::string render_json(const RunReport& r) {
  JsonWriter j;
  j.begin_object();
  j.field("tool", "cagr-run").field("version", r.version).field("abi", r.abi);
  j.strings("arguments", r.arguments);
  j.field("model", r.model).field("model_name", r.model_name).field("model_nodes", r.model_nodes);
  j.field("source", r.source).field("batch", r.batch).field("batches", r.batches);

  j.key("machine").begin_object();
  j.field("host", r.machine.host).field("os", r.machine.os).field("cpu", r.machine.cpu);
  j.field("logical_cpus", r.machine.logical_cpus).field("memory_bytes", static_cast<int64_t>(r.machine.memory_bytes));
  j.end_object();

  j.key("threads");
  if (r.threads > 0) j.value(r.threads);
  else j.null();
  j.key("plugins").begin_array();
  for (const PluginEntry& p : r.plugins) {
    j.begin_object().field("name", p.name).field("status", p.status).field("origin", p.origin).field("path", p.path);
    if (p.status == "loaded") {
      j.field("version", p.version).field("vendor", p.vendor).field("abi_built", p.abi_built).field("abi_negotiated", p.abi_negotiated);
    } else {
      j.field("reason", p.reason);
    }
    j.field("priority", p.priority);
    j.key("options").begin_object();
    for (const auto& [key, value] : p.options) j.field(key, value);
    j.end_object();
    j.key("devices").begin_array();
    for (const DeviceEntry& d : p.devices) {
      j.begin_object().field("index", d.index).field("name", d.name).field("kind", d.kind).field("compute_units", d.compute_units);
      j.field("peak_gflops_f32", d.gflops_f32).field("peak_gflops_f16", d.gflops_f16).field("memory_bandwidth_gbps", d.bandwidth_gbps);
      j.field("memory_bytes", static_cast<int64_t>(d.memory_bytes)).field("pci_bus_id", d.pci_bus_id).end_object();
    }
    j.end_array().end_object();
  }
  j.end_array();

  j.key("placement").begin_object();
  j.field("decided_by", r.decided_by);
  j.strings("planning", r.planning).strings("warnings", r.warnings).strings("fusions", r.fusions);
  j.key("nodes").begin_array();
  for (const PlacedNode& n : r.placement) {
    j.begin_object().field("node", n.node).field("op", n.op).field("device", n.device).field("variant", n.variant);
    j.field("estimated_us", n.estimated_us).field("view", n.view).field("output_shape", n.output_shape).end_object();
  }
  j.end_array().end_object();

  j.key("pipeline");
  if (r.pipeline.sub_batches == 0) {
    j.null();
  } else {
    j.begin_object().field("sub_batches", r.pipeline.sub_batches).field("decided_by", r.pipeline.decided_by);
    j.key("stages").begin_array();
    for (const PipelineStageEntry& s : r.pipeline.stages) {
      j.begin_object().field("stage", s.stage).field("device", s.device).field("first_node", s.first).field("last_node", s.last);
      j.field("nodes", s.nodes).field("fixed_us", s.fixed_us).field("per_row_us", s.per_row_us).end_object();
    }
    j.end_array().key("timeline").begin_array();
    for (const TimelineRow& t : r.pipeline.timeline) {
      j.begin_object().field("stage", t.stage).field("device", t.device).field("sub_batch", t.sub_batch).field("rows", t.rows);
      j.field("start_us", t.start_us).field("end_us", t.end_us).end_object();
    }
    j.end_array().end_object();
  }

  j.field("warmup", r.warmup).field("runs", r.runs).field("seconds", r.seconds);
  j.key("time_limit_s");
  if (r.time_limit > 0) j.value(r.time_limit);
  else j.null();
  j.field("resident_inputs", r.resident_inputs).field("graph_capture", r.graph_capture).field("graph_replayed", r.captured);
  j.key("latency_us").begin_object();
  stats_fields(j, r.latency);
  j.end_object();
  j.field("throughput_samples_per_s", r.throughput);

  j.key("nodes").begin_array();  // the per-node profile
  for (const ProfiledNode& p : r.profile) {
    j.begin_object().field("node", p.node).field("op", p.op).field("device", p.device).field("variant", p.variant);
    j.field("p50_us", p.stats.p50).field("runs", p.stats.count);
    stats_fields(j, p.stats);
    j.field("device_timed", p.device_timed).end_object();
  }
  j.end_array();

  j.key("kernel_statistics").begin_array();
  for (const KernelStatisticsEntry& k : r.kernel_statistics) {
    j.begin_object().field("node", k.node).field("op", k.op).field("device", k.device);
    j.key("figures").begin_object();
    for (const auto& [name, value] : k.figures) j.field(name, value);
    j.end_object().end_object();
  }
  j.end_array();

  j.key("predictions").begin_object().field("output", r.output_name);
  j.key("values").begin_array();
  for (double v : r.predictions) j.value(v);
  j.end_array().key("labels").begin_array();
  for (double v : r.labels) j.value(v);
  j.end_array().end_object();

  j.key("saved").begin_object();
  for (const auto& [name, path] : {std::pair{"inputs", r.saved_inputs}, std::pair{"outputs", r.saved_outputs}, std::pair{"plan", r.saved_plan},
                                      std::pair{"id_profile", r.saved_profile}}) {
    j.key(name);
    if (path.empty()) j.null();
    else j.value(path);
  }
  j.end_object();
  j.end_object();
  return j.text() + "\n";
}

}  // namespace cagr::run

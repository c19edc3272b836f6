// cagr-serve: a model served under load. Clients issue one-sample queries by Poisson processes at a
// target rate; a request queue with dynamic batching (--max-batch, --max-wait-us) feeds model
// instances (--instances: several per device, several devices); it reports queries/s achieved and
// the latency p50/p95/p99/p99.9, checks every answer against the serial run, and with --sweep finds
// the highest rate that keeps p99 under --p99-target-ms. docs/CLI.md describes the flags.
#include <gflags/gflags.h>

#include <cstdio>
#include <map>
#include <string>

#include "command_line.hpp"
#include "inputs.hpp"
#include "model_loading.hpp"
#include "planned_executor.hpp"
#include "registry.hpp"
#include "serving_trial.hpp"
#include "targets.hpp"

#ifndef CAGR_VERSION
#define CAGR_VERSION "unknown"
#endif

DEFINE_string(model, "", "model.xml or .onnx to serve: one query is one sample");
DEFINE_string(plugins, "auto", "auto (every plugin found) or plugin names (cpu,opencl)");
DEFINE_string(instances, "1",
              "model instances: N (each over every device found), or PLUGIN:N,... (N instances over that plugin's devices, "
              "e.g. cpu:2,opencl:1)");
DEFINE_bool(probe, true, "load each plugin in a child process first, so one that crashes is skipped");
DEFINE_string(rows, "dense", "the model's inputs with one row per sample (comma-separated)");
DEFINE_string(bags, "indices:offsets", "the model's embedding_bag input pairs INDICES:OFFSETS (comma-separated), table-major bags");
DEFINE_int64(samples, 512, "distinct samples the queries ask about (random ids within the model's tables)");
DEFINE_double(rate, 200, "queries per second (the start of the search with --sweep)");
DEFINE_int32(clients, 4, "client threads issuing queries (the rate is split among them)");
DEFINE_double(seconds, 5, "each trial issues queries for this long at most");
DEFINE_int64(max_queries, 20000, "each trial issues this many queries at most");
DEFINE_int64(max_batch, 64, "dynamic batching: most queries run together (1: no batching)");
DEFINE_int64(max_wait_us, 1000, "dynamic batching: the longest a query waits for others to join its batch");
DEFINE_uint64(seed, 0, "samples and arrivals are a function of the flags and the seed");
DEFINE_bool(sweep, false, "find the highest rate whose p99 latency is at most --p99-target-ms (doubling, then bisecting)");
DEFINE_double(p99_target_ms, 10, "with --sweep: the p99 latency to stay under");
DEFINE_int32(sweep_steps, 5, "with --sweep: bisection steps after the doubling");
DEFINE_double(max_rate, 1e6, "with --sweep: the doubling stops here (each trial's --max-queries bounds how far a late server falls behind)");

namespace {

using cagr::cli::UsageError;
namespace serve = cagr::serve;

cagr::cli::ToolHelp tool_help() {
  cagr::cli::ToolHelp h;
  h.name = "cagr-serve";
  h.summary = "Serves a model under Poisson load with dynamic batching; reports queries/s and latency percentiles.";
  h.usage = {"--model=FILE [--rate=Q] [--max-batch=B --max-wait-us=U] [--instances=SPEC] [--sweep --p99-target-ms=T]"};
  h.groups = {"Model and devices", "Load", "Batching", "Sweep", "Information"};
  h.flags = {{"model", "Model and devices", "FILE"},        {"plugins", "Model and devices", "LIST"},
             {"instances", "Model and devices", "SPEC"},    {"probe", "Model and devices", ""},
             {"rows", "Model and devices", "NAMES"},        {"bags", "Model and devices", "PAIRS"},
             {"samples", "Load", "N"},                      {"rate", "Load", "Q"},
             {"clients", "Load", "N"},                      {"seconds", "Load", "S"},
             {"max_queries", "Load", "N"},                  {"seed", "Load", "N"},
             {"max_batch", "Batching", "B"},                {"max_wait_us", "Batching", "U"},
             {"sweep", "Sweep", ""},                        {"p99_target_ms", "Sweep", "MS"},
             {"sweep_steps", "Sweep", "N"},                 {"max_rate", "Sweep", "Q"}};
  h.flags_defined_in = "cagr-serve";
  h.epilogue =
      "Examples:\n"
      "  cagr-serve --model=m.xml --plugins=cpu --rate=500 --seconds=5\n"
      "  cagr-serve --model=m.xml --plugins=cpu --sweep --p99-target-ms=10 --max-batch=1   # without batching\n"
      "  cagr-serve --model=m.xml --instances=cpu:2,opencl:1 --rate=300\n";
  return h;
}

void check_flags() {
  if (FLAGS_model.empty()) throw UsageError("--model is required");
  if (FLAGS_rate <= 0) throw UsageError("--rate=" + std::to_string(FLAGS_rate) + ": must be above 0");
  if (FLAGS_clients < 1) throw UsageError("--clients: must be at least 1");
  if (FLAGS_seconds <= 0) throw UsageError("--seconds: must be above 0");
  if (FLAGS_max_queries < 1) throw UsageError("--max-queries: must be at least 1");
  if (FLAGS_max_batch < 1) throw UsageError("--max-batch: must be at least 1");
  if (FLAGS_max_wait_us < 0) throw UsageError("--max-wait-us: must be at least 0");
  if (FLAGS_samples < 1) throw UsageError("--samples: must be at least 1");
  if (FLAGS_p99_target_ms <= 0) throw UsageError("--p99-target-ms: must be above 0");
  if (FLAGS_sweep_steps < 0) throw UsageError("--sweep-steps: must be at least 0");
  if (FLAGS_max_rate < FLAGS_rate) throw UsageError("--max-rate: must be at least --rate");
}

cagr::CandidateLayout sample_layout() {
  cagr::CandidateLayout layout;
  layout.rows = cagr::cli::comma_list(FLAGS_rows);
  for (const std::string& pair : cagr::cli::comma_list(FLAGS_bags)) {
    const size_t colon = pair.find(':');
    if (colon == std::string::npos) throw UsageError("--bags=" + FLAGS_bags + ": '" + pair + "' is not INDICES:OFFSETS");
    layout.bags.push_back({pair.substr(0, colon), pair.substr(colon + 1), 0});
  }
  return layout;
}

// --instances as (plugin or "" for every device, count) pairs.
std::vector<std::pair<std::string, int>> instance_groups() {
  std::vector<std::pair<std::string, int>> groups;
  for (const std::string& item : cagr::cli::comma_list(FLAGS_instances)) {
    const size_t colon = item.find(':');
    const std::string plugin = colon == std::string::npos ? "" : item.substr(0, colon);
    const std::string count = colon == std::string::npos ? item : item.substr(colon + 1);
    int n = 0;
    try {
      n = std::stoi(count);
    } catch (const std::exception&) {
    }
    if (n < 1) throw UsageError("--instances=" + FLAGS_instances + ": '" + item + "' is not N or PLUGIN:N with N >= 1");
    groups.emplace_back(plugin, n);
  }
  if (groups.empty()) throw UsageError("--instances is empty");
  return groups;
}

// The instances of each group: the first planned by the optimiser ("hints": the cost hints checked
// by timing) at a full batch, the others following its plan.
void make_instances(serve::Server& server, const std::vector<cagr::Target>& all) {
  const std::vector<cagr::HostTensor> full_batch = [&] {
    std::vector<int64_t> first;
    for (int64_t s = 0; s < FLAGS_max_batch; ++s) first.push_back(s % server.samples->count());
    return server.samples->select(first).inputs_of(*server.graph);
  }();
  for (const auto& [plugin, count] : instance_groups()) {
    std::vector<cagr::Target> targets;
    for (const cagr::Target& t : all)
      if (plugin.empty() || t.plugin->name() == plugin) targets.push_back(t);
    if (targets.empty()) throw UsageError("--instances: no device of a plugin named '" + plugin + "' was loaded");
    cagr::PlannedExecutor first = cagr::make_executor(*server.graph, targets, full_batch, std::nullopt, cagr::PlannerOptions{});
    const cagr::Plan plan = cagr::make_plan(*server.graph, *first.executor, "hints");
    server.instances.push_back(std::move(first.executor));
    for (int i = 1; i < count; ++i)
      server.instances.push_back(cagr::make_executor(*server.graph, targets, full_batch, plan, std::nullopt).executor);
  }
}

serve::TrialResult trial(serve::Server& server, double rate) {
  serve::TrialSettings s;
  s.rate = rate;
  s.clients = FLAGS_clients;
  s.seconds = FLAGS_seconds;
  s.max_queries = FLAGS_max_queries;
  s.max_batch = FLAGS_max_batch;
  s.max_wait = std::chrono::microseconds(FLAGS_max_wait_us);
  s.seed = FLAGS_seed;
  serve::TrialResult r = serve::run_trial(server, s);
  std::printf("rate %9.1f q/s: achieved %9.1f q/s  p50 %8.3f  p95 %8.3f  p99 %8.3f  p99.9 %8.3f ms  mean batch %6.2f  "
              "%lld queries  check %s (lost %lld, repeated %lld, wrong %lld, max diff %.2g)\n",
              rate, r.queries_per_second, r.latency_ms.p50, r.latency_ms.p95, r.latency_ms.p99, r.latency_ms.p999,
              r.batches ? static_cast<double>(r.answered) / static_cast<double>(r.batches) : 0.0,
              static_cast<long long>(r.issued), r.checked_ok() ? "passed" : "FAILED", static_cast<long long>(r.lost),
              static_cast<long long>(r.repeated), static_cast<long long>(r.wrong), r.max_difference);
  std::fflush(stdout);
  return r;
}

int run() {
  cagr::DiscoveryOptions discovery;
  discovery.selection = FLAGS_plugins;
  discovery.probe = FLAGS_probe;
  const cagr::Registry registry = cagr::Registry::discover(discovery);
  const std::vector<cagr::Target> targets = cagr::targets_of(registry);
  if (targets.empty()) throw std::runtime_error("no plugin loaded a device:\n" + cagr::format_plugin_list(registry));
  const cagr::Graph graph = cagr::load_any_model(FLAGS_model);

  std::map<std::string, cagr::HostTensor> named;
  const std::vector<cagr::HostTensor> drawn = cagr::run::random_inputs(graph, FLAGS_samples, FLAGS_seed);
  for (size_t i = 0; i < drawn.size(); ++i) named[graph.tensor(graph.inputs()[i]).name] = drawn[i];
  const cagr::Candidates samples(sample_layout(), std::move(named));

  serve::Server server;
  server.graph = &graph;
  server.samples = &samples;
  make_instances(server, targets);
  // The serial run: each sample alone, one after another, on the first instance.
  for (int64_t s = 0; s < samples.count(); ++s)
    server.serial.push_back(serve::answers_of(graph, server.instances[0]->run(samples.select({s}).inputs_of(graph)), 1)[0]);
  std::printf("cagr-serve: %s, %zu instance(s), %d client(s), max batch %lld, max wait %lld us, %lld samples\n",
              FLAGS_model.c_str(), server.instances.size(), FLAGS_clients, static_cast<long long>(FLAGS_max_batch),
              static_cast<long long>(FLAGS_max_wait_us), static_cast<long long>(FLAGS_samples));

  if (!FLAGS_sweep) return trial(server, FLAGS_rate).checked_ok() ? 0 : 1;

  // Double while p99 holds and the server keeps up (answers 90% of the rate), then bisect between
  // the last rate that held and the first that did not.
  auto holds = [&](double rate, bool& checked) {
    const serve::TrialResult r = trial(server, rate);
    checked = checked && r.checked_ok();
    return r.checked_ok() && r.answered > 0 && r.latency_ms.p99 <= FLAGS_p99_target_ms && r.queries_per_second >= 0.9 * rate;
  };
  bool checked = true;
  double good = 0, bad = FLAGS_rate;
  while (holds(bad, checked)) {
    good = bad;
    if (bad * 2 > FLAGS_max_rate) {
      std::printf("highest rate with p99 <= %g ms: %.1f q/s (the highest tried: --max-rate=%g)\n", FLAGS_p99_target_ms, good,
                  FLAGS_max_rate);
      return checked ? 0 : 1;
    }
    bad *= 2;
  }
  for (int i = 0; i < FLAGS_sweep_steps; ++i) {
    const double mid = (good + bad) / 2;
    (holds(mid, checked) ? good : bad) = mid;
  }
  if (good > 0)
    std::printf("highest rate with p99 <= %g ms: %.1f q/s (%.1f q/s did not hold)\n", FLAGS_p99_target_ms, good, bad);
  else
    std::printf("no rate tried kept p99 <= %g ms (the lowest tried: %.1f q/s)\n", FLAGS_p99_target_ms, bad);
  return checked ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    switch (cagr::cli::parse(argc, argv, tool_help())) {
      case cagr::cli::Action::help: std::fputs(cagr::cli::help_text(tool_help()).c_str(), stdout); return 0;
      case cagr::cli::Action::version: std::puts("cagr-serve " CAGR_VERSION); return 0;
      case cagr::cli::Action::run: break;
    }
    check_flags();
    return run();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "cagr-serve: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cagr-serve: %s\n", e.what());
    return 1;
  }
}

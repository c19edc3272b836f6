// pipeline_bench - the cross-device pipeline (docs/PIPELINE_SCHEDULE.md) against its baselines, in
// interleaved rounds: a zoo model placed with its embedding lookups (and everything before them) on
// one device and the rest on another, run (a) unpipelined (the executor, a tensor crossing devices
// through host memory behind a synchronisation), (b) in k sub-batches with the stages one after
// another on one thread (what sub-batching alone gives: smaller working sets), (c) pipelined in k
// sub-batches (a thread per stage: (c) against (b) is what the overlap gives), beside (d) each
// device alone. Prints a markdown table: per contender the median pass of
// each round, the range over rounds, samples/s, and ratios to the unpipelined split and to each
// device alone (the best round of each; load from other processes only adds time).
//
// --model: a zoo model's name, or a model.xml / .onnx file.
//
//   pipeline_bench --plugins=build/plugins --model=dlrm_avazu_sample --batch=16384
//                  --embeddings=cpu --rest=opencl --sub_batches=2,4,8,auto --rounds=5 --passes=5
//
// --save_plan=FILE writes the split placement with the last pipeline of --sub_batches as a plan, for
// `cagr-run --load-plan=FILE` (which then runs it pipelined).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "executor.hpp"
#include "inputs.hpp"
#include "model_loading.hpp"
#include "model_zoo.hpp"
#include "pipeline_runner.hpp"
#include "plan.hpp"
#include "registry.hpp"
#include "split_placement.hpp"
#include "targets.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> a{{"plugins", "build/plugins"}, {"model", "dlrm_avazu_sample"}, {"batch", "16384"},
                                       {"embeddings", "cpu"},        {"rest", "opencl"},               {"sub_batches", "2,4,8,auto"},
                                       {"rounds", "5"},              {"passes", "5"},                  {"save_plan", ""}};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos || !a.count(arg.substr(2, eq - 2)))
      throw std::invalid_argument("unknown argument " + arg + " (flags: --plugins --model --batch --embeddings --rest --sub_batches --rounds --passes --save_plan)");
    a[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  return a;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

int target_of(const std::vector<cagr::Target>& targets, const std::string& plugin) {
  for (size_t t = 0; t < targets.size(); ++t)
    if (targets[t].plugin->name() == plugin) return static_cast<int>(t);
  throw std::invalid_argument("no device of plugin '" + plugin + "' was loaded");
}

struct Contender {
  std::string name;
  std::function<void()> pass;
  std::vector<double> round_ms;  // the median pass of each round
};

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
  const auto args = parse(argc, argv);
  const int64_t batch = std::stoll(args.at("batch"));
  const int rounds = std::stoi(args.at("rounds")), passes = std::stoi(args.at("passes"));
  cagr::DiscoveryOptions o;
  o.paths = {args.at("plugins")};
  o.use_env = false;
  o.use_default_folders = false;
  const cagr::Registry registry = cagr::Registry::discover(o);
  const std::vector<cagr::Target> all = cagr::targets_of(registry);
  const int emb = target_of(all, args.at("embeddings")), rest = target_of(all, args.at("rest"));
  const std::vector<cagr::Target> targets{all[static_cast<size_t>(emb)], all[static_cast<size_t>(rest)]};

  std::fprintf(stderr, "building %s ...\n", args.at("model").c_str());
  const std::string& model = args.at("model");
  const bool file = model.size() > 4 && (model.substr(model.size() - 4) == ".xml" || model.substr(model.size() - 5) == ".onnx");
  const cagr::Graph graph = file ? cagr::load_any_model(model) : cagr::zoo::find_model(model).build(2026);
  const std::vector<cagr::HostTensor> inputs = cagr::run::random_inputs(graph, batch, 7);
  std::vector<cagr::Dims> dims;
  for (const auto& t : inputs) dims.push_back(t.dims);

  std::vector<std::unique_ptr<cagr::Executor>> executors;
  std::vector<Contender> contenders;
  for (int t = 0; t < 2; ++t) {  // each device alone, by cost hints, where it runs every node
    cagr::CostHintPlacement hints;
    try {
      executors.push_back(std::make_unique<cagr::Executor>(graph, std::vector<cagr::Target>{targets[static_cast<size_t>(t)]}, dims, hints));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "no contender \"%s alone\": %s\n", targets[static_cast<size_t>(t)].label().c_str(), e.what());
      continue;
    }
    cagr::Executor* e = executors.back().get();
    contenders.push_back({targets[static_cast<size_t>(t)].label() + " alone", [e, &inputs] { e->run(inputs); }, {}});
  }
  cagr::EmbeddingSplitPlacement split(0, 1);
  executors.push_back(std::make_unique<cagr::Executor>(graph, targets, dims, split));
  cagr::Executor* whole = executors.back().get();
  const std::string split_name = "split " + targets[0].label() + " | " + targets[1].label();
  contenders.push_back({split_name + ", unpipelined", [whole, &inputs] { whole->run(inputs); }, {}});
  // One runner (its stages compiled once, the tables held once) serves every count; `auto` is the
  // count chosen from the stages' costs measured on these inputs.
  std::fprintf(stderr, "pipeline: measuring the stages ...\n");
  const cagr::PipelinedModel pipeline = cagr::make_pipeline(*whole, inputs, cagr::PipelineRequest{});
  cagr::PipelineRunner* runner = pipeline.runner.get();
  cagr::PipelineSchedule saved = pipeline.schedule;
  for (const std::string& text : split_list(args.at("sub_batches"))) {
    const bool chosen = text == "auto";
    const int k = chosen ? pipeline.schedule.sub_batches : std::stoi(text);
    const std::string count = std::to_string(k) + " sub-batches" + (chosen ? " (auto)" : "");
    contenders.push_back({split_name + ", " + count + " one after another", [runner, &inputs, k] { runner->run(inputs, k, false); }, {}});
    contenders.push_back({split_name + ", pipelined, " + count, [runner, &inputs, k] { runner->run(inputs, k); }, {}});
    saved.sub_batches = k;
    saved.decided_by = chosen ? "measured" : "given";
  }
  if (!args.at("save_plan").empty())  // with the measured costs and the count of the last of --sub_batches
    cagr::save_plan(cagr::make_plan(graph, *whole, "hints", &saved), args.at("save_plan"));
  for (Contender& c : contenders) c.pass();  // warm-up
  for (int r = 0; r < rounds; ++r)
    for (Contender& c : contenders) {
      std::fprintf(stderr, "round %d/%d: %s\n", r + 1, rounds, c.name.c_str());
      std::vector<double> ms;
      for (int p = 0; p < passes; ++p) {
        const auto t0 = Clock::now();
        c.pass();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      c.round_ms.push_back(median(ms));
    }

  auto best = [](const Contender& c) { return *std::min_element(c.round_ms.begin(), c.round_ms.end()); };
  std::printf("model %s, batch %lld, %d rounds x %d passes (the median pass of each round)\n\n", args.at("model").c_str(),
              static_cast<long long>(batch), rounds, passes);
  std::printf("| contender | ms per pass, best round (range) | samples/s | vs unpipelined split | vs %s alone | vs %s alone |\n",
              targets[0].label().c_str(), targets[1].label().c_str());
  std::printf("|---|---|---|---|---|---|\n");
  // A contender's best round over `b` ms, or "-" where a device alone could not run the model.
  auto against = [&](const std::string& name, double b) {
    for (const Contender& c : contenders)
      if (c.name == name) return std::to_string(best(c) / b).substr(0, 4) + "x";
    return std::string("-");
  };
  for (const Contender& c : contenders) {
    const double b = best(c);
    std::printf("| %s | %.2f (%.2f-%.2f) | %.0f | %s | %s | %s |\n", c.name.c_str(), b,
                *std::min_element(c.round_ms.begin(), c.round_ms.end()), *std::max_element(c.round_ms.begin(), c.round_ms.end()),
                static_cast<double>(batch) / b * 1000.0, against(split_name + ", unpipelined", b).c_str(),
                against(targets[0].label() + " alone", b).c_str(), against(targets[1].label() + " alone", b).c_str());
  }
  std::printf("\nauto: %s", cagr::stage_table(pipeline.schedule, whole->graph(), whole->targets()).c_str());
  std::printf("\ntimeline of the last pass:\n%s", cagr::timeline_table(runner->timeline()).c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "pipeline_bench: %s\n", e.what());
  return 1;
}

// cagr-rank: runs a multi-stage ranking pipeline (pipeline.xml, docs/PIPELINES.md) over queries of
// N candidates each and reports the latency per query (p50 ... p99.9) and queries per second;
// --save-ranking keeps every query's final ranking. docs/CLI.md describes the flags.
#include <gflags/gflags.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "command_line.hpp"
#include "inputs.hpp"
#include "model_loading.hpp"
#include "npz.hpp"
#include "ranking_pipeline.hpp"
#include "registry.hpp"
#include "report.hpp"
#include "targets.hpp"

#ifndef CAGR_VERSION
#define CAGR_VERSION "unknown"
#endif

DEFINE_string(pipeline, "", "the pipeline.xml to run");
DEFINE_string(inputs, "",
              "the queries: .npz files of one query's candidates each (cagr-gen --model=M --format=npz --batch-size=N), "
              "given as the prefix PREFIX (reading PREFIX-000000.npz, PREFIX-000001.npz, ...) or one file");
DEFINE_int64(candidates, 1024, "without --inputs: candidates per random query (ids uniform within stage 1's tables)");
DEFINE_int64(queries, 100, "queries to rank (with --inputs: at most this many files, reused in turn when there are fewer)");
DEFINE_uint64(seed, 0, "without --inputs: query q is drawn with seed + q");
DEFINE_string(plugins, "auto", "auto (every plugin found) or plugin names (cpu,opencl); each stage's devices= picks among them");
DEFINE_int32(threads, 0, "threads of the CPU plugin's kernels (its option 'threads'); default: OpenMP's");
DEFINE_bool(probe, true, "load each plugin in a child process first, so one that crashes is skipped");
DEFINE_bool(overlap, true,
            "stream the queries through the stages, a thread per stage (stage 1 scores query q+1 while stage 2 ranks "
            "query q); --nooverlap: each query through every stage before the next starts");
DEFINE_int32(queue, 1, "with --overlap: queries that may wait between two stages");
DEFINE_int64(warmup, 2, "untimed queries first (one after another)");
DEFINE_string(save_ranking, "", "write every query's ranking to this .npz: ids [Q, k] (candidate indices) and scores [Q, k]");
DEFINE_string(report, "text", "text or json");
DEFINE_string(report_file, "", "write the report to this file instead of stdout");
DEFINE_bool(progress, true, "show a progress line on stderr while ranking takes more than a second");

namespace {

namespace fs = std::filesystem;
using cagr::cli::given;
using cagr::cli::UsageError;
using Clock = std::chrono::steady_clock;

// The query files of --inputs: the file itself, or PREFIX-000000.npz ... up to the first missing.
std::vector<std::string> query_files() {
  if (fs::is_regular_file(FLAGS_inputs)) return {FLAGS_inputs};
  std::vector<std::string> files;
  for (int64_t q = 0; q < FLAGS_queries; ++q) {
    char name[32];
    std::snprintf(name, sizeof name, "-%06lld.npz", static_cast<long long>(q));
    if (!fs::is_regular_file(FLAGS_inputs + name)) break;
    files.push_back(FLAGS_inputs + name);
  }
  return files;
}

// Every query's candidates, read or drawn before anything is timed.
std::vector<cagr::Candidates> load_queries(const cagr::RankingPipelineDescription& pipeline) {
  std::vector<cagr::Candidates> queries;
  const cagr::Graph first = cagr::load_any_model(pipeline.stages.front().model);
  auto named = [&first](const std::vector<cagr::HostTensor>& inputs) {
    std::map<std::string, cagr::HostTensor> by_name;
    for (size_t i = 0; i < inputs.size(); ++i) by_name[first.tensor(first.inputs()[i]).name] = inputs[i];
    return by_name;
  };
  if (FLAGS_inputs.empty()) {
    for (int64_t q = 0; q < FLAGS_queries; ++q)
      queries.emplace_back(pipeline.candidates, named(cagr::run::random_inputs(first, FLAGS_candidates, FLAGS_seed + q)));
    return queries;
  }
  std::vector<std::string> wanted = pipeline.candidates.rows;
  for (const auto& bags : pipeline.candidates.bags) wanted.insert(wanted.end(), {bags.indices, bags.offsets});
  for (const std::string& file : query_files()) {
    const auto arrays = cagr::data::read_npz(file);
    std::map<std::string, cagr::HostTensor> inputs;
    for (const std::string& name : wanted) {
      const auto it = arrays.find(name);
      if (it == arrays.end()) throw std::runtime_error(file + ": no array named '" + name + "' (a candidate input of " + pipeline.path + ")");
      inputs[name] = cagr::run::tensor_from_npy(it->second, name, file);
    }
    try {
      queries.emplace_back(pipeline.candidates, std::move(inputs));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(file + ": " + e.what());
    }
  }
  if (queries.empty()) throw std::runtime_error("--inputs=" + FLAGS_inputs + ": no " + FLAGS_inputs + "-000000.npz");
  return queries;
}

cagr::Registry discover_plugins() {
  cagr::DiscoveryOptions options;
  options.probe = FLAGS_probe;
  options.selection = FLAGS_plugins;
  if (FLAGS_threads > 0) options.plugin_options["cpu"] = {{"threads", std::to_string(FLAGS_threads)}};
  cagr::cli::ProgressLine progress("cagr-rank", FLAGS_progress);
  options.progress = [&progress](const std::string& step) { progress.update(step); };
  return cagr::Registry::discover(options);
}

struct Timed {
  std::vector<double> latency_us;  // per query
  std::vector<cagr::RankedCandidates> rankings;
  double seconds = 0;
};

Timed rank_all(cagr::RankingPipeline& pipeline, const std::vector<cagr::Candidates>& queries) {
  Timed t;
  t.latency_us.resize(static_cast<size_t>(FLAGS_queries));
  t.rankings.resize(static_cast<size_t>(FLAGS_queries));
  cagr::cli::ProgressLine progress("cagr-rank", FLAGS_progress);
  std::mutex progress_mutex;
  auto done = [&](int64_t q, cagr::RankedCandidates ranking, double us) {
    t.latency_us[static_cast<size_t>(q)] = us;
    t.rankings[static_cast<size_t>(q)] = std::move(ranking);
    std::lock_guard<std::mutex> lock(progress_mutex);
    progress.update("ranked " + std::to_string(q + 1) + " of " + std::to_string(FLAGS_queries) + " queries");
  };
  const auto start = Clock::now();
  if (FLAGS_overlap) {
    int64_t next = 0;
    pipeline.stream(
        [&]() -> std::optional<cagr::Candidates> {
          if (next == FLAGS_queries) return std::nullopt;
          return queries[static_cast<size_t>(next++) % queries.size()];
        },
        done, FLAGS_queue);
  } else {
    for (int64_t q = 0; q < FLAGS_queries; ++q) {
      const auto t0 = Clock::now();
      cagr::RankedCandidates ranking = pipeline.rank(queries[static_cast<size_t>(q) % queries.size()]);
      done(q, std::move(ranking), std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
  }
  t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  progress.clear();
  return t;
}

void save_ranking(const Timed& t) {
  const size_t k = t.rankings.front().ids.size();
  std::vector<int64_t> ids;
  std::vector<float> scores;
  for (const auto& r : t.rankings) {
    if (r.ids.size() != k) throw std::runtime_error("--save-ranking: the queries' rankings differ in length (" + std::to_string(k) + ", " + std::to_string(r.ids.size()) + ")");
    ids.insert(ids.end(), r.ids.begin(), r.ids.end());
    scores.insert(scores.end(), r.scores.begin(), r.scores.end());
  }
  const std::vector<int64_t> shape{static_cast<int64_t>(t.rankings.size()), static_cast<int64_t>(k)};
  cagr::data::write_npz(FLAGS_save_ranking, {{"ids", cagr::data::NpyArray::from<int64_t>(shape, ids)},
                                             {"scores", cagr::data::NpyArray::from<float>(shape, scores)}});
}

std::string render(const cagr::RankingPipeline& pipeline, const std::vector<cagr::Candidates>& queries, const Timed& t) {
  const cagr::run::LatencyStats s = cagr::run::latency_stats(t.latency_us);
  const double qps = t.seconds > 0 ? static_cast<double>(FLAGS_queries) / t.seconds : 0;
  const std::string source = FLAGS_inputs.empty() ? "random ids, seed " + std::to_string(FLAGS_seed) : FLAGS_inputs;
  if (FLAGS_report == "json") {
    cagr::run::JsonWriter j;
    j.begin_object().field("tool", "cagr-rank").field("version", CAGR_VERSION).field("pipeline", pipeline.description().path);
    j.field("source", source).field("candidates", queries.front().count()).field("queries", FLAGS_queries);
    j.field("overlap", FLAGS_overlap).field("queue", FLAGS_queue).field("machine", cagr::run::machine_info().cpu);
    j.key("stages").begin_array();
    for (const auto& st : pipeline.stages()) {
      j.begin_object().field("name", st.name).field("model", st.model).field("keep", st.keep).field("decided_by", st.decided_by);
      j.strings("devices", st.devices).end_object();
    }
    j.end_array();
    j.key("latency_us").begin_object().field("mean", s.mean).field("min", s.min).field("max", s.max).field("p50", s.p50);
    j.field("p90", s.p90).field("p95", s.p95).field("p99", s.p99).field("p99.9", s.p999).end_object();
    j.field("seconds", t.seconds).field("queries_per_s", qps);
    j.field("saved_ranking", FLAGS_save_ranking).end_object();
    return j.text() + "\n";
  }
  char line[512];
  std::string text = "pipeline " + pipeline.description().path + " (" + pipeline.description().name + ")\n";
  for (const auto& st : pipeline.stages()) {
    std::string devices;
    for (const auto& d : st.devices) devices += (devices.empty() ? "" : ",") + d;
    std::snprintf(line, sizeof line, "  stage %-12s %s on %s, keeps %s (placement: %s)\n", st.name.c_str(), st.model.c_str(),
                  devices.c_str(), st.keep > 0 ? std::to_string(st.keep).c_str() : "all", st.decided_by.c_str());
    text += line;
  }
  std::snprintf(line, sizeof line, "queries: %lld of %lld candidates (%s), %s\n", static_cast<long long>(FLAGS_queries),
                static_cast<long long>(queries.front().count()), source.c_str(),
                FLAGS_overlap ? ("streamed, a thread per stage, queue " + std::to_string(FLAGS_queue)).c_str() : "one after another");
  text += line;
  std::snprintf(line, sizeof line,
                "latency per query (us): mean %.1f  min %.1f  max %.1f  p50 %.1f  p90 %.1f  p95 %.1f  p99 %.1f  p99.9 %.1f\n", s.mean,
                s.min, s.max, s.p50, s.p90, s.p95, s.p99, s.p999);
  text += line;
  std::snprintf(line, sizeof line, "ranked %lld queries in %.3f s: latency p50 %.1f us, p99 %.1f us, throughput %.2f queries/s\n",
                static_cast<long long>(FLAGS_queries), t.seconds, s.p50, s.p99, qps);
  text += line;
  const cagr::RankedCandidates& first = t.rankings.front();
  text += "query 0, best first:";
  for (size_t i = 0; i < std::min<size_t>(first.ids.size(), 5); ++i) {
    std::snprintf(line, sizeof line, " %lld (%.4f)", static_cast<long long>(first.ids[i]), first.scores[i]);
    text += line;
  }
  text += first.ids.size() > 5 ? " ...\n" : "\n";
  if (!FLAGS_save_ranking.empty()) text += "saved the rankings to " + FLAGS_save_ranking + "\n";
  return text;
}

int run() {
  const cagr::RankingPipelineDescription description = cagr::load_ranking_pipeline(FLAGS_pipeline);
  const std::vector<cagr::Candidates> queries = load_queries(description);
  const cagr::Registry registry = discover_plugins();
  const std::vector<cagr::Target> targets = cagr::targets_of(registry);
  if (targets.empty()) throw std::runtime_error("no device to run on: no plugin loaded (cagr-run --list-plugins says why)");
  cagr::RankingPipeline pipeline(description, targets, queries.front());
  for (int64_t i = 0; i < FLAGS_warmup; ++i) pipeline.rank(queries[static_cast<size_t>(i) % queries.size()]);
  const Timed timed = rank_all(pipeline, queries);
  if (!FLAGS_save_ranking.empty()) save_ranking(timed);
  const std::string text = render(pipeline, queries, timed);
  if (!FLAGS_report_file.empty()) {
    std::ofstream file(FLAGS_report_file, std::ios::binary);
    if (!(file << text).flush()) throw std::runtime_error("--report-file=" + FLAGS_report_file + ": cannot write");
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return 0;
}

void check_flags() {
  auto at_least = [](const char* flag, int64_t value, int64_t least) {
    if (value < least)
      throw UsageError("--" + std::string(flag) + "=" + std::to_string(value) + ": must be at least " + std::to_string(least));
  };
  if (FLAGS_pipeline.empty()) throw UsageError("--pipeline is required; cagr-rank --help lists the flags");
  if (!fs::is_regular_file(FLAGS_pipeline)) throw UsageError("--pipeline=" + FLAGS_pipeline + ": no such file");
  at_least("candidates", FLAGS_candidates, 1);
  at_least("queries", FLAGS_queries, 1);
  at_least("queue", FLAGS_queue, 1);
  at_least("warmup", FLAGS_warmup, 0);
  if (given("threads") && (FLAGS_threads < 1 || FLAGS_threads > 4096))
    throw UsageError("--threads=" + std::to_string(FLAGS_threads) + ": must be 1 to 4096");
  if (!FLAGS_inputs.empty() && given("candidates"))
    throw UsageError("--candidates draws random queries; with --inputs the files hold the candidates: give one");
  if (!FLAGS_inputs.empty() && !fs::is_regular_file(FLAGS_inputs) && !fs::is_regular_file(FLAGS_inputs + "-000000.npz"))
    throw UsageError("--inputs=" + FLAGS_inputs + ": neither a file nor the prefix of " + FLAGS_inputs + "-000000.npz");
  if (given("queue") && !FLAGS_overlap) throw UsageError("--queue applies to --overlap (streamed queries) only");
  if (FLAGS_report != "text" && FLAGS_report != "json") throw UsageError("--report=" + FLAGS_report + ": the reports are text and json");
  for (const auto& [flag, path] : {std::pair{"report-file", FLAGS_report_file}, std::pair{"save-ranking", FLAGS_save_ranking}}) {
    const fs::path folder = fs::path(path).parent_path();
    if (!path.empty() && !folder.empty() && !fs::is_directory(folder))
      throw UsageError("--" + std::string(flag) + "=" + path + ": folder " + folder.string() + " does not exist");
  }
}

const cagr::cli::ToolHelp& tool_help() {
  static const cagr::cli::ToolHelp help = [] {
    cagr::cli::ToolHelp h;
    h.name = "cagr-rank";
    h.summary = "rank queries of N candidates through a multi-stage pipeline (pipeline.xml), and report latency per query and queries/s";
    h.usage = {"--pipeline=XML [--inputs=PREFIX | --candidates=N] [--queries=Q] [flags]", "--version | --help"};
    const std::string queries = "Pipeline and queries", plugins = "Plugins", running = "Running", report = "Report and files";
    h.groups = {queries, plugins, running, report};
    h.flags = {{"pipeline", queries, "XML"},     {"inputs", queries, "PREFIX"}, {"candidates", queries, "N"},
               {"queries", queries, "Q"},        {"seed", queries, "N"},        {"plugins", plugins, "LIST"},
               {"threads", plugins, "N"},        {"probe", plugins, ""},        {"overlap", running, ""},
               {"queue", running, "N"},          {"warmup", running, "N"},      {"progress", running, ""},
               {"report", report, "FORMAT"},     {"report_file", report, "FILE"}, {"save_ranking", report, "NPZ"}};
    h.flags_defined_in = "tools/cagr-rank/";
    h.information = {{"--version", "print cagr-rank's version and exit"}, {"-h, --help", "print this help and exit"}};
    h.epilogue =
        "Examples:\n"
        "  cagr-rank --pipeline=recpipe/pipeline.xml --candidates=1024 --queries=200\n"
        "  cagr-gen --model=heavy.onnx --format=npz --batch-size=4096 --samples=409600 --output=q\n"
        "  cagr-rank --pipeline=recpipe/pipeline.xml --inputs=q --queries=100 --save-ranking=ranked.npz\n"
        "Exit status: 0 done; 1 the run failed (the message says why); 2 the command line is wrong.\n"
        "docs/PIPELINES.md describes pipeline.xml; docs/CLI.md the flags.\n";
    return h;
  }();
  return help;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    switch (cagr::cli::parse(argc, argv, tool_help())) {
      case cagr::cli::Action::help: std::fputs(cagr::cli::help_text(tool_help()).c_str(), stdout); return 0;
      case cagr::cli::Action::version: std::puts("cagr-rank " CAGR_VERSION); return 0;
      case cagr::cli::Action::run: break;
    }
    check_flags();
    return run();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "cagr-rank: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cagr-rank: %s\n", e.what());
    return 1;
  }
}

// ranking_pipeline.cpp - the stages of a ranking pipeline, run one after another or streamed with a
// thread per stage.
#include "ranking_pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "model_loading.hpp"
#include "planned_executor.hpp"

namespace cagr {
namespace {

// A queue holding at most `capacity` items between two stage threads: push waits while it is full,
// pop while it is empty. close() ends it once drained (pop then gives nullopt); abort() ends it at
// once for both sides (an error elsewhere).
template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  bool push(T item) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return aborted_ || items_.size() < capacity_; });
    if (aborted_) return false;
    items_.push_back(std::move(item));
    changed_.notify_all();
    return true;
  }
  std::optional<T> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return aborted_ || closed_ || !items_.empty(); });
    if (aborted_ || items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    changed_.notify_all();
    return item;
  }
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }
  void abort() {
    std::lock_guard<std::mutex> lock(mutex_);
    aborted_ = true;
    changed_.notify_all();
  }

 private:
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<T> items_;
  bool closed_ = false, aborted_ = false;
};

// The targets a stage's `devices` name: a target's label ("opencl:0") or its plugin's name.
std::vector<Target> stage_targets(const RankingStage& stage, const std::vector<Target>& targets, const std::string& where) {
  if (stage.devices.empty()) return targets;
  std::vector<Target> chosen;
  for (const std::string& device : stage.devices) {
    size_t matched = 0;
    for (const Target& t : targets) {
      if (t.label() != device && t.plugin->name() != device) continue;
      ++matched;
      const bool twice = std::any_of(chosen.begin(), chosen.end(), [&](const Target& c) { return c.label() == t.label(); });
      if (!twice) chosen.push_back(t);
    }
    if (matched == 0) {
      std::string known;
      for (const Target& t : targets) known += (known.empty() ? "" : ", ") + t.label();
      throw std::runtime_error(where + "device '" + device + "': no loaded plugin offers it (devices here: " +
                               (known.empty() ? "none" : known) + ")");
    }
  }
  return chosen;
}

}  // namespace

std::vector<int64_t> best_candidates(const float* scores, int64_t n, int64_t k) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  auto better = [scores](int64_t a, int64_t b) {
    const float x = scores[a], y = scores[b];
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);
    if (!std::isnan(x) && x != y) return x > y;
    return a < b;
  };
  std::partial_sort(order.begin(), order.begin() + k, order.end(), better);
  order.resize(static_cast<size_t>(k));
  return order;
}

struct RankingPipeline::Stage {
  RankingStage description;
  std::string where;  // "pipeline.xml:7: stage 'ranker': "
  Graph graph;        // as loaded: its inputs name what the candidates must give
  PlannedExecutor planned;
  size_t score_output = 0;
  std::vector<std::string> devices;
};

struct RankingPipeline::Work {
  int64_t query = 0;
  Candidates candidates;
  std::vector<int64_t> ids;  // of the candidates, in the query
  Clock::time_point started;
  RankedCandidates ranking;  // after the last stage
};

RankingPipeline::RankingPipeline(const RankingPipelineDescription& description, const std::vector<Target>& targets,
                                 const Candidates& example)
    : description_(description) {
  std::vector<int64_t> all(static_cast<size_t>(example.count()));
  std::iota(all.begin(), all.end(), 0);
  Work work{0, example, all, Clock::now(), {}};
  for (const RankingStage& d : description_.stages) {
    auto stage = std::make_unique<Stage>();
    stage->description = d;
    stage->where = description_.path + ":" + std::to_string(d.line) + ": stage '" + d.name + "': ";
    try {
      stage->graph = load_any_model(d.model);
    } catch (const std::exception& e) {
      throw std::runtime_error(stage->where + e.what());
    }
    std::string outputs;
    bool found = false;
    for (size_t i = 0; i < stage->graph.outputs().size(); ++i) {
      const std::string& name = stage->graph.tensor(stage->graph.outputs()[i]).name;
      outputs += (outputs.empty() ? "" : ", ") + name;
      if (name == d.score) {
        stage->score_output = i;
        found = true;
      }
    }
    if (!found) throw std::runtime_error(stage->where + "score '" + d.score + "' is not an output of " + d.model + " (its outputs: " + outputs + ")");
    const std::vector<Target> placed_on = stage_targets(d, targets, stage->where);
    if (placed_on.empty()) throw std::runtime_error(stage->where + "no device to run on (no plugin loaded)");
    for (const Target& t : placed_on) stage->devices.push_back(t.label());
    std::vector<HostTensor> inputs;
    try {
      inputs = work.candidates.inputs_of(stage->graph);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(stage->where + d.model + ": " + e.what() + " (pipeline.xml's <candidates> names them)");
    }
    // Several devices: the planner splits the model between them as cagr-run's default does.
    std::optional<PlannerOptions> planner;
    if (placed_on.size() > 1) planner.emplace();
    stage->planned = make_executor(stage->graph, placed_on, inputs, std::nullopt, planner);
    stages_.push_back(std::move(stage));
    run_stage(stages_.size() - 1, work);  // the next stage compiles at the shapes this one passes on
  }
}

RankingPipeline::~RankingPipeline() = default;

void RankingPipeline::run_stage(size_t s, Work& work) {
  Stage& stage = *stages_[s];
  const int64_t n = work.candidates.count();
  const int64_t keep = stage.description.keep > 0 ? stage.description.keep : n;
  if (keep > n)
    throw std::runtime_error(stage.where + "keeps " + std::to_string(keep) + " candidates, and query " + std::to_string(work.query) +
                             " gives it " + std::to_string(n));
  const std::vector<HostTensor> outputs = stage.planned.executor->run(work.candidates.inputs_of(stage.graph));
  const HostTensor& score = outputs[stage.score_output];
  if (score.dtype != CAGR_DTYPE_F32 || score.numel() != n)
    throw std::runtime_error(stage.where + "score '" + stage.description.score + "' holds " + std::to_string(score.numel()) + " " +
                             dtype_name(score.dtype) + " values for " + std::to_string(n) + " candidates (expected one f32 each)");
  const std::vector<int64_t> best = best_candidates(score.as<float>(), n, keep);
  std::vector<int64_t> ids(best.size());
  for (size_t i = 0; i < best.size(); ++i) ids[i] = work.ids[static_cast<size_t>(best[i])];
  // The description's stage count, not stages_'s: while the constructor builds the stages, a stage
  // run there to shape the next one is not the last (its kept candidates must shrink with its ids).
  if (s + 1 < description_.stages.size()) {
    work.candidates = work.candidates.select(best);
  } else {
    work.ranking.scores.resize(best.size());
    for (size_t i = 0; i < best.size(); ++i) work.ranking.scores[i] = score.as<float>()[best[i]];
    work.ranking.ids = ids;
  }
  work.ids = std::move(ids);
}

RankedCandidates RankingPipeline::rank(const Candidates& query) {
  timeline_.clear();
  std::vector<int64_t> all(static_cast<size_t>(query.count()));
  std::iota(all.begin(), all.end(), 0);
  Work work{0, query, all, Clock::now(), {}};
  for (size_t s = 0; s < stages_.size(); ++s) {
    const Clock::time_point start = Clock::now();
    run_stage(s, work);
    timeline_.push_back({0, static_cast<int>(s), start, Clock::now()});
  }
  return std::move(work.ranking);
}

void RankingPipeline::stream(const std::function<std::optional<Candidates>()>& next,
                             const std::function<void(int64_t, RankedCandidates, double)>& done, int queue) {
  if (queue < 1) throw std::invalid_argument("RankingPipeline::stream: queue must be at least 1");
  const size_t n = stages_.size();
  std::vector<std::unique_ptr<BoundedQueue<Work>>> inbox;  // inbox[s]: the queries waiting for stage s
  for (size_t s = 0; s < n; ++s) inbox.push_back(std::make_unique<BoundedQueue<Work>>(static_cast<size_t>(queue)));
  std::vector<std::vector<Span>> spans(n);
  std::mutex error_mutex;
  std::exception_ptr error;
  auto fail = [&](std::exception_ptr e) {
    {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = e;
    }
    for (auto& q : inbox) q->abort();
  };
  std::vector<std::thread> threads;
  for (size_t s = 0; s < n; ++s) {
    threads.emplace_back([&, s] {
      try {
        while (std::optional<Work> work = inbox[s]->pop()) {
          const Clock::time_point start = Clock::now();
          if (s == 0) work->started = start;
          run_stage(s, *work);
          const Clock::time_point end = Clock::now();
          spans[s].push_back({work->query, static_cast<int>(s), start, end});
          if (s + 1 == n) {
            done(work->query, std::move(work->ranking), std::chrono::duration<double, std::micro>(end - work->started).count());
          } else if (!inbox[s + 1]->push(std::move(*work))) {
            return;
          }
        }
        if (s + 1 < n) inbox[s + 1]->close();
      } catch (...) {
        fail(std::current_exception());
      }
    });
  }
  try {
    for (int64_t q = 0;; ++q) {
      std::optional<Candidates> query = next();
      if (!query) break;
      std::vector<int64_t> all(static_cast<size_t>(query->count()));
      std::iota(all.begin(), all.end(), 0);
      if (!inbox[0]->push(Work{q, std::move(*query), std::move(all), Clock::now(), {}})) break;
    }
    inbox[0]->close();
  } catch (...) {
    fail(std::current_exception());
  }
  for (std::thread& t : threads) t.join();
  timeline_.clear();
  for (const auto& stage_spans : spans) timeline_.insert(timeline_.end(), stage_spans.begin(), stage_spans.end());
  if (error) std::rethrow_exception(error);
}

std::vector<RankingPipeline::StageInfo> RankingPipeline::stages() const {
  std::vector<StageInfo> info;
  for (const auto& s : stages_)
    info.push_back({s->description.name, s->description.model, s->planned.decided_by, s->devices, s->description.keep});
  return info;
}

}  // namespace cagr

// ranking_pipeline.hpp - multi-stage recommendation (RecPipe): each stage of a pipeline.xml
// (ranking_pipeline_format.hpp) is a model in its own Executor on its own devices; a stage scores the
// candidates it is given, keeps the best `keep` and hands them, cut out of the query's inputs, to the
// next stage. Queries can be streamed: a thread per stage with a bounded queue between stages, so
// stage 1 scores query q+1 while stage 2 ranks query q.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "candidates.hpp"
#include "executor.hpp"
#include "ranking_pipeline_format.hpp"
#include "targets.hpp"

namespace cagr {

// The candidates a pipeline returns for a query, best first: indices into the query's candidates,
// with the last stage's scores.
struct RankedCandidates {
  std::vector<int64_t> ids;
  std::vector<float> scores;
};

// The `k` best of `n` scores, best first; equal scores in candidate order, NaN below every number.
// k is at most n.
std::vector<int64_t> best_candidates(const float* scores, int64_t n, int64_t k);

class RankingPipeline {
 public:
  using Clock = std::chrono::steady_clock;

  // Loads every stage's model and places it on the targets its `devices` name (all of `targets`
  // where none), compiled at the shapes of `example` (stage 1) and of its best candidates (the
  // stages after). Throws std::runtime_error naming the pipeline file and stage: a model lacking the
  // score output or an input the candidates hold, a device no plugin offers, a keep above N.
  RankingPipeline(const RankingPipelineDescription& description, const std::vector<Target>& targets, const Candidates& example);
  ~RankingPipeline();
  RankingPipeline(const RankingPipeline&) = delete;
  RankingPipeline& operator=(const RankingPipeline&) = delete;

  // One query through every stage, one after another, on the calling thread.
  RankedCandidates rank(const Candidates& query);

  // Queries streamed through the stages, a thread per stage, at most `queue` queries waiting between
  // two stages: `next` (called on this thread) gives the queries in order, nullopt when there are
  // no more; `done` gets each query's ranking in order, on the last stage's thread, with the time
  // from the first stage starting the query to the last finishing it. The first error of any stage
  // stops the stream and is thrown here.
  void stream(const std::function<std::optional<Candidates>()>& next,
              const std::function<void(int64_t query, RankedCandidates ranking, double latency_us)>& done, int queue = 1);

  // When each stage worked on each query (the last rank or stream; stream's, from every thread).
  struct Span {
    int64_t query = 0;
    int stage = 0;
    Clock::time_point start, end;
  };
  const std::vector<Span>& timeline() const { return timeline_; }

  struct StageInfo {
    std::string name, model, decided_by;
    std::vector<std::string> devices;  // the targets it was placed on, by label
    int64_t keep = 0;
  };
  std::vector<StageInfo> stages() const;
  const RankingPipelineDescription& description() const { return description_; }

 private:
  struct Stage;
  struct Work;  // a query between two stages
  // Stage `s` on `work`: scores its candidates and keeps the best (the next stage's input), or, for the
  // last stage, puts the ranking in `work`.
  void run_stage(size_t s, Work& work);

  RankingPipelineDescription description_;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::vector<Span> timeline_;
};

}  // namespace cagr

// serving_trial.hpp - one trial of a model server under load: client threads issue queries of one
// sample each, arriving by Poisson processes at a target rate (open loop: a late server does not
// slow the clients), into a BatchingQueue; model instances (an Executor and a thread each) take
// batches, run them and record each query's outputs and when it was done. Bounded by a number of
// queries and a time. Every answer is then checked against the serial run: each query answered
// once, with its own sample's outputs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "candidates.hpp"
#include "executor.hpp"
#include "graph.hpp"
#include "report.hpp"

namespace cagr::serve {

// A query's answer: every output's row for its sample, as floats, outputs one after another.
using Answer = std::vector<float>;

// The rows of a batch's outputs (each f32 with `batch` rows); throws naming an output that is not.
std::vector<Answer> answers_of(const Graph& graph, const std::vector<HostTensor>& outputs, int64_t batch);

struct Server {
  const Graph* graph = nullptr;
  const Candidates* samples = nullptr;           // the samples queries ask about
  std::vector<std::unique_ptr<Executor>> instances;
  std::vector<Answer> serial;                    // each sample's answer run alone (batch 1)
};

struct TrialSettings {
  double rate = 100;          // queries per second, all clients together
  int clients = 4;
  double seconds = 5;         // no query is issued after this
  int64_t max_queries = 10000;
  int64_t max_batch = 64;     // 1: no dynamic batching
  std::chrono::microseconds max_wait{1000};
  uint64_t seed = 0;
};

struct TrialResult {
  int64_t issued = 0, answered = 0, batches = 0;
  double seconds = 0;         // from the first arrival due to the last answer
  double queries_per_second = 0;
  run::LatencyStats latency_ms;    // from when each query was due to when its answer was ready
  int64_t lost = 0, repeated = 0, wrong = 0;  // against the serial run
  double max_difference = 0;  // largest |batched - serial| over all answers
  bool checked_ok() const { return lost == 0 && repeated == 0 && wrong == 0; }
};

TrialResult run_trial(Server& server, const TrialSettings& settings);

}  // namespace cagr::serve

// serving_trial.cpp - see serving_trial.hpp.
#include "serving_trial.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "batching_queue.hpp"

namespace cagr::serve {

namespace {

// What an instance recorded for a query.
struct Record {
  std::atomic<int> answers{0};
  Clock::time_point due, done;
  Answer answer;
};

// Whether a batched answer is the serial one, to float rounding (oneDNN may sum in another order
// at another batch size).
bool same_answer(const Answer& got, const Answer& want, double& max_difference) {
  if (got.size() != want.size()) return false;
  bool same = true;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    max_difference = std::max(max_difference, d);
    same = same && d <= 1e-5 * std::max(1.0, std::fabs(static_cast<double>(want[i])));
  }
  return same;
}

}  // namespace

std::vector<Answer> answers_of(const Graph& graph, const std::vector<HostTensor>& outputs, int64_t batch) {
  std::vector<Answer> answers(static_cast<size_t>(batch));
  for (size_t o = 0; o < outputs.size(); ++o) {
    const HostTensor& out = outputs[o];
    const std::string& name = graph.tensor(graph.outputs()[o]).name;
    if (out.dtype != CAGR_DTYPE_F32 || out.dims.empty() || out.dims[0] != batch)
      throw std::invalid_argument("output '" + name + "' is not f32 with one row per query [" + dims_to_string(out.dims) + "]");
    const int64_t row = element_count(out.dims) / batch;
    const float* values = out.as<float>();
    for (int64_t q = 0; q < batch; ++q) answers[q].insert(answers[q].end(), values + q * row, values + (q + 1) * row);
  }
  return answers;
}

TrialResult run_trial(Server& server, const TrialSettings& settings) {
  const int64_t pool = server.samples->count();
  std::vector<Record> records(static_cast<size_t>(settings.max_queries));
  BatchingQueue queue(settings.max_batch, settings.max_wait);
  std::atomic<int64_t> next_id{0}, issued{0}, batches{0};
  std::mutex failure_mutex;
  std::string failure;

  const Clock::time_point start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(settings.seconds));
  std::vector<std::thread> instances;
  for (auto& executor : server.instances) {
    instances.emplace_back([&, instance = executor.get()] {
      try {
        for (std::vector<Query> batch = queue.take(); !batch.empty(); batch = queue.take()) {
          std::vector<int64_t> chosen;
          for (const Query& q : batch) chosen.push_back(q.sample);
          const std::vector<HostTensor> outputs = instance->run(server.samples->select(chosen).inputs_of(*server.graph));
          std::vector<Answer> answers = answers_of(*server.graph, outputs, static_cast<int64_t>(batch.size()));
          const Clock::time_point done = Clock::now();
          for (size_t k = 0; k < batch.size(); ++k) {
            Record& r = records[static_cast<size_t>(batch[k].id)];
            if (r.answers.fetch_add(1) == 0) {
              r.due = batch[k].arrival;
              r.done = done;
              r.answer = std::move(answers[k]);
            }
          }
          ++batches;
        }
      } catch (const std::exception& e) {
        const std::lock_guard lock(failure_mutex);
        if (failure.empty()) failure = e.what();
        queue.close();
      }
    });
  }
  std::vector<std::thread> clients;
  for (int c = 0; c < settings.clients; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937_64 rng(settings.seed * 1000003 + static_cast<uint64_t>(c));
      std::exponential_distribution<double> gap(settings.rate / settings.clients);
      Clock::time_point due = start;
      for (;;) {
        due += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng)));
        if (due >= end) return;
        const int64_t id = next_id++;
        if (id >= settings.max_queries) return;
        std::this_thread::sleep_until(due);
        queue.push({id, id % pool, due});
        ++issued;
      }
    });
  }
  for (auto& t : clients) t.join();
  queue.close();
  for (auto& t : instances) t.join();
  if (!failure.empty()) throw std::runtime_error("a model instance failed: " + failure);

  TrialResult result;
  result.issued = issued.load();
  result.batches = batches.load();
  std::vector<double> latencies;
  Clock::time_point last = start;
  for (int64_t id = 0; id < result.issued; ++id) {
    const Record& r = records[static_cast<size_t>(id)];
    const int answers = r.answers.load();
    if (answers == 0) {
      ++result.lost;
      continue;
    }
    if (answers > 1) ++result.repeated;
    ++result.answered;
    last = std::max(last, r.done);
    latencies.push_back(std::chrono::duration<double, std::milli>(r.done - r.due).count());
    if (!same_answer(r.answer, server.serial[static_cast<size_t>(id % pool)], result.max_difference)) ++result.wrong;
  }
  result.latency_ms = run::latency_stats(std::move(latencies));
  result.seconds = std::chrono::duration<double>(last - start).count();
  result.queries_per_second = result.seconds > 0 ? static_cast<double>(result.answered) / result.seconds : 0;
  return result;
}

}  // namespace cagr::serve

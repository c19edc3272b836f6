// batching_queue.hpp - the request queue in front of a server's model instances, with dynamic
// batching: an instance takes up to max_batch queries at once, waiting for more only while the
// oldest waiting query has waited less than max_wait (max_batch 1: no batching).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace cagr::serve {

using Clock = std::chrono::steady_clock;

struct Query {
  int64_t id = 0;       // issue order, 0, 1, ...
  int64_t sample = 0;   // which of the prepared samples it asks about
  Clock::time_point arrival;  // when it was due to arrive (the Poisson schedule)
};

class BatchingQueue {
 public:
  BatchingQueue(int64_t max_batch, std::chrono::microseconds max_wait) : max_batch_(max_batch), max_wait_(max_wait) {}

  void push(const Query& query);
  // No more queries will come: take() hands out what is left, then returns empty batches.
  void close();
  // The next batch, in arrival order; empty once the queue is closed and drained.
  std::vector<Query> take();

 private:
  const int64_t max_batch_;
  const std::chrono::microseconds max_wait_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Query> waiting_;
  bool closed_ = false;
};

}  // namespace cagr::serve

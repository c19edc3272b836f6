// batching_queue.cpp - see batching_queue.hpp.
#include "batching_queue.hpp"

#include <algorithm>

namespace cagr::serve {

void BatchingQueue::push(const Query& query) {
  {
    const std::lock_guard lock(mutex_);
    waiting_.push_back(query);
  }
  changed_.notify_all();
}

void BatchingQueue::close() {
  {
    const std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

std::vector<Query> BatchingQueue::take() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !waiting_.empty() || closed_; });
  if (waiting_.empty()) return {};
  // Wait for a full batch until the oldest query's wait is up (the deadline moves with the oldest,
  // should another instance take it meanwhile).
  while (!closed_ && static_cast<int64_t>(waiting_.size()) < max_batch_) {
    if (waiting_.empty()) {
      changed_.wait(lock, [this] { return !waiting_.empty() || closed_; });
      continue;
    }
    const Clock::time_point deadline = waiting_.front().arrival + max_wait_;
    if (Clock::now() >= deadline) break;
    changed_.wait_until(lock, deadline);
  }
  if (waiting_.empty()) return {};
  const auto n = std::min<size_t>(waiting_.size(), static_cast<size_t>(max_batch_));
  std::vector<Query> batch(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
  waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
  lock.unlock();
  changed_.notify_all();
  return batch;
}

}  // namespace cagr::serve

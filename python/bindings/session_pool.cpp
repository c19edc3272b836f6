// session_pool.cpp - see session_pool.hpp.
#include "session_pool.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "c_api_error.hpp"

namespace cagr_python {

namespace {

// An empty temporary file of our own, for a plan.
std::string temporary_plan_file() {
  std::string path = (std::filesystem::temp_directory_path() / "cagr-python-plan-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) return {};
  close(fd);
  return path;
}

}  // namespace

SessionPool::SessionPool(cagr_model* model, SessionSettings settings) : model_(model), settings_(std::move(settings)) {
  planned_ = settings_.plan_path.has_value();
  idle_.push_back(make_session());
  made_ = 1;
}

SessionPool::~SessionPool() {
  for (cagr_session* s : idle_) cagr_session_destroy(s);
  if (!shared_plan_file_.empty()) std::remove(shared_plan_file_.c_str());
}

cagr_session* SessionPool::make_session() const {
  cagr_session_options options{};
  options.struct_size = sizeof options;
  options.optimizer = settings_.optimizer ? settings_.optimizer->c_str() : nullptr;
  options.plan_path = settings_.plan_path ? settings_.plan_path->c_str() : nullptr;
  options.policy_path = settings_.policy_path ? settings_.policy_path->c_str() : nullptr;
  options.table_precision = settings_.table_precision ? settings_.table_precision->c_str() : nullptr;
  cagr_session* session = nullptr;
  check(cagr_session_create(model_, &options, &session));
  return session;
}

SessionPool::Lease SessionPool::borrow() {
  std::unique_lock lock(mutex_);
  returned_.wait(lock, [this] { return !idle_.empty() || planned_ || made_ == 0; });
  if (!idle_.empty()) {
    cagr_session* s = idle_.back();
    idle_.pop_back();
    return Lease(*this, s);
  }
  ++made_;
  lock.unlock();
  try {
    return Lease(*this, make_session());
  } catch (...) {
    lock.lock();
    --made_;
    returned_.notify_one();
    throw;
  }
}

void SessionPool::give_back(cagr_session* session) {
  {
    const std::lock_guard lock(mutex_);
    if (!planned_) share_plan_of(session);
    idle_.push_back(session);
  }
  returned_.notify_one();
}

void SessionPool::share_plan_of(cagr_session* session) {
  if (*cagr_session_plan(session) == '\0') return;  // not compiled yet (its first run failed before planning)
  const std::string file = temporary_plan_file();
  if (file.empty() || cagr_session_save_plan(session, file.c_str()) != CAGR_API_OK) {
    // Without the file, each new session plans by itself: runs stay right, if not bit-identical.
    if (!file.empty()) std::remove(file.c_str());
    planned_ = true;
    return;
  }
  shared_plan_file_ = file;
  settings_.plan_path = file;
  planned_ = true;
}

}  // namespace cagr_python

// session_pool.hpp - the sessions of one model, lent to the Python threads that run it.
//
// A session is one thread's at a time (cagr.h, Threads), while a model may be shared. A run borrows
// an idle session, or makes a new one when every session is busy, and gives it back afterwards; so
// the pool holds as many sessions as runs ever overlapped, and a single thread reuses one session
// (the most recently returned first: it has compiled, and its memory is warm).
//
// Every session follows one plan, so that all threads get the same answers bit for bit and the
// optimizer's timing runs once: until the first session has planned (at its first run) it is the
// only one, and others wait for it; its plan is then written to a temporary file, which the
// sessions made after it load (cagr_session_options.plan_path). A plan given by the caller is
// followed by all from the start.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cagr.h"

namespace cagr_python {

// How each session decides its plan (cagr_session_options).
struct SessionSettings {
  std::optional<std::string> optimizer;
  std::optional<std::string> plan_path;
  std::optional<std::string> policy_path;
  std::optional<std::string> table_precision;  // embedding tables' dtype: f32, f16, bf16, u8
};

class SessionPool {
 public:
  // Makes the first session at once, so that bad settings fail here (Error), not at the first run.
  SessionPool(cagr_model* model, SessionSettings settings);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // A borrowed session, given back when the lease ends.
  class Lease {
   public:
    Lease(SessionPool& pool, cagr_session* session) : pool_(pool), session_(session) {}
    ~Lease() { pool_.give_back(session_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    cagr_session* get() const { return session_; }

   private:
    SessionPool& pool_;
    cagr_session* session_;
  };

  // Throws Error where a new session cannot be made.
  Lease borrow();

 private:
  cagr_session* make_session() const;
  void give_back(cagr_session* session);
  void share_plan_of(cagr_session* session);  // with mutex_ held

  cagr_model* model_;
  SessionSettings settings_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<cagr_session*> idle_;
  size_t made_ = 0;
  bool planned_ = false;         // settings_.plan_path holds the plan every new session follows
  std::string shared_plan_file_;  // the temporary file of the first session's plan, if written
};

}  // namespace cagr_python

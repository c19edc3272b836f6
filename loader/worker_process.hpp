// worker_process.hpp - a child process that runs another program (fork, then exec at once: the
// host may have threads, OpenMP pools and GPU runtimes, none of which survive a fork without exec),
// in its own process group so that ending it ends whatever it started, and how it ended in words.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace cagr {

// "SIGSEGV: Segmentation fault" for a signal number.
std::string signal_text(int sig);

class WorkerProcess {
 public:
  // Starts `program` with `args`; `inherited` are descriptors of this process that the child gets
  // as 3, 4, ... (in order), everything else being close-on-exec. Throws std::runtime_error.
  static WorkerProcess start(const std::string& program, const std::vector<std::string>& args, const std::vector<int>& inherited);
  WorkerProcess(WorkerProcess&& other) noexcept;
  WorkerProcess& operator=(WorkerProcess&&) = delete;
  ~WorkerProcess();  // kills and reaps it if still there

  pid_t pid() const { return pid_; }
  // Kills the process group (SIGKILL).
  void kill();
  // Waits for the process to end; how it ended: "crashed (SIGSEGV: ...)", "exited with status 3".
  std::string wait();
  // The same, killing it first if it has not ended within `patience`.
  std::string wait(std::chrono::milliseconds patience);

 private:
  explicit WorkerProcess(pid_t pid) : pid_(pid) {}
  void describe(int wait_status);  // sets ended_
  pid_t pid_ = -1;
  std::string ended_;  // wait()'s answer once reaped
};

}  // namespace cagr

// worker_process.cpp - fork + exec of a worker program, kill, reap.
#include "worker_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace cagr {

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  const char* description = strsignal(sig);
  return (abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig)) +
         (description ? std::string(": ") + description : std::string());
}

WorkerProcess WorkerProcess::start(const std::string& program, const std::vector<std::string>& args, const std::vector<int>& inherited) {
  // Everything the child needs is made before the fork: between fork and exec it may only make
  // async-signal-safe calls (another thread of the host may hold the allocator's lock).
  std::vector<std::string> strings{program};
  strings.insert(strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    // dup2 onto 3, 4, ...: first out of that range, so one source is never overwritten by another.
    std::vector<int>::size_type i = 0;
    int moved[16];
    for (; i < inherited.size() && i < 16; ++i) moved[i] = fcntl(inherited[i], F_DUPFD_CLOEXEC, 3 + static_cast<int>(inherited.size()));
    for (i = 0; i < inherited.size() && i < 16; ++i) dup2(moved[i], 3 + static_cast<int>(i));  // dup2 clears close-on-exec
    execv(argv[0], argv.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also here: whichever runs first, the group exists before a kill
  return WorkerProcess(pid);
}

WorkerProcess::WorkerProcess(WorkerProcess&& other) noexcept : pid_(std::exchange(other.pid_, -1)), ended_(std::move(other.ended_)) {}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0 && ended_.empty()) {
    kill();
    wait();
  }
}

void WorkerProcess::kill() {
  if (pid_ > 0 && ended_.empty()) ::kill(-pid_, SIGKILL);
}

std::string WorkerProcess::wait() {
  if (pid_ <= 0 || !ended_.empty()) return ended_;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  describe(status);
  return ended_;
}

std::string WorkerProcess::wait(std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (pid_ > 0 && ended_.empty() && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) describe(status);
    else if (done < 0 && errno != EINTR) break;
    else usleep(2000);
  }
  kill();
  return wait();
}

void WorkerProcess::describe(int status) {
  if (WIFSIGNALED(status)) ended_ = "crashed (" + signal_text(WTERMSIG(status)) + ")";
  else if (WEXITSTATUS(status) == 127) ended_ = "could not start (exit status 127: the program is missing or not runnable)";
  else ended_ = "exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace cagr

// probe.cpp - the child-process probe: fork, load, report over a pipe, classify how the child ended.
#include "probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cagr {

namespace {

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// The child's side. Writes "ok <devices>" or "failed <message>" and never returns.
[[noreturn]] void run_child(int fd, const std::string& path, const Options& options) {
  // Crash signals take their default action, so that the parent sees the signal even when the host
  // runs under a sanitizer (which turns a SIGSEGV into a report and exit(1)).
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, SIG_DFL);
  std::string report;
  int code = 0;
  try {
    int devices = 0;
    std::string note;
    {
      std::shared_ptr<Plugin> plugin = Plugin::load(path, options, [&note](cagr_log_level, const std::string&, const std::string& message) {
        if (auto reason = no_device_note(message)) note = *reason;
      });
      devices = plugin->device_count();
    }  // shutdown and dlclose are probed too
    report = "ok " + std::to_string(devices) + (devices == 0 && !note.empty() ? "\n" + note : std::string());
  } catch (const std::exception& e) {
    report = std::string("failed ") + e.what();
    code = 1;
  }
  write_all(fd, report);
  // _exit: the parent's atexit handlers and static destructors are the parent's business.
  _exit(code);
}

// Reads the child's report until it closes the pipe or `deadline` passes; false on timeout.
bool read_report(int fd, std::chrono::steady_clock::time_point deadline, std::string* report) {
  char chunk[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return ready < 0;  // poll error: treat as end of report rather than hang
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    report->append(chunk, static_cast<size_t>(n));
  }
}

int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  const char* description = strsignal(sig);
  return (abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig)) +
         (description ? std::string(": ") + description : std::string());
}

}  // namespace

ProbeResult probe_plugin(const std::string& path, const Options& options, std::chrono::milliseconds timeout) {
  ProbeResult result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.message = path + ": probe failed: pipe: " + std::strerror(errno);
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    result.message = path + ": probe failed: fork: " + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    setpgid(0, 0);  // its own process group, so a timeout kills whatever the plugin started too
    close(fds[0]);
    run_child(fds[1], path, options);
  }
  setpgid(pid, pid);  // also here: whichever of the two runs first, the group exists before a kill
  close(fds[1]);
  std::string report;
  const bool finished = read_report(fds[0], deadline, &report);
  close(fds[0]);
  if (!finished) kill(-pid, SIGKILL);
  const int status = wait_for(pid);

  if (!finished) {
    result.outcome = ProbeResult::Outcome::timed_out;
    result.message = path + ": timed out during probe (no answer after " + std::to_string(timeout.count()) + " ms)";
  } else if (WIFSIGNALED(status)) {
    result.outcome = ProbeResult::Outcome::crashed;
    result.message = path + ": crashed during probe (" + signal_text(WTERMSIG(status)) + ")";
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && report.rfind("ok ", 0) == 0) {
    result.outcome = ProbeResult::Outcome::ok;
    result.devices = std::stoi(report.substr(3));
    const size_t newline = report.find('\n');
    if (newline != std::string::npos) result.no_device_note = report.substr(newline + 1);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && report.rfind("failed ", 0) == 0) {
    result.outcome = ProbeResult::Outcome::failed;
    result.message = report.substr(7);
  } else {
    // The plugin ended the process itself (exit() from init, a sanitizer report...).
    result.outcome = ProbeResult::Outcome::crashed;
    result.message = path + ": crashed during probe (exited with status " + std::to_string(WEXITSTATUS(status)) + ")";
  }
  return result;
}

}  // namespace cagr

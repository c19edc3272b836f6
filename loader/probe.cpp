// probe.cpp - the child-process probe: fork, load, report over a pipe, classify how the child ended.
#include "probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "worker_process.hpp"

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

int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// One child being probed: its pipe, its report so far, its deadline.
struct RunningProbe {
  size_t request = 0;
  pid_t pid = -1;
  int fd = -1;
  std::chrono::steady_clock::time_point deadline;
  std::string report;
};

// Forks the child of `request`; a probe that cannot start is a failed result instead.
std::optional<RunningProbe> start_probe(size_t index, const ProbeRequest& request, std::chrono::milliseconds timeout,
                                        ProbeResult* failed) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    failed->message = request.path + ": probe failed: pipe: " + std::strerror(errno);
    return std::nullopt;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    failed->message = request.path + ": probe failed: fork: " + std::strerror(errno);
    return std::nullopt;
  }
  if (pid == 0) {
    setpgid(0, 0);  // its own process group, so a timeout kills whatever the plugin started too
    close(fds[0]);
    run_child(fds[1], request.path, request.options);
  }
  setpgid(pid, pid);  // also here: whichever of the two runs first, the group exists before a kill
  close(fds[1]);
  return RunningProbe{index, pid, fds[0], std::chrono::steady_clock::now() + timeout, {}};
}

// How the child ended, from its report and wait status; `finished` false: it was killed at its deadline.
ProbeResult classify(const std::string& path, const std::string& report, int status, bool finished, std::chrono::milliseconds timeout) {
  ProbeResult result;
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

}  // namespace

ProbeResult probe_plugin(const std::string& path, const Options& options, std::chrono::milliseconds timeout) {
  return probe_plugins({ProbeRequest{path, options}}, timeout, 1).front();
}

std::vector<ProbeResult> probe_plugins(const std::vector<ProbeRequest>& requests, std::chrono::milliseconds timeout,
                                       unsigned parallel, const std::function<void(const std::string&)>& finished) {
  std::vector<ProbeResult> results(requests.size());
  std::vector<RunningProbe> running;
  size_t next = 0, done = 0;
  const auto end = [&](size_t r, bool answered) {
    RunningProbe probe = running[r];
    running.erase(running.begin() + static_cast<std::ptrdiff_t>(r));
    close(probe.fd);
    if (!answered) kill(-probe.pid, SIGKILL);
    const int status = wait_for(probe.pid);
    results[probe.request] = classify(requests[probe.request].path, probe.report, status, answered, timeout);
    if (finished)
      finished(std::filesystem::path(requests[probe.request].path).filename().string() + " probed, " + std::to_string(++done) +
               " of " + std::to_string(requests.size()));
  };
  while (next < requests.size() || !running.empty()) {
    while (next < requests.size() && running.size() < std::max(parallel, 1u)) {
      if (auto probe = start_probe(next, requests[next], timeout, &results[next])) running.push_back(std::move(*probe));
      ++next;
    }
    if (running.empty()) continue;
    // Wait for a report to come, or for the nearest deadline.
    auto nearest = running.front().deadline;
    for (const RunningProbe& p : running) nearest = std::min(nearest, p.deadline);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(nearest - std::chrono::steady_clock::now());
    std::vector<pollfd> fds;
    for (const RunningProbe& p : running) fds.push_back(pollfd{p.fd, POLLIN, 0});
    const int ready = poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    // Back to front, so that ending one leaves the indices of those still to look at.
    for (size_t r = running.size(); r-- > 0;) {
      if (ready > 0 && (fds[r].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char chunk[4096];
        const ssize_t n = read(running[r].fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) {
          running[r].report.append(chunk, static_cast<size_t>(n));
          continue;
        }
        end(r, true);  // closed (or a read error: treated as the end of the report rather than a hang)
      } else if (ready < 0) {
        end(r, true);  // poll failed: the end of the report rather than a hang
      } else if (std::chrono::steady_clock::now() >= running[r].deadline) {
        end(r, false);
      }
    }
  }
  return results;
}

}  // namespace cagr

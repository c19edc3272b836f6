// ipc_channel.hpp - messages over a stream socket between the host and a plugin's worker: each
// one a length and its bytes. Sending never raises SIGPIPE (a worker that died is an answer, not a
// reason for the host to die); receiving waits at most until a deadline, so a worker that hangs is
// noticed.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace cagr::ipc {

class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}  // takes the socket
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // False when the other end is gone.
  bool send(const std::string& message);
  enum class Received { message, closed, timed_out };
  // One whole message into `message`; no deadline waits for ever.
  Received receive(std::string* message, std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
  void close();

 private:
  int fd_;
};

}  // namespace cagr::ipc

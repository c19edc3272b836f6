// ipc_channel.cpp - length-prefixed messages over a socket, with deadlines.
#include "ipc_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace cagr::ipc {

namespace {

bool send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly `size` bytes; `closed` at end of stream, `timed_out` past the deadline.
Channel::Received receive_all(int fd, char* data, size_t size, std::optional<std::chrono::steady_clock::time_point> deadline) {
  while (size > 0) {
    int wait_ms = -1;
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Channel::Received::timed_out;
      wait_ms = static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX));
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Channel::Received::closed;
    if (ready == 0) return Channel::Received::timed_out;
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return Channel::Received::closed;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Channel::Received::message;
}

}  // namespace

Channel::~Channel() { close(); }

void Channel::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Channel::send(const std::string& message) {
  const uint64_t size = message.size();
  return fd_ >= 0 && send_all(fd_, reinterpret_cast<const char*>(&size), sizeof size) &&
         send_all(fd_, message.data(), message.size());
}

Channel::Received Channel::receive(std::string* message, std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (fd_ < 0) return Received::closed;
  uint64_t size = 0;
  const Received header = receive_all(fd_, reinterpret_cast<char*>(&size), sizeof size, deadline);
  if (header != Received::message) return header;
  message->resize(size);
  return receive_all(fd_, message->data(), message->size(), deadline);
}

}  // namespace cagr::ipc

// shared_area.hpp - memory that the host and a plugin's worker both map (a memfd): the bytes of
// tensors copied to and from an isolated plugin, and of the constants its kernels are made with,
// cross here instead of through the socket. The host grows it (a larger file, mapped again) and
// tells the worker the new size; the worker maps the same file, inherited at its start.
#pragma once

#include <cstddef>

namespace cagr::ipc {

class SharedArea {
 public:
  // A new, empty area (the host's side). Throws std::runtime_error when the system refuses.
  static SharedArea create();
  // The area whose file is `fd` (the worker's side); mapped by map().
  explicit SharedArea(int fd) : fd_(fd) {}
  SharedArea(SharedArea&& other) noexcept;
  SharedArea& operator=(SharedArea&&) = delete;
  ~SharedArea();

  // The host's side: at least `bytes` long (the file grown and mapped again where it is shorter).
  void reserve(size_t bytes);
  // The worker's side: maps the file at `bytes`, the size the host made it.
  void map(size_t bytes);

  unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace cagr::ipc

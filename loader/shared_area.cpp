// shared_area.cpp - a memfd mapped shared, grown by the host.
#include "shared_area.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace cagr::ipc {

namespace {
[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string("shared memory: ") + what + ": " + std::strerror(errno)); }
}  // namespace

SharedArea SharedArea::create() {
  // Close-on-exec: the worker gets its copy on a fixed descriptor (dup2 in the child), and no other
  // program the host starts inherits it.
  const int fd = memfd_create("cagr-plugin-worker", MFD_CLOEXEC);
  if (fd < 0) fail("memfd_create");
  return SharedArea(fd);
}

SharedArea::SharedArea(SharedArea&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SharedArea::~SharedArea() {
  if (data_ != nullptr) munmap(data_, size_);
  if (fd_ >= 0) close(fd_);
}

void SharedArea::reserve(size_t bytes) {
  if (bytes <= size_) return;
  // Grow by half again at least, so that a series of slightly larger copies maps few times.
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t want = std::max(bytes, size_ + size_ / 2);
  want = (want + page - 1) / page * page;
  if (ftruncate(fd_, static_cast<off_t>(want)) != 0) fail("ftruncate");
  map(want);
}

void SharedArea::map(size_t bytes) {
  if (data_ != nullptr) munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
  if (bytes == 0) return;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) fail("mmap");
  data_ = static_cast<unsigned char*>(p);
  size_ = bytes;
}

}  // namespace cagr::ipc

// ipc_message.hpp - the bytes of one message between the host and a plugin's worker process
// (isolated_plugin.hpp): values appended in order by MessageWriter, read back in the same order by
// MessageReader. Both ends are built from one source tree, so values travel in this machine's
// layout; a message that ends early is a broken worker, not bad input, and says so.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace cagr::ipc {

class MessageWriter {
 public:
  template <class T>
  MessageWriter& put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
    return *this;
  }
  // A C string that may be NULL; at most `limit` bytes of it travel (a plugin's string without a
  // NUL arrives as `limit` bytes, which the host's ABI rules then refuse as unterminated).
  MessageWriter& put_string(const char* s, size_t limit = SIZE_MAX) {
    put<uint8_t>(s != nullptr);
    if (s != nullptr) put_bytes(s, limit == SIZE_MAX ? std::strlen(s) : strnlen(s, limit));
    return *this;
  }
  MessageWriter& put_string(const std::string& s) { return put_bytes(s.data(), s.size()); }
  MessageWriter& put_bytes(const void* data, size_t size) {
    put<uint64_t>(size);
    bytes_.append(static_cast<const char*>(data), size);
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class MessageReader {
 public:
  explicit MessageReader(std::string bytes) : bytes_(std::move(bytes)) {}

  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof value), sizeof value);
    return value;
  }
  // What put_string(const char*) wrote: nullopt for NULL.
  std::optional<std::string> get_optional_string() {
    if (get<uint8_t>() == 0) return std::nullopt;
    return get_string();
  }
  std::string get_string() {
    const auto size = get<uint64_t>();
    if (size > bytes_.size() - position_) throw std::runtime_error("a message from the plugin worker ends early");
    return std::string(take(static_cast<size_t>(size)), static_cast<size_t>(size));
  }
  bool at_end() const { return position_ == bytes_.size(); }

 private:
  const char* take(size_t size) {
    if (size > bytes_.size() - position_) throw std::runtime_error("a message from the plugin worker ends early");
    const char* p = bytes_.data() + position_;
    position_ += size;
    return p;
  }
  std::string bytes_;
  size_t position_ = 0;
};

}  // namespace cagr::ipc

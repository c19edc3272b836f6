// error_of.hpp - the message a call throws, for tests that check the words of a refusal.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace cagr::testing {

// What `f` throws (std::exception::what()), or "" where it returns.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace cagr::testing

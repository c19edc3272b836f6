// c_api_error.hpp - a failed C API call as the Python exception cagr.Error (a RuntimeError),
// carrying the runtime's own message (cagr_last_error).
#pragma once

#include <stdexcept>
#include <string>

#include "cagr.h"

namespace cagr_python {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws Error with cagr_last_error() where a C API call failed. Call it on the thread that made
// the call: the message is per thread.
inline void check(cagr_api_status status) {
  if (status != CAGR_API_OK) throw Error(cagr_last_error());
}

}  // namespace cagr_python

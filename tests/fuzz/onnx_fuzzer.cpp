// libFuzzer target: an .onnx file through the ONNX import (load_any_model). Seeds: the fixtures
// in tests/onnx/fixtures. A std::runtime_error is the import's answer to a bad file; a crash, a
// sanitizer report or any other exception is a finding.
#include <stdexcept>

#include "fuzz_input.hpp"
#include "model_loading.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cagr::fuzz::write_scratch("model.onnx", data, size);
  try {
    cagr::load_any_model(path);
  } catch (const std::runtime_error&) {
  }
  return 0;
}

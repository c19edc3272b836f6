// libFuzzer target: an .npz file (a zip of .npy arrays) through read_npz. Seeds: tests/data's .npz
// fixtures. DataError is its answer to a bad file; a crash, a sanitizer report or any other
// exception is a finding.
#include "data_error.hpp"
#include "fuzz_input.hpp"
#include "npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cagr::fuzz::write_scratch("arrays.npz", data, size);
  try {
    cagr::data::read_npz(path);
  } catch (const cagr::data::DataError&) {
  }
  return 0;
}

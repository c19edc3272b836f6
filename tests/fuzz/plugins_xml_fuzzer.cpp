// libFuzzer target: a plugins.xml through the loader's manifest reader (Manifest::parse_file).
// cagr::Error is its answer to a bad file; a crash, a sanitizer report or any other exception is
// a finding.
#include "fuzz_input.hpp"
#include "manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cagr::fuzz::write_scratch("plugins.xml", data, size);
  try {
    cagr::Manifest::parse_file(path);
  } catch (const cagr::Error&) {
  }
  return 0;
}

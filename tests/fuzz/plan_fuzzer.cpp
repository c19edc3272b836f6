// libFuzzer target: a saved plan (cagr-run --save-plan, docs/PLANS.md) through load_plan. A
// std::runtime_error naming the file is load_plan's answer to a bad file; a crash, a sanitizer
// report or any other exception is a finding. Seeds: tests/fuzz/corpus/plan, plans that cagr-run
// saved for the zoo's sample DLRM on the CPU plugin and on CPU + OpenCL.
#include <stdexcept>

#include "fuzz_input.hpp"
#include "plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cagr::fuzz::write_scratch("model.plan.xml", data, size);
  try {
    cagr::load_plan(path);
  } catch (const std::runtime_error&) {
  }
  return 0;
}

// libFuzzer target: a model.xml and its model.bin through load_model. One input holds both: the
// xml's length (4 bytes, little-endian), the xml, then the bin (seeds: make_model_seeds.py). A
// std::runtime_error is load_model's answer to a bad file; a crash, a sanitizer report or any
// other exception is a finding.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "fuzz_input.hpp"
#include "model_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint32_t xml_size = 0;
  if (size >= sizeof xml_size) {
    std::memcpy(&xml_size, data, sizeof xml_size);
    data += sizeof xml_size;
    size -= sizeof xml_size;
  }
  const size_t xml_bytes = std::min<size_t>(xml_size, size);
  const std::string xml = cagr::fuzz::write_scratch("model.xml", data, xml_bytes);
  cagr::fuzz::write_scratch("model.bin", data + xml_bytes, size - xml_bytes);
  try {
    cagr::load_model(xml);
  } catch (const std::runtime_error&) {
  }
  return 0;
}

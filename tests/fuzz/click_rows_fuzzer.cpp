// libFuzzer target: a click log through the reader READER (AvazuReader or CriteoReader, set by the
// build), read to its end in batches, stopping at a malformed row and skipping them. Seeds: the
// first rows of the shared data's samples (tools/fuzz.sh). DataError is the readers' answer to a
// bad file; a crash, a sanitizer report, any other exception or a negative id is a finding.
#include <cstdlib>

#include "avazu_reader.hpp"
#include "criteo_reader.hpp"
#include "data_error.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cagr::data;
  const std::string path = cagr::fuzz::write_scratch("rows.txt", data, size);
  for (const MalformedRowPolicy policy : {MalformedRowPolicy::kStop, MalformedRowPolicy::kSkip}) {
    try {
      ReaderOptions options;
      options.malformed_rows = policy;
      READER reader(path, options);
      while (auto batch = reader.next_batch(64)) {
        for (int64_t id : batch->indices)
          if (id < 0) std::abort();
      }
    } catch (const DataError&) {
    }
  }
  return 0;
}

// criteo_reader.hpp - the Criteo display-advertising log: `label,I1..I13,C1..C26` with a header and
// commas, or the original headerless tab-separated files of the challenge.
//
// 13 dense features log(1 + max(x, 0)), an empty field giving 0; 26 sparse fields, hashed
// (feature_hash.hpp), an empty field giving row 0.
#ifndef CAGR_DATA_CRITEO_READER_HPP_
#define CAGR_DATA_CRITEO_READER_HPP_

#include "tabular_reader.hpp"

namespace cagr::data {

const RowFormat& criteo_format();

class CriteoReader : public TabularReader {
 public:
  explicit CriteoReader(const std::string& path, ReaderOptions options = {})
      : TabularReader(path, criteo_format(), std::move(options)) {}
};

}  // namespace cagr::data

#endif  // CAGR_DATA_CRITEO_READER_HPP_

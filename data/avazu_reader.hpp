// avazu_reader.hpp - the Avazu click log (header `id,click,hour,C1,banner_pos,site_id,...,C21`).
//
// label = click; 22 sparse fields: hour of day (from `hour`, YYMMDDHH) and the 21 categorical
// columns C1 .. C21, each hashed (feature_hash.hpp); 2 dense features: hour_of_day / 23 and
// day_of_week / 6 (Monday = 0), computed from the date. The `id` column is not used.
#ifndef CAGR_DATA_AVAZU_READER_HPP_
#define CAGR_DATA_AVAZU_READER_HPP_

#include "tabular_reader.hpp"

namespace cagr::data {

const RowFormat& avazu_format();

class AvazuReader : public TabularReader {
 public:
  explicit AvazuReader(const std::string& path, ReaderOptions options = {})
      : TabularReader(path, avazu_format(), std::move(options)) {}
};

}  // namespace cagr::data

#endif  // CAGR_DATA_AVAZU_READER_HPP_

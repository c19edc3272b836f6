// row_format.hpp - what distinguishes one click-log text layout from another: its columns and how
// one row's fields become a label, dense values and categorical strings. TabularReader does the
// rest (files, lines, batching, hashing, errors) once for every layout.
#ifndef CAGR_DATA_ROW_FORMAT_HPP_
#define CAGR_DATA_ROW_FORMAT_HPP_

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "batch.hpp"
#include "schema.hpp"

namespace cagr::data {

// One row split into what a Batch needs; the string views point into the row's text.
struct ParsedRow {
  float label = 0;
  std::vector<float> dense;
  std::vector<std::string_view> sparse;  // one value per sparse field, "" when missing
};

// Thrown by RowFormat::parse with what is wrong; the reader adds "<file>:<line>: ".
class RowError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RowFormat {
 public:
  virtual ~RowFormat() = default;
  virtual const Schema& schema() const = 0;
  // The column names of the header line, which files may or may not start with.
  virtual const std::vector<std::string>& columns() const = 0;
  // Fills `row` from exactly columns().size() fields; throws RowError.
  virtual void parse(const std::vector<std::string_view>& fields, ParsedRow& row) const = 0;
  // Appends sample b of `batch` (one id per field: no multi-hot) as a line of this layout, ids as
  // hex strings; `sample_id` fills an id column if the layout has one. Throws std::invalid_argument
  // for a batch of another schema or with multi-hot bags.
  virtual void write(const Batch& batch, int64_t b, int64_t sample_id, std::string& line) const = 0;
};

// The id of sample b in `table` of a one-hot batch; throws std::invalid_argument for another bag size.
int64_t one_hot_id(const Batch& batch, int64_t table, int64_t b);
// Throws std::invalid_argument unless `batch` has the tables and dense features of `schema`.
void check_shape(const Batch& batch, const Schema& schema);
// Appends `id` as at least 8 lowercase hex digits, like the hashed values of the real data sets.
void append_hex_id(int64_t id, std::string& line);

// Helpers shared by the formats; both throw RowError naming the column.
float parse_number(std::string_view column, std::string_view text);
float parse_label(std::string_view column, std::string_view text);

}  // namespace cagr::data

#endif  // CAGR_DATA_ROW_FORMAT_HPP_

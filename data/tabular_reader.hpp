// tabular_reader.hpp - streams a click-log text file (one sample per line) as Batches, without
// loading the file whole.
//
// The delimiter is a tab if the first line holds one, else a comma; a first line that starts with
// the layout's first column name is the header and must name every column. Empty lines are
// ignored. A malformed row is reported as "<file>:<line>: <what is wrong>".
#ifndef CAGR_DATA_TABULAR_READER_HPP_
#define CAGR_DATA_TABULAR_READER_HPP_

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "batch.hpp"
#include "batch_builder.hpp"
#include "row_format.hpp"

namespace cagr::data {

enum class MalformedRowPolicy {
  kStop,  // throw DataError at the first malformed row
  kSkip,  // leave the row out, count it, keep its message (the first kMaxKeptMessages)
};

struct ReaderOptions {
  // Embedding table size per sparse field; empty: the schema's (docs/DATA.md).
  std::vector<int64_t> table_rows;
  MalformedRowPolicy malformed_rows = MalformedRowPolicy::kStop;
};

class TabularReader {
 public:
  static constexpr size_t kMaxKeptMessages = 100;

  // `format` must outlive the reader. Throws DataError if the file cannot be opened.
  TabularReader(const std::string& path, const RowFormat& format, ReaderOptions options);

  // The next batch of up to batch_size samples (fewer only at the end of the file); nullopt once
  // the file is exhausted.
  std::optional<Batch> next_batch(int64_t batch_size);

  const std::vector<int64_t>& table_rows() const { return options_.table_rows; }
  int64_t skipped_rows() const { return skipped_rows_; }
  const std::vector<std::string>& skipped_messages() const { return skipped_messages_; }

 private:
  // Reads the next non-empty line into line_; false at the end of the file.
  bool read_line();
  void split_line();
  void check_header();
  // Adds the row in fields_ to builder_; throws RowError if it is malformed.
  void add_row();
  void malformed(const std::string& problem);

  std::string path_;
  const RowFormat& format_;
  ReaderOptions options_;
  std::ifstream in_;
  std::string line_;
  int64_t line_number_ = 0;
  bool line_pending_ = false;  // line_ was read (the first line, not a header) but not yet used
  char delimiter_ = ',';
  std::vector<std::string_view> fields_;
  ParsedRow row_;
  BatchBuilder builder_;
  int64_t skipped_rows_ = 0;
  std::vector<std::string> skipped_messages_;
};

}  // namespace cagr::data

#endif  // CAGR_DATA_TABULAR_READER_HPP_

#include "tabular_reader.hpp"

#include "data_error.hpp"
#include "feature_hash.hpp"

namespace cagr::data {

TabularReader::TabularReader(const std::string& path, const RowFormat& format, ReaderOptions options)
    : path_(path),
      format_(format),
      options_(std::move(options)),
      in_(path, std::ios::binary),
      builder_(static_cast<int64_t>(format.schema().sparse.size()), static_cast<int64_t>(format.schema().dense.size())) {
  const size_t num_fields = format.schema().sparse.size();
  if (options_.table_rows.empty()) options_.table_rows = data::table_rows(format.schema());
  if (options_.table_rows.size() != num_fields) {
    throw DataError(path_ + ": " + std::to_string(options_.table_rows.size()) + " table sizes given, the " +
                    format.schema().name + " layout has " + std::to_string(num_fields) + " sparse fields");
  }
  for (size_t t = 0; t < num_fields; ++t) {
    if (options_.table_rows[t] < 2) {
      throw DataError(path_ + ": table of field '" + format.schema().sparse[t].name + "' has " +
                      std::to_string(options_.table_rows[t]) + " rows; a hashed table needs at least 2");
    }
  }
  if (!in_) throw DataError(path_ + ": cannot open for reading");
  if (read_line()) {
    delimiter_ = line_.find('\t') != std::string::npos ? '\t' : ',';
    split_line();
    if (fields_.front() == format_.columns().front()) {
      check_header();
    } else {
      line_pending_ = true;
    }
  }
}

bool TabularReader::read_line() {
  while (std::getline(in_, line_)) {
    ++line_number_;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (!line_.empty()) return true;
  }
  if (in_.bad()) throw DataError(path_ + ":" + std::to_string(line_number_) + ": read error");
  return false;
}

void TabularReader::split_line() {
  fields_.clear();
  size_t start = 0;
  while (true) {
    const size_t end = line_.find(delimiter_, start);
    fields_.emplace_back(line_.data() + start, (end == std::string::npos ? line_.size() : end) - start);
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

void TabularReader::check_header() {
  const std::vector<std::string>& columns = format_.columns();
  const std::string where = path_ + ":" + std::to_string(line_number_) + ": ";
  if (fields_.size() != columns.size()) {
    throw DataError(where + "header has " + std::to_string(fields_.size()) + " columns, the " +
                    format_.schema().name + " layout has " + std::to_string(columns.size()));
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (fields_[i] != columns[i]) {
      throw DataError(where + "header column " + std::to_string(i + 1) + " is '" + std::string(fields_[i]) +
                      "', expected '" + columns[i] + "'");
    }
  }
}

void TabularReader::add_row() {
  if (fields_.size() != format_.columns().size()) {
    throw RowError("expected " + std::to_string(format_.columns().size()) + " fields, found " +
                   std::to_string(fields_.size()));
  }
  format_.parse(fields_, row_);
  builder_.add_sample(row_.label, row_.dense);
  for (size_t t = 0; t < row_.sparse.size(); ++t) {
    builder_.add_index(static_cast<int64_t>(t),
                       feature_row(static_cast<uint32_t>(t), row_.sparse[t], options_.table_rows[t]));
  }
}

void TabularReader::malformed(const std::string& problem) {
  std::string message = path_ + ":" + std::to_string(line_number_) + ": " + problem;
  if (options_.malformed_rows == MalformedRowPolicy::kStop) throw DataError(message);
  ++skipped_rows_;
  if (skipped_messages_.size() < kMaxKeptMessages) skipped_messages_.push_back(std::move(message));
}

std::optional<Batch> TabularReader::next_batch(int64_t batch_size) {
  if (batch_size < 1) throw DataError(path_ + ": batch size must be at least 1, got " + std::to_string(batch_size));
  while (builder_.size() < batch_size) {
    if (line_pending_) {
      line_pending_ = false;
    } else if (read_line()) {
      split_line();
    } else {
      break;
    }
    try {
      add_row();
    } catch (const RowError& e) {
      malformed(e.what());
    }
  }
  if (builder_.size() == 0) return std::nullopt;
  return builder_.finish();
}

}  // namespace cagr::data

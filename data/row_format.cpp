#include "row_format.hpp"

#include <charconv>
#include <cmath>

namespace cagr::data {

int64_t one_hot_id(const Batch& batch, int64_t table, int64_t b) {
  const int64_t bag = table * batch.batch_size + b;
  const int64_t length = batch.offsets[bag + 1] - batch.offsets[bag];
  if (length != 1) {
    throw std::invalid_argument("a text layout holds one id per field; sample " + std::to_string(b) + " has " +
                                std::to_string(length) + " in table " + std::to_string(table));
  }
  return batch.indices[batch.offsets[bag]];
}

void check_shape(const Batch& batch, const Schema& schema) {
  if (batch.num_tables != static_cast<int64_t>(schema.sparse.size()) ||
      batch.num_dense != static_cast<int64_t>(schema.dense.size())) {
    throw std::invalid_argument("a batch of " + std::to_string(batch.num_tables) + " tables and " +
                                std::to_string(batch.num_dense) + " dense features is not in the " + schema.name +
                                " layout");
  }
}

void append_hex_id(int64_t id, std::string& line) {
  char digits[16];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, static_cast<uint64_t>(id), 16);
  const size_t length = static_cast<size_t>(end - digits);
  if (length < 8) line.append(8 - length, '0');
  line.append(digits, length);
}

float parse_number(std::string_view column, std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    throw RowError("column '" + std::string(column) + "': '" + std::string(text) + "' is not a finite number");
  }
  return static_cast<float>(value);
}

float parse_label(std::string_view column, std::string_view text) {
  if (text == "0") return 0.0f;
  if (text == "1") return 1.0f;
  throw RowError("column '" + std::string(column) + "': label '" + std::string(text) + "' is not 0 or 1");
}

}  // namespace cagr::data

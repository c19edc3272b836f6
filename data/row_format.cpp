#include "row_format.hpp"

#include <charconv>
#include <cmath>

namespace cagr::data {

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

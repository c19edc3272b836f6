#include "avazu_reader.hpp"

#include <charconv>
#include <chrono>
#include <cmath>

namespace cagr::data {

namespace {

constexpr size_t kFirstCategoricalColumn = 3;  // after id, click, hour

struct HourOfWeek {
  int hour_of_day;
  int day_of_week;  // Monday = 0
};

HourOfWeek parse_hour(std::string_view text) {
  auto number = [text](size_t pos) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + 2, value);
    return ec == std::errc() && end == text.data() + pos + 2 ? value : -1;
  };
  const bool digits = text.size() == 8 && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (digits) {
    using namespace std::chrono;
    const year_month_day date{year(2000 + number(0)), month(static_cast<unsigned>(number(2))),
                              day(static_cast<unsigned>(number(4)))};
    const int hour_of_day = number(6);
    if (date.ok() && hour_of_day < 24) {
      return {hour_of_day, static_cast<int>(weekday(sys_days(date)).iso_encoding()) - 1};
    }
  }
  throw RowError("column 'hour': '" + std::string(text) + "' is not a valid YYMMDDHH time");
}

class AvazuFormat : public RowFormat {
 public:
  AvazuFormat()
      : columns_{"id",         "click",         "hour",   "C1",         "banner_pos",   "site_id",
                 "site_domain", "site_category", "app_id", "app_domain", "app_category", "device_id",
                 "device_ip",  "device_model",  "device_type", "device_conn_type", "C14", "C15",
                 "C16",        "C17",           "C18",    "C19",        "C20",          "C21"} {}

  const Schema& schema() const override { return avazu_schema(); }
  const std::vector<std::string>& columns() const override { return columns_; }

  void parse(const std::vector<std::string_view>& fields, ParsedRow& row) const override {
    row.label = parse_label("click", fields[1]);
    const HourOfWeek when = parse_hour(fields[2]);
    row.dense = {static_cast<float>(when.hour_of_day) / 23.0f, static_cast<float>(when.day_of_week) / 6.0f};
    row.sparse.clear();
    row.sparse.push_back(fields[2].substr(6));  // the hour of day, as its two digits
    row.sparse.insert(row.sparse.end(), fields.begin() + kFirstCategoricalColumn, fields.end());
  }

  // The `hour` column comes from the dense features (a day of the week of 20 - 26 October 2014,
  // Monday to Sunday), so a written row reads back with the same dense values; table 0's id, the
  // hour of day, is then implied by them and not written.
  void write(const Batch& batch, int64_t b, int64_t sample_id, std::string& line) const override {
    check_shape(batch, schema());
    const float* dense = &batch.dense[b * batch.num_dense];
    const long hour_of_day = std::lround(dense[0] * 23);
    const long day_of_month = 20 + std::lround(dense[1] * 6);
    line += std::to_string(sample_id);
    line += batch.labels[b] != 0 ? ",1,1410" : ",0,1410";
    line += std::to_string(day_of_month);
    if (hour_of_day < 10) line += '0';
    line += std::to_string(hour_of_day);
    for (int64_t t = 1; t < batch.num_tables; ++t) {
      line += ',';
      append_hex_id(one_hot_id(batch, t, b), line);
    }
    line += '\n';
  }

 private:
  std::vector<std::string> columns_;
};

}  // namespace

const RowFormat& avazu_format() {
  static const AvazuFormat format;
  return format;
}

}  // namespace cagr::data

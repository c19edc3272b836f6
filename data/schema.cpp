#include "schema.hpp"

#include <stdexcept>

namespace cagr::data {

const Schema& criteo_kaggle_schema() {
  // The embedding table sizes DLRM uses for the Kaggle data set (day_0 .. day_6 with its
  // preprocessing: every distinct value of a column, missing included, gets a row).
  static const Schema schema = [] {
    static constexpr int64_t kRows[26] = {1460,    583,   10131227, 2202608, 305,  24,      12517, 633,    3,
                                          93145,   5683,  8351593,  3194,    27,   14992,   5461306, 10,
                                          5652,    2173,  4,        7046547, 18,   15,      286181, 105,
                                          142572};
    Schema s{"criteo", {}, {}, 0.2562};
    // Appending the number (not "I" + std::to_string) avoids a false -Wrestrict of GCC 12.
    auto numbered = [](char prefix, int i) { return std::string(1, prefix).append(std::to_string(i)); };
    for (int i = 0; i < 13; ++i) s.dense.push_back({numbered('I', i + 1), 0});
    for (int i = 0; i < 26; ++i) s.sparse.push_back({numbered('C', i + 1), kRows[i]});
    return s;
  }();
  return schema;
}

const Schema& avazu_schema() {
  // Distinct values per column of the 40,428,967-row training set, + 1 for row 0 ("missing").
  static const Schema schema{
      "avazu",
      {{"hour_of_day", 24 + 1},  {"C1", 7 + 1},
       {"banner_pos", 7 + 1},    {"site_id", 4737 + 1},
       {"site_domain", 7745 + 1}, {"site_category", 26 + 1},
       {"app_id", 8552 + 1},     {"app_domain", 559 + 1},
       {"app_category", 36 + 1}, {"device_id", 2686408 + 1},
       {"device_ip", 6729486 + 1}, {"device_model", 8251 + 1},
       {"device_type", 5 + 1},   {"device_conn_type", 4 + 1},
       {"C14", 2626 + 1},        {"C15", 8 + 1},
       {"C16", 9 + 1},           {"C17", 435 + 1},
       {"C18", 4 + 1},           {"C19", 68 + 1},
       {"C20", 172 + 1},         {"C21", 60 + 1}},
      {{"hour_of_day", 24}, {"day_of_week", 7}},
      0.1698};
  return schema;
}

const Schema& schema_by_name(const std::string& name) {
  if (name == "criteo") return criteo_kaggle_schema();
  if (name == "avazu") return avazu_schema();
  throw std::invalid_argument("unknown schema '" + name + "' (known: criteo, avazu)");
}

std::vector<int64_t> table_rows(const Schema& schema) {
  std::vector<int64_t> rows;
  for (const SparseField& field : schema.sparse) rows.push_back(field.rows);
  return rows;
}

}  // namespace cagr::data

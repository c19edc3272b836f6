#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "avazu_reader.hpp"
#include "criteo_reader.hpp"
#include "data_error.hpp"
#include "feature_hash.hpp"

namespace cagr::data {
namespace {

const std::string kShared = CAGR_SHARED_DATA_DIR;

std::vector<std::string> split(const std::string& line, char delimiter) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, delimiter)) fields.push_back(field);
  if (!line.empty() && line.back() == delimiter) fields.push_back("");
  return fields;
}

// The data rows of a file, split independently of the reader under test.
std::vector<std::vector<std::string>> data_rows(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) rows.push_back(split(line, ','));
  return rows;
}

std::vector<Batch> read_all(TabularReader& reader, int64_t batch_size) {
  std::vector<Batch> batches;
  while (auto batch = reader.next_batch(batch_size)) batches.push_back(std::move(*batch));
  return batches;
}

// Checks that sample `row` of the file is sample `b` of `batch`: one id per table, hashed from
// `values[t]`, and the label and dense values given.
void expect_sample(const Batch& batch, int64_t b, float label, const std::vector<float>& dense,
                   const std::vector<std::string>& values, const std::vector<int64_t>& rows) {
  EXPECT_EQ(batch.labels[b], label);
  for (size_t i = 0; i < dense.size(); ++i) EXPECT_FLOAT_EQ(batch.dense[b * batch.num_dense + i], dense[i]);
  for (int64_t t = 0; t < batch.num_tables; ++t) {
    const int64_t bag = t * batch.batch_size + b;
    ASSERT_EQ(batch.offsets[bag + 1] - batch.offsets[bag], 1);
    EXPECT_EQ(batch.indices[batch.offsets[bag]], feature_row(static_cast<uint32_t>(t), values[t], rows[t]))
        << "table " << t << " value '" << values[t] << "'";
  }
}

// Day of week, Monday = 0, by Sakamoto's method (independent of the reader's std::chrono).
int day_of_week(int year, int month, int day) {
  static const int offsets[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
  if (month < 3) year -= 1;
  const int sunday_first = (year + year / 4 - year / 100 + year / 400 + offsets[month - 1] + day) % 7;
  return (sunday_first + 6) % 7;
}

TEST(AvazuReader, ReadsTheRealSampleInBatches) {
  const std::string path = kShared + "/avazu_sample.csv";
  const auto rows = data_rows(path);
  ASSERT_EQ(rows.size(), 100u);
  AvazuReader reader(path);
  const std::vector<Batch> batches = read_all(reader, 32);
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[3].batch_size, 4);
  int64_t r = 0;
  for (const Batch& batch : batches) {
    EXPECT_EQ(batch.num_tables, 22);
    EXPECT_EQ(batch.num_dense, 2);
    EXPECT_EQ(batch.offsets.size(), static_cast<size_t>(22 * batch.batch_size + 1));
    for (int64_t b = 0; b < batch.batch_size; ++b, ++r) {
      const auto& row = rows[r];
      const std::string& hour = row[2];
      const int hour_of_day = std::stoi(hour.substr(6, 2));
      const int dow = day_of_week(2000 + std::stoi(hour.substr(0, 2)), std::stoi(hour.substr(2, 2)),
                                  std::stoi(hour.substr(4, 2)));
      std::vector<std::string> values{hour.substr(6, 2)};
      values.insert(values.end(), row.begin() + 3, row.end());
      expect_sample(batch, b, std::stof(row[1]), {hour_of_day / 23.0f, dow / 6.0f}, values, reader.table_rows());
    }
  }
  EXPECT_EQ(reader.skipped_rows(), 0);
}

TEST(AvazuReader, KnownDateGivesKnownDayOfWeek) {
  // 2014-10-21 was a Tuesday; the sample's first row is 14102100 (midnight).
  AvazuReader reader(kShared + "/avazu_sample.csv");
  const Batch batch = *reader.next_batch(1);
  EXPECT_FLOAT_EQ(batch.dense[0], 0.0f);
  EXPECT_FLOAT_EQ(batch.dense[1], 1.0f / 6.0f);
}

float criteo_dense(const std::string& text) {
  return text.empty() ? 0.0f : static_cast<float>(std::log1p(std::max(std::stod(text), 0.0)));
}

void expect_criteo_sample(const Batch& batch, int64_t b, const std::vector<std::string>& row,
                          const std::vector<int64_t>& table_rows) {
  std::vector<float> dense;
  for (int i = 1; i <= 13; ++i) dense.push_back(criteo_dense(row[i]));
  expect_sample(batch, b, std::stof(row[0]), dense, std::vector<std::string>(row.begin() + 14, row.end()), table_rows);
}

TEST(CriteoReader, ReadsTheRealSampleInBatches) {
  const std::string path = kShared + "/criteo_sample.txt";
  const auto rows = data_rows(path);
  ASSERT_EQ(rows.size(), 200u);
  CriteoReader reader(path);
  int64_t r = 0;
  int64_t missing = 0;
  while (auto batch = reader.next_batch(37)) {
    EXPECT_EQ(batch->num_tables, 26);
    EXPECT_EQ(batch->num_dense, 13);
    for (int64_t b = 0; b < batch->batch_size; ++b, ++r) expect_criteo_sample(*batch, b, rows[r], reader.table_rows());
    for (int64_t index : batch->indices) missing += index == 0;
  }
  EXPECT_EQ(r, 200);
  EXPECT_GT(missing, 0);  // the sample has empty categorical fields
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CriteoReader, ReadsTheOriginalTabSeparatedLayout) {
  const auto rows = data_rows(kShared + "/criteo_sample.txt");
  std::string text;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) text += (i ? "\t" : "") + row[i];
    text += "\r\n";  // Windows line ends too
  }
  CriteoReader reader(write_temp("criteo.tsv", text), {{}, MalformedRowPolicy::kStop});
  const Batch batch = *reader.next_batch(1000);
  ASSERT_EQ(batch.batch_size, 200);
  for (int64_t b = 0; b < 200; ++b) expect_criteo_sample(batch, b, rows[b], reader.table_rows());
  EXPECT_FALSE(reader.next_batch(1000));
}

TEST(CriteoReader, HashesIntoTheTableSizesGiven) {
  std::vector<int64_t> sizes(26);
  for (size_t t = 0; t < sizes.size(); ++t) sizes[t] = 2 + static_cast<int64_t>(t) * 3;
  CriteoReader reader(kShared + "/criteo_sample.txt", {sizes, MalformedRowPolicy::kStop});
  const Batch batch = *reader.next_batch(200);
  for (int64_t t = 0; t < 26; ++t) {
    for (int64_t i = batch.offsets[t * 200]; i < batch.offsets[(t + 1) * 200]; ++i) {
      EXPECT_GE(batch.indices[i], 0);
      EXPECT_LT(batch.indices[i], sizes[t]);
    }
  }
}

std::string first_error(const std::string& path, bool avazu) {
  try {
    if (avazu) {
      AvazuReader reader(path);
      while (reader.next_batch(4)) {
      }
    } else {
      CriteoReader reader(path);
      while (reader.next_batch(4)) {
      }
    }
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kAvazuHeader =
    "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,"
    "device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21\n";
const std::string kAvazuRest =
    ",1005,0,1fbe01fe,f3845767,28905ebd,ecad2386,7801e8d9,07d7df22,a99f214a,ddd2926e,44956a24,1,2,15706,320,50,"
    "1722,0,35,-1,79\n";

TEST(AvazuReader, MalformedRowsAreReportedWithFileAndLine) {
  const std::string good = "1,0,14102100" + kAvazuRest;
  struct Case {
    std::string row, message;
  };
  const Case cases[] = {
      {"1,0,14102100,1005\n", "expected 24 fields, found 4"},
      {"1,0,14109900" + kAvazuRest, "column 'hour': '14109900' is not a valid YYMMDDHH time"},
      {"1,0,14102124" + kAvazuRest, "column 'hour': '14102124' is not a valid YYMMDDHH time"},
      {"1,0,141021" + kAvazuRest, "column 'hour': '141021' is not a valid YYMMDDHH time"},
      {"1,0,1410210x" + kAvazuRest, "column 'hour': '1410210x' is not a valid YYMMDDHH time"},
      {"1,yes,14102100" + kAvazuRest, "column 'click': label 'yes' is not 0 or 1"},
  };
  for (const Case& c : cases) {
    const std::string path = write_temp("avazu_bad.csv", kAvazuHeader + good + "\n" + c.row);
    EXPECT_EQ(first_error(path, true), path + ":4: " + c.message);  // the blank line 3 counts
  }
}

TEST(CriteoReader, MalformedRowsAreReportedWithFileAndLine) {
  // I2 .. I13 empty, C1 set, C2 .. C26 empty.
  const std::string rest = std::string(13, ',') + "05db9164" + std::string(25, ',');
  struct Case {
    std::string row, message;
  };
  const Case cases[] = {
      {"1,3\n", "expected 40 fields, found 2"},
      {"1,abc" + rest + "\n", "column 'I1': 'abc' is not a finite number"},
      {"1,2x" + rest + "\n", "column 'I1': '2x' is not a finite number"},
      {"1,inf" + rest + "\n", "column 'I1': 'inf' is not a finite number"},
      {"2,1" + rest + "\n", "column 'label': label '2' is not 0 or 1"},
  };
  for (const Case& c : cases) {
    const std::string path = write_temp("criteo_bad.txt", "0,1" + rest + "\n" + c.row);
    EXPECT_EQ(first_error(path, false), path + ":2: " + c.message);
  }
}

TEST(TabularReader, BadHeadersAndFilesAreReported) {
  const std::string short_header = write_temp("h1.csv", "id,click,hour\n");
  EXPECT_EQ(first_error(short_header, true), short_header + ":1: header has 3 columns, the avazu layout has 24");
  std::string renamed = kAvazuHeader;
  renamed.replace(renamed.find("site_id"), 7, "site");
  const std::string wrong = write_temp("h2.csv", renamed);
  EXPECT_EQ(first_error(wrong, true), wrong + ":1: header column 6 is 'site', expected 'site_id'");
  const std::string missing = testing::TempDir() + "/no_such_file.csv";
  EXPECT_EQ(first_error(missing, false), missing + ": cannot open for reading");
  const std::string empty = write_temp("empty.csv", "");
  EXPECT_EQ(first_error(empty, false), "(no error)");
}

TEST(TabularReader, SkipPolicyCountsAndKeepsMessages) {
  const std::string good = "1,0,14102100" + kAvazuRest;
  const std::string path = write_temp("avazu_skip.csv", kAvazuHeader + good + "1,0\n" + good + "1,2,14102100" +
                                                            kAvazuRest + good);
  AvazuReader reader(path, {{}, MalformedRowPolicy::kSkip});
  const std::vector<Batch> batches = read_all(reader, 2);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].batch_size + batches[1].batch_size, 3);
  EXPECT_EQ(reader.skipped_rows(), 2);
  EXPECT_EQ(reader.skipped_messages(),
            (std::vector<std::string>{path + ":3: expected 24 fields, found 2",
                                      path + ":5: column 'click': label '2' is not 0 or 1"}));
}

TEST(TabularReader, RejectsBadOptions) {
  const std::string path = kShared + "/avazu_sample.csv";
  EXPECT_THROW(AvazuReader(path, {{10, 10}, MalformedRowPolicy::kStop}), DataError);
  EXPECT_THROW(AvazuReader(path, {std::vector<int64_t>(22, 1), MalformedRowPolicy::kStop}), DataError);
  AvazuReader reader(path);
  EXPECT_THROW(reader.next_batch(0), DataError);
}

}  // namespace
}  // namespace cagr::data

#include "criteo_reader.hpp"

#include <algorithm>
#include <cmath>

namespace cagr::data {

namespace {

constexpr size_t kDense = 13;

class CriteoFormat : public RowFormat {
 public:
  CriteoFormat() {
    columns_.push_back("label");
    for (const DenseFeature& feature : schema().dense) columns_.push_back(feature.name);
    for (const SparseField& field : schema().sparse) columns_.push_back(field.name);
  }

  const Schema& schema() const override { return criteo_kaggle_schema(); }
  const std::vector<std::string>& columns() const override { return columns_; }

  void parse(const std::vector<std::string_view>& fields, ParsedRow& row) const override {
    row.label = parse_label("label", fields[0]);
    row.dense.resize(kDense);
    for (size_t i = 0; i < kDense; ++i) {
      const std::string_view text = fields[1 + i];
      row.dense[i] = text.empty() ? 0.0f : std::log1p(std::max(parse_number(columns_[1 + i], text), 0.0f));
    }
    row.sparse.assign(fields.begin() + 1 + kDense, fields.end());
  }

  void write(const Batch& batch, int64_t b, int64_t /*sample_id: Criteo rows have none*/,
             std::string& line) const override {
    check_shape(batch, schema());
    line += batch.labels[b] != 0 ? '1' : '0';
    for (size_t i = 0; i < kDense; ++i) {
      // The inverse of the reader's log(1 + x): the integer count back.
      line += ',';
      line += std::to_string(std::llround(std::expm1(batch.dense[b * batch.num_dense + i])));
    }
    for (int64_t t = 0; t < batch.num_tables; ++t) {
      line += ',';
      append_hex_id(one_hot_id(batch, t, b), line);
    }
    line += '\n';
  }

 private:
  std::vector<std::string> columns_;
};

}  // namespace

const RowFormat& criteo_format() {
  static const CriteoFormat format;
  return format;
}

}  // namespace cagr::data

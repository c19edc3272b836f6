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

 private:
  std::vector<std::string> columns_;
};

}  // namespace

const RowFormat& criteo_format() {
  static const CriteoFormat format;
  return format;
}

}  // namespace cagr::data

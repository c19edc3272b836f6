#include "feature_hash.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace cagr::data {
namespace {

// Expected values computed by hand-written FNV-1a in Python (see docs/DATA.md for the definition):
// they pin the hash across platforms and releases.
TEST(FeatureHash, MatchesHandComputedFnv1a) {
  EXPECT_EQ(feature_hash(0, ""), 0x4d25767f9dce13f5ull);
  EXPECT_EQ(feature_hash(0, "a"), 0xe4bbeed9252b447cull);
  EXPECT_EQ(feature_hash(1, "a"), 0xd80d0daea7dbdd7full);
  EXPECT_EQ(feature_hash(7, "05db9164"), 0x0e5cf5e1ae0c2fabull);
  EXPECT_EQ(feature_hash(25, "ded4aac9"), 0x5dbe18b7d91afb45ull);
}

TEST(FeatureHash, RowsMatchHandComputedValues) {
  EXPECT_EQ(feature_row(0, "a", 1000), 39);
  EXPECT_EQ(feature_row(1, "a", 1000), 713);
  EXPECT_EQ(feature_row(7, "05db9164", 1000), 645);
  EXPECT_EQ(feature_row(25, "ded4aac9", 1000), 739);
}

TEST(FeatureHash, EmptyIsRowZeroAndOthersAreNot) {
  EXPECT_EQ(feature_row(3, "", 1000), 0);
  EXPECT_EQ(feature_row(3, "x", 2), 1);  // one usable row
  for (int i = 0; i < 1000; ++i) {
    const int64_t row = feature_row(5, std::to_string(i), 17);
    EXPECT_GE(row, 1);
    EXPECT_LT(row, 17);
  }
}

TEST(FeatureHash, TooSmallTableIsRefused) {
  EXPECT_THROW(feature_row(0, "a", 1), std::invalid_argument);
}

}  // namespace
}  // namespace cagr::data

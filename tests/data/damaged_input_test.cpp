// Click logs and .npz files damaged at random (seeded, so a failure replays) are read or refused
// with a DataError naming the file; never a crash or an exception of another kind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "avazu_reader.hpp"
#include "criteo_reader.hpp"
#include "data_error.hpp"
#include "npz.hpp"
#include "random_damage.hpp"

namespace cagr::data {
namespace {

using cagr::testing::slurp;

std::string damage(const std::string& text, std::mt19937_64& rng) {
  return cagr::testing::damage(text, rng, ",\n\t-x9. ", 40);
}

template <class Reader>
void read_damaged(const std::string& sample, uint64_t seed) {
  const std::string original = slurp(std::string(CAGR_SHARED_DATA_DIR) + "/" + sample);
  ASSERT_FALSE(original.empty());
  const std::string path = (std::filesystem::temp_directory_path() / ("cagr_damaged_" + std::to_string(::getpid()) + "_" + sample)).string();
  std::mt19937_64 rng(seed);
  int refused = 0;
  for (int trial = 0; trial < 60; ++trial) {
    std::ofstream(path, std::ios::binary) << damage(damage(original, rng), rng);
    for (const MalformedRowPolicy policy : {MalformedRowPolicy::kStop, MalformedRowPolicy::kSkip}) {
      try {
        ReaderOptions options;
        options.malformed_rows = policy;
        Reader reader(path, options);
        while (auto batch = reader.next_batch(64)) {
          for (int64_t id : batch->indices) ASSERT_GE(id, 0);
        }
      } catch (const DataError& e) {
        ++refused;
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "trial " << trial << ": " << e.what();
      }
    }
  }
  std::filesystem::remove(path);
  EXPECT_GT(refused, 0) << "some damage must be caught";
}

TEST(DamagedInput, AvazuRows) { read_damaged<AvazuReader>("avazu_sample.csv", 1); }
TEST(DamagedInput, CriteoRows) { read_damaged<CriteoReader>("criteo_sample.txt", 2); }

TEST(DamagedInput, NpzFiles) {
  const std::string path = (std::filesystem::temp_directory_path() / ("cagr_damaged_" + std::to_string(::getpid()) + ".npz")).string();
  std::vector<float> values(300, 0.5f);
  write_npz(path, {{"x", NpyArray::from<float>({10, 30}, values)}});
  const std::string original = slurp(path);
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 60; ++trial) {
    std::ofstream(path, std::ios::binary) << damage(original, rng);
    try {
      read_npz(path);
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "trial " << trial << ": " << e.what();
    }
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace cagr::data

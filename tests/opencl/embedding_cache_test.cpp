// embedding_cache_test.cpp - embedding_bag on tables beyond the OpenCL plugin's table budget, kept
// in host memory behind a device cache (docs/EMBEDDING_CACHE.md): on random inputs of odd sizes,
// every pooling, weights, padding rows, i32 and i64 ids and every table dtype, the outputs equal
// those of the same kernel on device-resident tables bit for bit (the same kernel reads the same
// row values in the same order), over several runs that evict rows, and with a cache so small that
// batches come in pieces. Statistics (ABI 1.4) count every lookup.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cagr_plugin_support.hpp"
#include "owned_op_desc.hpp"
#include "plugin.hpp"

namespace {

using Bytes = std::vector<uint8_t>;

struct Config {
  std::vector<int64_t> rows;
  int64_t dim;
  cagr_dtype table_dtype, index_dtype;
  const char* mode;
  bool weighted, padded;
};

std::string describe(const Config& c) {
  std::string rows;
  for (int64_t r : c.rows) rows += std::to_string(r) + " ";
  return std::string("rows ") + rows + "D " + std::to_string(c.dim) + " " + cagr::plugin::dtype_name(c.table_dtype) + " ids " +
         cagr::plugin::dtype_name(c.index_dtype) + " " + c.mode + (c.weighted ? " weighted" : "") + (c.padded ? " padded" : "");
}

int64_t row_bytes(const Config& c) {
  return c.table_dtype == CAGR_DTYPE_U8 ? c.dim + 8 : c.dim * static_cast<int64_t>(cagr::plugin::dtype_size(c.table_dtype));
}

// Finite values of every table dtype: f32 fractions, f16 with a bounded exponent, u8 codes with an
// f32 scale and bias per row.
Bytes random_table(std::mt19937_64& rng, const Config& c, int64_t rows) {
  Bytes out(static_cast<size_t>(rows * row_bytes(c)));
  std::uniform_real_distribution<float> value(-2, 2);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = &out[static_cast<size_t>(r * row_bytes(c))];
    for (int64_t d = 0; d < c.dim; ++d) {
      if (c.table_dtype == CAGR_DTYPE_F32) {
        const float v = value(rng);
        std::memcpy(row + 4 * d, &v, 4);
      } else if (c.table_dtype == CAGR_DTYPE_U8) {
        row[d] = static_cast<uint8_t>(rng());
      } else {  // f16 / bf16 bits: sign, an exponent away from Inf and NaN, any mantissa
        const uint16_t bits = c.table_dtype == CAGR_DTYPE_F16
                                  ? static_cast<uint16_t>((rng() & 0x83ff) | ((10 + rng() % 10) << 10))
                                  : static_cast<uint16_t>((rng() & 0x807f) | ((120 + rng() % 10) << 7));
        std::memcpy(row + 2 * d, &bits, 2);
      }
    }
    if (c.table_dtype == CAGR_DTYPE_U8) {
      const float scale = value(rng) / 100, bias = value(rng);
      std::memcpy(row + c.dim, &scale, 4);
      std::memcpy(row + c.dim + 4, &bias, 4);
    }
  }
  return out;
}

Bytes ints(const std::vector<int64_t>& values, cagr_dtype dtype) {
  Bytes out(values.size() * cagr::plugin::dtype_size(dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == CAGR_DTYPE_I64) {
      std::memcpy(&out[8 * i], &values[i], 8);
    } else {
      const int32_t v = static_cast<int32_t>(values[i]);
      std::memcpy(&out[4 * i], &v, 4);
    }
  }
  return out;
}

// One embedding_bag with its constant tables and padding rows, run batch after batch on one kernel.
class CachedLookup {
 public:
  CachedLookup(cagr::Plugin& plugin, std::mt19937_64& rng, const Config& c) : plugin_(plugin), config_(c) {
    for (int64_t r : c.rows) {
      tables_.push_back(random_table(rng, c, r));
      padding_.push_back(std::uniform_int_distribution<int64_t>(-1, r - 1)(rng));
    }
    stream_ = plugin.create_stream(0);
  }

  // The op at batch `batch` with `num_indices` ids.
  cagr::abi::OwnedOpDesc op(int64_t batch, int64_t num_indices) const {
    const int64_t tables = static_cast<int64_t>(config_.rows.size());
    const int64_t dim_stored = config_.table_dtype == CAGR_DTYPE_U8 ? config_.dim + 8 : config_.dim;
    cagr::abi::OwnedOpDesc d("embedding_bag");
    d.input(config_.index_dtype, {num_indices}).input(config_.index_dtype, {tables * batch + 1});
    for (int64_t r : config_.rows) d.input(config_.table_dtype, {r, dim_stored});
    if (config_.weighted) d.input(CAGR_DTYPE_F32, {num_indices});
    if (config_.padded) d.input(CAGR_DTYPE_I64, {tables});
    d.output(CAGR_DTYPE_F32, {batch, tables, config_.dim});
    d.attr("mode", config_.mode);
    if (config_.weighted) d.attr("weighted", int64_t{1});
    if (config_.padded) d.attr("padded", int64_t{1});
    return d;
  }

  void create(int variant, int64_t batch, int64_t num_indices, const cagr_extension* extensions = nullptr) {
    auto d = op(batch, num_indices);
    std::vector<cagr_constant> constants;
    for (size_t t = 0; t < tables_.size(); ++t) {
      auto k = cagr::abi::make_struct<cagr_constant>();
      k.input_index = 2 + t;
      k.data = tables_[t].data();
      constants.push_back(k);
    }
    if (config_.padded) {
      auto k = cagr::abi::make_struct<cagr_constant>();
      k.input_index = d.inputs().size() - 1;
      k.data = padding_.data();
      constants.push_back(k);
    }
    kernel_ = plugin_.create_kernel(0, d.desc(), variant, constants, extensions);
  }

  // Random bags of 0 .. max_bag ids (some of them the padding row) for `batch` samples.
  struct Batch {
    int64_t batch;
    std::vector<int64_t> indices, offsets;
    std::vector<float> weights;
  };
  Batch random_batch(std::mt19937_64& rng, int64_t batch, int64_t max_bag) const {
    Batch b{batch, {}, {0}, {}};
    for (size_t t = 0; t < config_.rows.size(); ++t)
      for (int64_t s = 0; s < batch; ++s) {
        const int64_t n = std::uniform_int_distribution<int64_t>(0, max_bag)(rng);
        for (int64_t k = 0; k < n; ++k) {
          const bool pad = config_.padded && padding_[t] >= 0 && rng() % 5 == 0;
          b.indices.push_back(pad ? padding_[t] : std::uniform_int_distribution<int64_t>(0, config_.rows[t] - 1)(rng));
          b.weights.push_back(std::uniform_real_distribution<float>(-1, 1)(rng));
        }
        b.offsets.push_back(static_cast<int64_t>(b.indices.size()));
      }
    return b;
  }

  Bytes run(const Batch& b) {
    const int64_t tables = static_cast<int64_t>(config_.rows.size());
    auto d = op(b.batch, static_cast<int64_t>(b.indices.size()));
    std::vector<cagr::Buffer> buffers;
    std::vector<cagr_buffer*> inputs;
    std::vector<cagr_tensor_desc> descs;
    auto upload = [&](const void* data, size_t bytes, const cagr_tensor_desc& desc) {
      buffers.push_back(plugin_.alloc(0, std::max<uint64_t>(bytes, 1)));
      if (bytes > 0) buffers.back().copy_from_host(stream_, data, bytes);
      inputs.push_back(buffers.back().get());
      descs.push_back(desc);
    };
    const Bytes indices = ints(b.indices, config_.index_dtype), offsets = ints(b.offsets, config_.index_dtype);
    upload(indices.data(), indices.size(), d.inputs()[0]);
    upload(offsets.data(), offsets.size(), d.inputs()[1]);
    if (config_.weighted) upload(b.weights.data(), b.weights.size() * 4, d.inputs()[2 + tables]);
    Bytes out(static_cast<size_t>(b.batch * tables * config_.dim) * 4);
    cagr::Buffer output = plugin_.alloc(0, std::max<uint64_t>(out.size(), 1));
    kernel_.run(stream_, inputs, descs, {output.get()}, d.outputs());
    if (!out.empty()) output.copy_to_host(stream_, out.data(), out.size());
    stream_.synchronize();
    return out;
  }

  std::map<std::string, double> statistics() const {
    std::map<std::string, double> out;
    for (const auto& [name, value] : kernel_.statistics()) out[name] = value;
    return out;
  }

  int64_t lookups(const Batch& b) const {  // ids that are not padding
    int64_t n = 0;
    for (size_t t = 0; t < config_.rows.size(); ++t)
      for (int64_t i = b.offsets[t * b.batch]; i < b.offsets[(t + 1) * b.batch]; ++i)
        n += !(config_.padded && b.indices[i] == padding_[t]);
    return n;
  }

 private:
  cagr::Plugin& plugin_;
  Config config_;
  std::vector<Bytes> tables_;
  std::vector<int64_t> padding_;
  cagr::Stream stream_;
  cagr::Kernel kernel_;
};

std::shared_ptr<cagr::Plugin> load(const std::string& budget) {
  cagr::Options options;
  if (!budget.empty()) options.emplace_back("table_budget_bytes", budget);
  return cagr::Plugin::load(CAGR_OPENCL_PLUGIN_PATH, options);
}

class OpenClEmbeddingCache : public ::testing::Test {
 protected:
  void SetUp() override {
    resident_ = load("");
    if (resident_->device_count() == 0) GTEST_SKIP() << "no OpenCL device here";
  }
  // One random batch of `batch` samples (bags of up to `max_bag` ids) through a cache of
  // `budget_rows` rows and through resident tables: the outputs must agree; the cache's statistics.
  std::map<std::string, double> one_random_batch(const Config& c, int64_t budget_rows, int64_t batch, int64_t max_bag) {
    std::mt19937_64 rng(std::random_device{}());
    const auto cached_plugin = load(std::to_string(budget_rows * row_bytes(c)));
    std::mt19937_64 rng_b = rng;
    CachedLookup cached(*cached_plugin, rng, c), resident(*resident_, rng_b, c);
    cached.create(0, batch, batch * max_bag * static_cast<int64_t>(c.rows.size()));
    resident.create(0, batch, batch * max_bag * static_cast<int64_t>(c.rows.size()));
    const auto b = cached.random_batch(rng, batch, max_bag);
    EXPECT_EQ(cached.run(b), resident.run(b));
    return cached.statistics();
  }
  std::shared_ptr<cagr::Plugin> resident_;
};

// Every pooling, weights, padding rows, table dtype and id dtype, odd sizes; a budget of about a
// third of the rows, then of 12 rows per table (3 to 6 slots for the tables here): several runs on one kernel (rows evicted between
// them) against the same kernel on resident tables, byte for byte.
TEST_F(OpenClEmbeddingCache, OutputsEqualResidentTablesBitForBit) {
  std::mt19937_64 rng(std::random_device{}());
  const uint64_t seed = rng();
  SCOPED_TRACE("seed " + std::to_string(seed));
  rng.seed(seed);
  const std::vector<Config> configs = {
      {{37, 1, 200}, 13, CAGR_DTYPE_F32, CAGR_DTYPE_I64, "sum", false, false},
      {{101}, 16, CAGR_DTYPE_F32, CAGR_DTYPE_I32, "mean", false, false},
      {{53, 90}, 3, CAGR_DTYPE_F32, CAGR_DTYPE_I64, "max", false, true},
      {{64, 17}, 8, CAGR_DTYPE_F32, CAGR_DTYPE_I32, "sum", true, true},
      {{77, 33}, 12, CAGR_DTYPE_F16, CAGR_DTYPE_I64, "mean", false, false},
      {{41}, 5, CAGR_DTYPE_BF16, CAGR_DTYPE_I32, "max", false, false},
      {{99, 20}, 13, CAGR_DTYPE_U8, CAGR_DTYPE_I64, "sum", true, false},
  };
  for (const Config& c : configs) {
    SCOPED_TRACE(describe(c));
    int64_t total_rows = 0;
    for (int64_t r : c.rows) total_rows += r;
    for (const int64_t budget_rows : {total_rows / 3, int64_t{12} * static_cast<int64_t>(c.rows.size())}) {
      const auto cached_plugin = load(std::to_string(budget_rows * row_bytes(c)));
      std::mt19937_64 rng_a(rng()), rng_b = rng_a;  // the same tables in both
      CachedLookup cached(*cached_plugin, rng_a, c), resident(*resident_, rng_b, c);
      const auto support = resident_->query(0, resident.op(7, 20).desc());
      ASSERT_TRUE(support.supported) << support.reason;
      for (const auto& v : support.variants) {
        SCOPED_TRACE(v.name + ", budget " + std::to_string(budget_rows) + " rows");
        cached.create(v.index, 7, 20);
        resident.create(v.index, 7, 20);
        EXPECT_TRUE(resident.statistics().empty()) << "resident tables keep no cache";
        int64_t lookups = 0;
        for (const int64_t batch : {7, 1, 0, 33, 12}) {
          const auto b = cached.random_batch(rng, batch, 3);  // every cache here holds 3 rows or more
          lookups += cached.lookups(b);
          const Bytes got = cached.run(b), want = resident.run(b);
          ASSERT_EQ(got, want) << "batch " << batch;
        }
        const auto stats = cached.statistics();
        double counted = 0;
        for (size_t t = 0; t < c.rows.size(); ++t) {
          const std::string table = "table" + std::to_string(t) + ".";
          EXPECT_EQ(stats.at(table + "hits") + stats.at(table + "misses"), stats.at(table + "lookups"));
          EXPECT_LE(stats.at(table + "cache_rows"), static_cast<double>(c.rows[t]));
          counted += stats.at(table + "lookups");
        }
        EXPECT_EQ(counted, static_cast<double>(lookups));
        EXPECT_EQ(stats.at("runs"), 5);
      }
    }
  }
}

// A cache of 4 rows: a batch of 30 samples comes in many pieces, each placed in the output.
TEST_F(OpenClEmbeddingCache, BatchesBeyondTheCacheComeInPieces) {
  const auto stats = one_random_batch({{500}, 8, CAGR_DTYPE_F32, CAGR_DTYPE_I64, "sum", false, false}, 4, 30, 4);
  EXPECT_EQ(stats.at("table0.cache_rows"), 4);
  EXPECT_GT(stats.at("pieces"), 5) << "30 samples of up to 4 rows each through 4 slots";
}

// The budget is shared as equal rows per table, small tables whole (each table takes one lookup
// per sample): 1,000 rows over tables of 18, 15, 5,000 and 3,000 rows give 18, 15, 484 and 483.
TEST_F(OpenClEmbeddingCache, SmallTablesAreCachedWholeAndTheRestShareAlike) {
  const auto stats = one_random_batch({{18, 15, 5000, 3000}, 4, CAGR_DTYPE_F32, CAGR_DTYPE_I64, "sum", false, false}, 1000, 64, 4);
  EXPECT_EQ(stats.at("table0.cache_rows"), 18);
  EXPECT_EQ(stats.at("table1.cache_rows"), 15);
  EXPECT_EQ(stats.at("table2.cache_rows"), 484);
  EXPECT_EQ(stats.at("table3.cache_rows"), 483);
}

// A batch that fits the cache but holds more ids than a piece takes (4096 or a quarter of the
// batch's, whichever is more) is cut into pieces whose copies and pooling overlap the host's
// mapping of the next: odd sizes, several runs (an empty one among them), outputs equal.
TEST_F(OpenClEmbeddingCache, OverlappedPiecesEqualResidentTables) {
  std::mt19937_64 rng(std::random_device{}());
  const uint64_t seed = rng();
  SCOPED_TRACE("seed " + std::to_string(seed));
  rng.seed(seed);
  for (const Config& c : {Config{{3001, 517, 1999}, 13, CAGR_DTYPE_F32, CAGR_DTYPE_I64, "sum", false, false},
                          Config{{2003, 999}, 7, CAGR_DTYPE_F16, CAGR_DTYPE_I32, "sum", true, true},
                          Config{{1501}, 5, CAGR_DTYPE_U8, CAGR_DTYPE_I64, "max", false, true}}) {
    SCOPED_TRACE(describe(c));
    int64_t total_rows = 0;
    for (int64_t r : c.rows) total_rows += r;
    const auto cached_plugin = load(std::to_string(total_rows / 2 * row_bytes(c)));  // half of each table
    std::mt19937_64 rng_b = rng;
    CachedLookup cached(*cached_plugin, rng, c), resident(*resident_, rng_b, c);
    cached.create(0, 211, 1000);
    resident.create(0, 211, 1000);
    double pieces = 0;
    for (const int64_t batch : {211, 0, 97, 301}) {
      const auto b = cached.random_batch(rng, batch, 30);  // about 15 ids per bag: 3,000 to 13,500 per batch
      ASSERT_EQ(cached.run(b), resident.run(b)) << "batch " << batch;
      const double now = cached.statistics().at("pieces");
      if (b.indices.size() > 2 * 4096) {
        EXPECT_GE(now - pieces, 2) << b.indices.size() << " ids in one piece";
      }
      pieces = now;
    }
  }
}

// A sample that needs more distinct rows of a table than its cache holds cannot be run in pieces:
// refused, naming the sample, the table, both counts and the option.
TEST_F(OpenClEmbeddingCache, ASampleBeyondTheCacheIsRefused) {
  std::mt19937_64 rng(std::random_device{}());
  const Config c{{100}, 4, CAGR_DTYPE_F32, CAGR_DTYPE_I64, "sum", false, false};
  const auto cached_plugin = load(std::to_string(2 * row_bytes(c)));
  CachedLookup cached(*cached_plugin, rng, c);
  cached.create(0, 2, 4);
  CachedLookup::Batch b{2, {5, 6, 7, 8}, {0, 1, 4}, {}};
  try {
    cached.run(b);
    FAIL() << "no error";
  } catch (const cagr::Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT) << e.what();
    EXPECT_NE(std::string(e.what()).find("sample 1 looks up 3 distinct rows of table 0, whose device cache holds 2"),
              std::string::npos)
        << e.what();
  }
}

// The static part (ABI 1.4 hot rows): up to half of each cache holds the profile's rows for good,
// which then hit every time; outputs stay equal.
TEST_F(OpenClEmbeddingCache, HotRowsArePinnedAndHit) {
  std::mt19937_64 rng(std::random_device{}());
  const Config c{{300, 50}, 8, CAGR_DTYPE_F32, CAGR_DTYPE_I64, "sum", false, false};
  const auto cached_plugin = load(std::to_string(70 * row_bytes(c)));  // caches of 35 rows each
  std::mt19937_64 rng_b = rng;
  CachedLookup cached(*cached_plugin, rng, c), resident(*resident_, rng_b, c);
  std::vector<int64_t> hot0, hot1 = {7};
  for (int64_t r = 0; r < 45; ++r) hot0.push_back(r * 6);  // more than half of 35 slots: 17 are pinned
  const std::vector<size_t> counts = {hot0.size(), hot1.size()};
  const std::vector<const int64_t*> rows = {hot0.data(), hot1.data()};
  auto hot = cagr::abi::make_struct<cagr_hot_rows_extension>();
  hot.type = CAGR_EXTENSION_HOT_ROWS;
  hot.num_tables = 2;
  hot.num_rows = counts.data();
  hot.rows = rows.data();
  cached.create(0, 16, 40, reinterpret_cast<const cagr_extension*>(&hot));
  resident.create(0, 16, 40);
  for (int run = 0; run < 3; ++run) {
    const auto b = cached.random_batch(rng, 16, 3);
    EXPECT_EQ(cached.run(b), resident.run(b));
  }
  CachedLookup::Batch pinned_only{2, {0, 6, 12, 7, 7}, {0, 2, 3, 4, 5}, {}};  // table 0: 0 6 | 12, table 1: 7 | 7
  EXPECT_EQ(cached.run(pinned_only), resident.run(pinned_only));
  const auto stats = cached.statistics();
  EXPECT_EQ(stats.at("table0.pinned_rows"), 17);
  EXPECT_EQ(stats.at("table1.pinned_rows"), 1);
  EXPECT_GE(stats.at("table0.static_hits"), 3);
  EXPECT_GE(stats.at("table1.static_hits"), 2);

  const std::vector<int64_t> bad0 = {1, 300, 2};  // out of range: a profile of another model
  const std::vector<size_t> bad_counts = {bad0.size(), hot1.size()};
  const std::vector<const int64_t*> bad_rows = {bad0.data(), hot1.data()};
  hot.num_rows = bad_counts.data();
  hot.rows = bad_rows.data();
  try {
    cached.create(0, 16, 40, reinterpret_cast<const cagr_extension*>(&hot));
    FAIL() << "no error";
  } catch (const cagr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("pinned row 300 is out of range"), std::string::npos) << e.what();
  }
}

TEST_F(OpenClEmbeddingCache, BadBudgetIsRefusedAtInit) {
  try {
    load("12x");
    FAIL() << "no error";
  } catch (const cagr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("table_budget_bytes='12x' is not a number of bytes"), std::string::npos) << e.what();
  }
}

}  // namespace

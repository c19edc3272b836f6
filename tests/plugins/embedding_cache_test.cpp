// embedding_cache_test.cpp - the host side of the embedding cache (abi/embedding_cache.hpp), which
// plugins share: slot mapping against a plain model of the cache, LRU eviction order, the cutting of
// a batch into pieces that fit, refusals, and the hit rate of skewed ids.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cagr_plugin_support.hpp"
#include "embedding_cache.hpp"
#include "random.hpp"
#include "zipf_sampler.hpp"

namespace {

using cagr::cache::EmbeddingCache;
using cagr::cache::Lookup;
using cagr::cache::Piece;

struct Batch {
  int64_t tables, batch;
  std::vector<int64_t> indices, offsets;
};

// Bags of `length` ids each (one table), the ids given in sample order.
Batch one_table(const std::vector<std::vector<int64_t>>& bags) {
  Batch b{1, static_cast<int64_t>(bags.size()), {}, {0}};
  for (const auto& bag : bags) {
    b.indices.insert(b.indices.end(), bag.begin(), bag.end());
    b.offsets.push_back(static_cast<int64_t>(b.indices.size()));
  }
  return b;
}

std::vector<Piece> map_all(EmbeddingCache& cache, const Batch& b, const std::vector<int64_t>* padding = nullptr) {
  std::vector<Piece> pieces;
  cache.map(Lookup{b.tables, b.batch, b.indices, b.offsets, nullptr, padding}, [&](const Piece& p) { pieces.push_back(p); });
  return pieces;
}

// Replays the pieces on a model of the device cache (slot -> row) and returns, per original id
// position, the row each remapped id reads: it must be the id itself.
void expect_pieces_read_the_ids(const Batch& b, const std::vector<Piece>& pieces, const std::vector<int64_t>& capacity,
                                std::vector<std::map<int64_t, int64_t>>& device, const std::vector<int64_t>* padding = nullptr) {
  int64_t sample = 0;
  for (const Piece& p : pieces) {
    ASSERT_EQ(p.first_sample, sample);
    ASSERT_GT(p.samples, 0);
    ASSERT_EQ(static_cast<int64_t>(p.offsets.size()), b.tables * p.samples + 1);
    for (const auto& f : p.fills) {
      ASSERT_GE(f.slot, 0);
      ASSERT_LT(f.slot, capacity[f.table]);
      device[f.table][f.slot] = f.row;
    }
    for (int64_t t = 0; t < b.tables; ++t)
      for (int64_t s = 0; s < p.samples; ++s) {
        const int64_t bag = t * b.batch + sample + s, piece_bag = t * p.samples + s;
        ASSERT_EQ(p.offsets[piece_bag + 1] - p.offsets[piece_bag], b.offsets[bag + 1] - b.offsets[bag]);
        for (int64_t k = 0; k < b.offsets[bag + 1] - b.offsets[bag]; ++k) {
          const int64_t id = b.indices[b.offsets[bag] + k], slot = p.indices[p.offsets[piece_bag] + k];
          if (padding != nullptr && id == (*padding)[t]) {
            EXPECT_EQ(slot, p.padding[t]);
            continue;
          }
          ASSERT_TRUE(device[t].count(slot)) << "slot " << slot << " read before it was filled";
          EXPECT_EQ(device[t][slot], id) << "table " << t << ", sample " << sample + s;
        }
      }
    sample += p.samples;
  }
  EXPECT_EQ(sample, b.batch);
}

TEST(EmbeddingCache, EvictsTheLeastRecentlyUsedRow) {
  EmbeddingCache cache({10}, {3});
  map_all(cache, one_table({{1, 2, 3}}));
  EXPECT_EQ(cache.lru_order(0), (std::vector<int64_t>{1, 2, 3}));
  map_all(cache, one_table({{1}}));  // 1 is now the most recent: 2 goes first
  EXPECT_EQ(cache.lru_order(0), (std::vector<int64_t>{2, 3, 1}));
  const auto pieces = map_all(cache, one_table({{4}}));
  ASSERT_EQ(pieces.size(), 1u);
  ASSERT_EQ(pieces[0].fills.size(), 1u);
  EXPECT_EQ(pieces[0].fills[0].row, 4);
  EXPECT_EQ(cache.lru_order(0), (std::vector<int64_t>{3, 1, 4}));
  map_all(cache, one_table({{5}, {6}}));
  EXPECT_EQ(cache.lru_order(0), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(cache.counters()[0].lookups, 7);
  EXPECT_EQ(cache.counters()[0].hits, 1);
  EXPECT_EQ(cache.counters()[0].misses, 6);
}

TEST(EmbeddingCache, EmptySlotsAreFilledBeforeAnyRowIsEvicted) {
  EmbeddingCache cache({8}, {4});
  EXPECT_EQ(cache.lru_order(0), (std::vector<int64_t>{-1, -1, -1, -1}));
  map_all(cache, one_table({{7}, {7, 0}}));
  EXPECT_EQ(cache.lru_order(0), (std::vector<int64_t>{-1, -1, 7, 0}));
}

// The static part: pinned rows take the first slots, hit without ever being evicted, and leave
// the LRU part the other slots.
TEST(EmbeddingCache, PinnedRowsStayAndTheRestIsLru) {
  EmbeddingCache cache({50}, {4}, {{9, 3, 9}});  // 9 twice: pinned once
  EXPECT_EQ(cache.pinned(0), 2);
  const auto fills = cache.pinned_fills();
  ASSERT_EQ(fills.size(), 2u);
  EXPECT_EQ(fills[0].row, 9);
  EXPECT_EQ(fills[0].slot, 0);
  EXPECT_EQ(fills[1].row, 3);
  EXPECT_EQ(fills[1].slot, 1);
  EXPECT_EQ(cache.lru_order(0), (std::vector<int64_t>{-1, -1}));
  const Batch b = one_table({{9, 1}, {3, 2}, {9, 4, 3}});  // 4 evicts 1: the pinned rows stay
  std::vector<std::map<int64_t, int64_t>> device(1);
  device[0] = {{0, 9}, {1, 3}};
  const auto pieces = map_all(cache, b);
  expect_pieces_read_the_ids(b, pieces, {4}, device);
  EXPECT_EQ(cache.lru_order(0), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(cache.counters()[0].static_hits, 4);
  EXPECT_EQ(cache.counters()[0].hits, 4);
  EXPECT_EQ(cache.counters()[0].misses, 3);
  for (const Piece& p : pieces)
    for (const auto& f : p.fills) EXPECT_GE(f.slot, 2) << "a pinned slot was refilled";
}

TEST(EmbeddingCache, PinnedRowsMustBeInRangeAndLeaveOneSlot) {
  EXPECT_THROW(EmbeddingCache({10}, {4}, {{10}}), cagr::plugin::Error);
  EXPECT_THROW(EmbeddingCache({10}, {3}, {{1, 2, 3}}), cagr::plugin::Error);
  try {
    EmbeddingCache({10, 20}, {4, 4}, {{}, {25}});
    FAIL() << "no error";
  } catch (const cagr::plugin::Error& e) {
    EXPECT_NE(std::string(e.what()).find("table 1: pinned row 25 is out of range"), std::string::npos) << e.what();
  }
}

// Random batches over several tables of odd sizes, caches from one slot to all rows: every piece
// reads exactly the ids of its samples, whatever was evicted before.
TEST(EmbeddingCache, PiecesReadTheirIdsOnRandomBatches) {
  std::mt19937_64 rng(std::random_device{}());
  const uint64_t seed = rng();
  SCOPED_TRACE("seed " + std::to_string(seed));
  rng.seed(seed);
  for (int round = 0; round < 30; ++round) {
    const int64_t tables = std::uniform_int_distribution<int64_t>(1, 4)(rng);
    std::vector<int64_t> rows, capacity, padding;
    for (int64_t t = 0; t < tables; ++t) {
      rows.push_back(std::uniform_int_distribution<int64_t>(1, 60)(rng));
      capacity.push_back(std::uniform_int_distribution<int64_t>(std::min<int64_t>(rows.back(), 6), rows.back())(rng));
      padding.push_back(std::uniform_int_distribution<int64_t>(-1, rows.back() - 1)(rng));
    }
    EmbeddingCache cache(rows, capacity);
    std::vector<std::map<int64_t, int64_t>> device(static_cast<size_t>(tables));
    for (int run = 0; run < 4; ++run) {
      Batch b{tables, std::uniform_int_distribution<int64_t>(0, 17)(rng), {}, {0}};
      for (int64_t t = 0; t < tables; ++t)
        for (int64_t s = 0; s < b.batch; ++s) {
          // At most capacity distinct rows per bag, so that every sample fits on its own.
          const int64_t length = std::uniform_int_distribution<int64_t>(0, std::min<int64_t>(capacity[t], 6))(rng);
          for (int64_t k = 0; k < length; ++k) b.indices.push_back(std::uniform_int_distribution<int64_t>(0, rows[t] - 1)(rng));
          b.offsets.push_back(static_cast<int64_t>(b.indices.size()));
        }
      const auto pieces = map_all(cache, b, &padding);
      expect_pieces_read_the_ids(b, pieces, capacity, device, &padding);
    }
  }
}

TEST(EmbeddingCache, ABatchLargerThanTheCacheComesInPieces) {
  EmbeddingCache cache({100}, {4});
  // Three samples of 3 distinct rows each: no two fit together in 4 slots.
  const Batch b = one_table({{1, 2, 3}, {4, 5, 6}, {7, 8, 1}});
  std::vector<std::map<int64_t, int64_t>> device(1);
  const auto pieces = map_all(cache, b);
  EXPECT_EQ(pieces.size(), 3u);
  expect_pieces_read_the_ids(b, pieces, {4}, device);
}

TEST(EmbeddingCache, ASampleThatCannotFitIsRefusedNamingIt) {
  EmbeddingCache cache({100}, {2});
  try {
    map_all(cache, one_table({{1}, {3, 4, 5, 3}}));
    FAIL() << "no error";
  } catch (const cagr::plugin::Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT);
    const std::string m = e.what();
    EXPECT_NE(m.find("sample 1 looks up 3 distinct rows of table 0, whose device cache holds 2"), std::string::npos) << m;
    EXPECT_NE(m.find("table_budget_bytes"), std::string::npos) << m;
  }
}

TEST(EmbeddingCache, BadIdsAndOffsetsAreRefusedNamingThePosition) {
  EmbeddingCache cache({10}, {4});
  try {
    map_all(cache, one_table({{1, 10}}));
    FAIL() << "no error";
  } catch (const cagr::plugin::Error& e) {
    EXPECT_NE(std::string(e.what()).find("index out of range at position 1: value 10 (valid: 0 .. 9)"), std::string::npos) << e.what();
  }
  Batch b = one_table({{1, 2}, {3}});
  b.offsets = {0, 2, 1};  // decreasing
  EXPECT_THROW(map_all(cache, b), cagr::plugin::Error);
  b.offsets = {0, 2, 2};  // does not end at the number of ids
  try {
    map_all(cache, b);
    FAIL() << "no error";
  } catch (const cagr::plugin::Error& e) {
    EXPECT_NE(std::string(e.what()).find("offsets invalid at position 2"), std::string::npos) << e.what();
  }
}

// A run refused for an id out of range maps nothing: the ids before the bad one must not be left
// assigned to slots whose fills were never copied, or the next run would hit stale slots.
TEST(EmbeddingCache, ARefusedRunLeavesTheCacheAsItWas) {
  EmbeddingCache cache({10}, {4});
  std::vector<std::map<int64_t, int64_t>> device(1);
  const Batch first = one_table({{1, 2}});
  expect_pieces_read_the_ids(first, map_all(cache, first), {4}, device);
  EXPECT_THROW(map_all(cache, one_table({{3, 5}, {1, 10}})), cagr::plugin::Error);
  EXPECT_EQ(cache.lru_order(0), (std::vector<int64_t>{-1, -1, 1, 2}));
  EXPECT_EQ(cache.counters()[0].lookups, 2);
  const Batch again = one_table({{3, 5}, {2}});
  expect_pieces_read_the_ids(again, map_all(cache, again), {4}, device);
}

// A limit on ids per piece cuts a batch that fits the cache into pieces of whole samples of at
// most that many ids (a longer sample alone), which read the same rows; an empty batch runs none.
TEST(EmbeddingCache, PiecesStayWithinTheirIdLimit) {
  std::mt19937_64 rng(std::random_device{}());
  const uint64_t seed = rng();
  SCOPED_TRACE("seed " + std::to_string(seed));
  rng.seed(seed);
  for (int round = 0; round < 20; ++round) {
    const int64_t tables = std::uniform_int_distribution<int64_t>(1, 3)(rng);
    const int64_t limit = std::uniform_int_distribution<int64_t>(1, 40)(rng);
    std::vector<int64_t> rows, capacity;
    for (int64_t t = 0; t < tables; ++t) {
      rows.push_back(std::uniform_int_distribution<int64_t>(1, 500)(rng));
      capacity.push_back(std::uniform_int_distribution<int64_t>(std::min<int64_t>(rows.back(), 9), rows.back())(rng));
    }
    EmbeddingCache cache(rows, capacity);
    std::vector<std::map<int64_t, int64_t>> device(static_cast<size_t>(tables));
    for (const int64_t batch : {std::uniform_int_distribution<int64_t>(1, 61)(rng), int64_t{0}}) {
      Batch b{tables, batch, {}, {0}};
      for (int64_t t = 0; t < tables; ++t)
        for (int64_t s = 0; s < batch; ++s) {
          const int64_t length = std::uniform_int_distribution<int64_t>(0, std::min<int64_t>(capacity[t], 9))(rng);
          for (int64_t k = 0; k < length; ++k) b.indices.push_back(std::uniform_int_distribution<int64_t>(0, rows[t] - 1)(rng));
          b.offsets.push_back(static_cast<int64_t>(b.indices.size()));
        }
      std::vector<Piece> pieces;
      cache.map(Lookup{b.tables, b.batch, b.indices, b.offsets, nullptr, nullptr}, [&](const Piece& p) { pieces.push_back(p); },
                limit);
      if (batch == 0) {
        EXPECT_TRUE(pieces.empty());
      }
      int64_t ids = 0;
      for (const Piece& p : pieces) {
        const int64_t n = static_cast<int64_t>(p.indices.size());
        EXPECT_TRUE(n <= limit || p.samples == 1) << n << " ids in a piece of " << p.samples << " samples, limit " << limit;
        ids += n;
      }
      EXPECT_EQ(ids, static_cast<int64_t>(b.indices.size()));
      // More ids than the limit must come in several pieces, unless one sample alone holds more
      // (it then goes whole: a single sample of 2 ids over a limit of 1 made one piece).
      int64_t largest_sample = 0;
      for (int64_t smp = 0; smp < batch; ++smp) {
        int64_t n = 0;
        for (int64_t t = 0; t < tables; ++t) n += b.offsets[t * batch + smp + 1] - b.offsets[t * batch + smp];
        largest_sample = std::max(largest_sample, n);
      }
      if (static_cast<int64_t>(b.indices.size()) > limit && largest_sample <= limit) {
        EXPECT_GT(pieces.size(), 1u);
      }
      expect_pieces_read_the_ids(b, pieces, capacity, device);
    }
  }
}

// Skewed ids (Zipf, s = 1.05, as click logs are) hit a cache of 10% of the rows far more often than
// uniform ids, whose hit rate is about the cache's fraction.
TEST(EmbeddingCache, ZipfIdsHitMoreOftenThanUniformIds) {
  const int64_t rows = 20000, capacity = 2000, batch = 256, bag = 8, batches = 40;
  auto hit_rate = [&](bool zipf) {
    EmbeddingCache cache({rows}, {capacity});
    cagr::data::Random random({42, zipf ? 1u : 0u});
    const cagr::data::ZipfSampler sampler(rows, 1.05);
    // Ranks scattered over the table, as hashed ids are.
    std::vector<int64_t> permutation(static_cast<size_t>(rows));
    for (int64_t i = 0; i < rows; ++i) permutation[static_cast<size_t>(i)] = (i * 7919) % rows;
    for (int64_t n = 0; n < batches; ++n) {
      Batch b{1, batch, {}, {0}};
      for (int64_t s = 0; s < batch; ++s) {
        for (int64_t k = 0; k < bag; ++k)
          b.indices.push_back(zipf ? permutation[static_cast<size_t>(sampler(random) - 1)]
                                   : static_cast<int64_t>(random.next() % static_cast<uint64_t>(rows)));
        b.offsets.push_back(static_cast<int64_t>(b.indices.size()));
      }
      map_all(cache, b);
    }
    const auto& c = cache.counters()[0];
    EXPECT_EQ(c.hits + c.misses, c.lookups);
    return static_cast<double>(c.hits) / static_cast<double>(c.lookups);
  };
  const double uniform = hit_rate(false), zipf = hit_rate(true);
  EXPECT_LT(uniform, 0.15);
  EXPECT_GT(zipf, uniform + 0.3) << "zipf " << zipf << ", uniform " << uniform;
}

}  // namespace

// embedding_cache.hpp - the host side of an embedding_bag whose tables stay in host memory while
// the device keeps a cache of rows (docs/EMBEDDING_CACHE.md). Shared by plugins: it knows nothing
// of devices. Per run it maps the bag's ids to cache slots (a hit: the row's slot; a miss: a slot
// taken from the least recently used row), and says which rows the plugin must copy to which slots
// before it runs its usual embedding_bag kernel on the cache with the remapped ids. A batch whose
// rows do not all fit the cache at once is cut into pieces of whole samples, each of which fits.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "cagr_plugin.h"

namespace cagr::cache {

// One run's inputs, read to host memory (any index dtype widened to int64).
struct Lookup {
  int64_t tables = 0, batch = 0;
  const std::vector<int64_t>& indices;   // [L]
  const std::vector<int64_t>& offsets;   // [T*B + 1]
  const std::vector<float>* weights;     // [L] with `weighted`, else nullptr
  const std::vector<int64_t>* padding;   // [T] with `padded`, else nullptr
};

// A row to copy from host table `table` (row `row`) into cache slot `slot` of that table.
struct Fill {
  int32_t table;
  int64_t row, slot;
};

// Samples [first_sample, first_sample + samples) of a run, mapped to the cache: the inputs of one
// embedding_bag launch on the cache (tables of `capacity` rows each), whose output is those
// samples' rows of the run's output.
struct Piece {
  int64_t first_sample = 0, samples = 0;
  std::vector<int64_t> indices;   // cache slots, table-local; a padding id becomes padding[t] below
  std::vector<int64_t> offsets;   // [T*samples + 1]
  std::vector<float> weights;     // with `weighted`
  std::vector<int64_t> padding;   // [T]: capacity[t] (a slot no id maps to) where the table has a padding id, else -1
  std::vector<Fill> fills;        // copy these before the launch
};

// Per table, counted since the cache was made.
struct TableCounters {
  int64_t lookups = 0;      // ids looked up (padding ids excluded)
  int64_t hits = 0;         // static_hits included
  int64_t static_hits = 0;  // of pinned rows
  int64_t misses = 0;       // = rows copied to the device
};

// The hot rows per table of a cagr_hot_rows_extension in `chain` (ABI 1.4), most frequent first;
// empty where the chain has none. INVALID_ARGUMENT where it describes another number of tables.
std::vector<std::vector<int64_t>> hot_rows_of(const cagr_extension* chain, size_t tables);

class EmbeddingCache {
 public:
  // Tables of `rows[t]` rows, each cached in `capacity[t]` slots (1 <= capacity <= rows; 0 for a
  // table without rows), of which the first hold `pinned[t]` (the static part: never evicted; a
  // row given twice is pinned once) and the others are shared by LRU (the dynamic part, at least
  // one slot). INVALID_ARGUMENT naming the table for a pinned row out of range or too many.
  EmbeddingCache(std::vector<int64_t> rows, std::vector<int64_t> capacity,
                 const std::vector<std::vector<int64_t>>& pinned = {});

  // The pinned rows, to be copied into their slots before the first run.
  std::vector<Fill> pinned_fills() const;
  int64_t pinned(int32_t table) const { return pinned_[static_cast<size_t>(table)]; }

  // Checks `lookup` as OPS.md does (offsets in order, ids in range; INVALID_ARGUMENT naming the
  // position), maps it, and calls `run_piece` for each piece in sample order. A sample whose bags
  // need more rows of one table than its cache holds is refused (INVALID_ARGUMENT naming the
  // sample, the table and both counts). A piece also ends before a sample that would take it past
  // `max_piece_ids` ids (a sample with more is a piece of its own), so that a plugin can overlap
  // one piece's host work with the device's work on the one before; 0: no such limit.
  void map(const Lookup& lookup, const std::function<void(const Piece&)>& run_piece, int64_t max_piece_ids = 0);

  const std::vector<int64_t>& capacity() const { return capacity_; }
  const std::vector<TableCounters>& counters() const { return counters_; }
  // Rows of `table`'s dynamic part from the least to the most recently used (empty slots hold -1):
  // what the next misses evict, in order.
  std::vector<int64_t> lru_order(int32_t table) const;

 private:
  // What the host knows of a slot, in one place: a lookup reads and writes all of it, and its list
  // neighbours' links, so a slot costs one cache line of the CPU rather than one per field.
  struct alignas(32) Slot {
    int64_t row = -1;     // -1: empty
    uint64_t piece = 0;   // the piece that last used the slot
    int32_t prev = -1, next = -1;  // the list; -1 ends it
  };
  // One table's slots, in a doubly linked list from least (head) to most (tail) recently used.
  struct Table {
    // -1: not cached. An evicted row's entry is left as it was (clearing it would cost a random
    // memory access per miss): the slot it names holds the row only while its `row` says so.
    std::vector<int32_t> slot_of_row;
    std::vector<Slot> slots;
    int32_t head = -1, tail = -1;
    int32_t slot_holding(int64_t row) const {  // -1: not cached
      const int32_t slot = slot_of_row[static_cast<size_t>(row)];
      return slot >= 0 && slots[static_cast<size_t>(slot)].row == row ? slot : -1;
    }
    void unlink(int32_t slot);
    void push_back(int32_t slot);
  };
  // INVALID_ARGUMENT naming the first position whose id is out of its table's range (padding ids
  // excepted).
  void check_rows(const Lookup& lookup) const;
  // Rows of table t that sample b needs and the current piece does not hold yet.
  int64_t new_rows(const Lookup& lookup, int32_t t, int64_t b, std::vector<int64_t>& scratch) const;
  int64_t slot_for(int32_t t, int64_t row, Piece& piece);

  std::vector<int64_t> rows_, capacity_, pinned_;
  std::vector<Table> tables_;
  std::vector<TableCounters> counters_;
  uint64_t piece_ = 1;  // the current piece's number; slots are stamped with it when used
  std::vector<int64_t> piece_rows_;  // per table: rows of the dynamic part the current piece uses
  // map()'s working vectors, kept so that their memory is reused from run to run: per table the
  // current piece's remapped ids, weights and bag ends (joined into piece_ when it runs).
  std::vector<std::vector<int64_t>> ids_, ends_;
  std::vector<std::vector<float>> weights_;
  Piece piece_out_;
};

}  // namespace cagr::cache

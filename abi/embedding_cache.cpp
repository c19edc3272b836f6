// embedding_cache.cpp - slot mapping, LRU eviction and the cutting of a batch into pieces.
#include "embedding_cache.hpp"

#include <algorithm>
#include <string>

#include "cagr_plugin_support.hpp"
#include "cagr_struct.hpp"

namespace cagr::cache {

using plugin::invalid;

namespace {

// How many ids ahead map() asks for an id's slot entry: enough to cover a memory latency with the
// work of the ids between.
constexpr int64_t kPrefetchAhead = 16;

// PyTorch's padding_idx (OPS.md): skipped, not looked up; a negative padding row means none.
bool is_padding(const Lookup& in, int64_t t, int64_t row) {
  return in.padding != nullptr && (*in.padding)[t] >= 0 && row == (*in.padding)[t];
}

}  // namespace

std::vector<std::vector<int64_t>> hot_rows_of(const cagr_extension* chain, size_t tables) {
  for (const cagr_extension* e = chain; e != nullptr; e = e->next) {
    if (e->type != CAGR_EXTENSION_HOT_ROWS || !CAGR_STRUCT_HAS(e, cagr_hot_rows_extension, rows)) continue;
    const auto* hot = reinterpret_cast<const cagr_hot_rows_extension*>(e);
    if (hot->num_tables != tables)
      invalid("embedding_bag: the hot rows name " + std::to_string(hot->num_tables) + " tables, the op has " +
              std::to_string(tables));
    std::vector<std::vector<int64_t>> out(tables);
    for (size_t t = 0; t < tables; ++t)
      if (hot->num_rows[t] > 0) out[t].assign(hot->rows[t], hot->rows[t] + hot->num_rows[t]);
    return out;
  }
  return {};
}

EmbeddingCache::EmbeddingCache(std::vector<int64_t> rows, std::vector<int64_t> capacity,
                               const std::vector<std::vector<int64_t>>& pinned)
    : rows_(std::move(rows)), capacity_(std::move(capacity)), pinned_(rows_.size(), 0), tables_(rows_.size()),
      counters_(rows_.size()) {
  if (capacity_.size() != rows_.size()) invalid("embedding cache: a capacity per table is needed");
  if (!pinned.empty() && pinned.size() != rows_.size()) invalid("embedding cache: pinned rows are needed per table");
  for (size_t t = 0; t < rows_.size(); ++t) {
    if (capacity_[t] < std::min<int64_t>(1, rows_[t]) || capacity_[t] > rows_[t] || capacity_[t] > INT32_MAX)
      invalid("embedding cache: table " + std::to_string(t) + " of " + std::to_string(rows_[t]) + " rows cannot be cached in " +
              std::to_string(capacity_[t]) + " slots (1 .. rows, up to 2^31 - 1)");
    Table& table = tables_[t];
    table.slot_of_row.assign(static_cast<size_t>(rows_[t]), -1);
    table.slots.assign(static_cast<size_t>(capacity_[t]), Slot{});
    for (int64_t row : pinned.empty() ? std::vector<int64_t>{} : pinned[t]) {
      if (row < 0 || row >= rows_[t])
        invalid("embedding cache: table " + std::to_string(t) + ": pinned row " + std::to_string(row) +
                " is out of range (valid: 0 .. " + std::to_string(rows_[t] - 1) + "; a profile of another model?)");
      if (table.slot_of_row[row] >= 0) continue;
      if (pinned_[t] + 1 >= capacity_[t])
        invalid("embedding cache: table " + std::to_string(t) + ": more pinned rows than its " + std::to_string(capacity_[t]) +
                " slots less one");
      table.slot_of_row[row] = static_cast<int32_t>(pinned_[t]);
      table.slots[pinned_[t]].row = row;
      ++pinned_[t];
    }
    for (int32_t s = static_cast<int32_t>(pinned_[t]); s < static_cast<int32_t>(capacity_[t]); ++s) table.push_back(s);
  }
}

std::vector<Fill> EmbeddingCache::pinned_fills() const {
  std::vector<Fill> out;
  for (size_t t = 0; t < tables_.size(); ++t)
    for (int64_t s = 0; s < pinned_[t]; ++s) out.push_back({static_cast<int32_t>(t), tables_[t].slots[s].row, s});
  return out;
}

void EmbeddingCache::Table::unlink(int32_t slot) {
  const int32_t p = slots[slot].prev, n = slots[slot].next;
  (p >= 0 ? slots[p].next : head) = n;
  (n >= 0 ? slots[n].prev : tail) = p;
  slots[slot].prev = slots[slot].next = -1;
}

void EmbeddingCache::Table::push_back(int32_t slot) {
  slots[slot].prev = tail;
  slots[slot].next = -1;
  (tail >= 0 ? slots[tail].next : head) = slot;
  tail = slot;
}

std::vector<int64_t> EmbeddingCache::lru_order(int32_t t) const {
  std::vector<int64_t> out;
  const Table& table = tables_.at(static_cast<size_t>(t));
  for (int32_t s = table.head; s >= 0; s = table.slots[s].next) out.push_back(table.slots[s].row);
  return out;
}

void EmbeddingCache::check_rows(const Lookup& in) const {
  for (int64_t t = 0; t < in.tables; ++t)
    for (int64_t i = in.offsets[t * in.batch]; i < in.offsets[(t + 1) * in.batch]; ++i) {
      const int64_t row = in.indices[i];
      if ((row < 0 || row >= rows_[t]) && !is_padding(in, t, row))
        invalid("embedding_bag: table " + std::to_string(t) + " index out of range at position " + std::to_string(i) +
                ": value " + std::to_string(row) + " (valid: 0 .. " + std::to_string(rows_[t] - 1) + ")");
    }
}

int64_t EmbeddingCache::new_rows(const Lookup& in, int32_t t, int64_t b, std::vector<int64_t>& scratch) const {
  const Table& table = tables_[t];
  scratch.clear();
  const int64_t bag = t * in.batch + b;
  for (int64_t i = in.offsets[bag]; i < in.offsets[bag + 1]; ++i) {
    const int64_t row = in.indices[i];
    if (is_padding(in, t, row)) continue;
    const int32_t slot = table.slot_holding(row);
    if (slot < 0 || (slot >= pinned_[t] && table.slots[slot].piece != piece_)) scratch.push_back(row);
  }
  std::sort(scratch.begin(), scratch.end());
  return std::unique(scratch.begin(), scratch.end()) - scratch.begin();
}

// The slot of `row` (in range) for the current piece: its own where cached, else
// the least recently used slot, whose row is evicted (never one the piece uses: map() admits a
// sample only when the piece's rows fit, and the piece's slots are the most recently used).
// Counts the rows the piece holds in piece_rows_.
int64_t EmbeddingCache::slot_for(int32_t t, int64_t row, Piece& piece) {
  Table& table = tables_[t];
  TableCounters& count = counters_[t];
  ++count.lookups;
  int32_t slot = table.slot_holding(row);
  if (slot >= 0 && slot < pinned_[t]) {
    ++count.hits;
    ++count.static_hits;
    return slot;
  }
  if (slot >= 0) {
    ++count.hits;
    if (table.slots[slot].piece != piece_) ++piece_rows_[t];
  } else {
    ++count.misses;
    ++piece_rows_[t];
    slot = table.head;
    table.slots[slot].row = row;
    table.slot_of_row[row] = slot;
    piece.fills.push_back({t, row, slot});
  }
  if (slot != table.tail) {
    table.unlink(slot);
    table.push_back(slot);
  }
  // The next miss evicts the new head, whose unlinking writes its successor's slot: a random
  // memory access, asked for now (the head's own slot was just written, so its link is at hand).
  if (table.head >= 0 && table.slots[table.head].next >= 0) __builtin_prefetch(&table.slots[table.slots[table.head].next]);
  table.slots[slot].piece = piece_;
  return slot;
}

void EmbeddingCache::map(const Lookup& in, const std::function<void(const Piece&)>& run_piece, int64_t max_piece_ids) {
  const int64_t T = in.tables, B = in.batch, L = static_cast<int64_t>(in.indices.size());
  if (T != static_cast<int64_t>(rows_.size())) invalid("embedding cache: the lookup has a different number of tables");
  if (static_cast<int64_t>(in.offsets.size()) != T * B + 1) invalid("embedding_bag: offsets must hold T*B + 1 values");
  for (int64_t p = 0; p <= T * B; ++p) {
    const int64_t v = in.offsets[p];
    const bool bad = (p == 0 && v != 0) || (p > 0 && v < in.offsets[p - 1]) || v > L || (p == T * B && v != L);
    if (bad)
      invalid("embedding_bag: table " + std::to_string(std::min(p / std::max<int64_t>(B, 1), std::max<int64_t>(T - 1, 0))) +
              " offsets invalid at position " + std::to_string(p) + ": value " + std::to_string(v) +
              " (offsets must start at 0, never decrease and end at the number of indices, " + std::to_string(L) + ")");
  }
  // Every id before any is mapped: a run refused half way would leave rows assigned to slots
  // whose fills were never copied, and later hits on them would read stale slots.
  check_rows(in);

  ids_.resize(static_cast<size_t>(T));
  ends_.resize(static_cast<size_t>(T));
  weights_.resize(static_cast<size_t>(T));
  std::vector<int64_t> need(static_cast<size_t>(T), 0), scratch;
  piece_rows_.assign(static_cast<size_t>(T), 0);
  Piece& piece = piece_out_;
  piece.first_sample = piece.samples = 0;
  piece.fills.clear();
  piece.padding.clear();
  for (int64_t t = 0; t < T; ++t)
    piece.padding.push_back(in.padding != nullptr && (*in.padding)[t] >= 0 ? capacity_[t] : -1);
  int64_t piece_ids = 0;

  auto run = [&] {
    piece.indices.clear();
    piece.weights.clear();
    piece.offsets.assign(1, 0);
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t end : ends_[t]) piece.offsets.push_back(static_cast<int64_t>(piece.indices.size()) + end);
      piece.indices.insert(piece.indices.end(), ids_[t].begin(), ids_[t].end());
      piece.weights.insert(piece.weights.end(), weights_[t].begin(), weights_[t].end());
      ids_[t].clear();
      ends_[t].clear();
      weights_[t].clear();
      piece_rows_[t] = 0;
    }
    run_piece(piece);
    piece.fills.clear();
    piece.first_sample += piece.samples;
    piece.samples = 0;
    piece_ids = 0;
    ++piece_;
  };
  auto fits = [&](const std::vector<int64_t>& rows) {
    for (int32_t t = 0; t < T; ++t)
      if (piece_rows_[t] + rows[t] > capacity_[t] - pinned_[t]) return false;
    return true;
  };

  for (int64_t b = 0; b < B; ++b) {
    // At most every id of the sample is new to the piece: where even that fits, nothing is counted.
    int64_t sample_ids = 0;
    for (int32_t t = 0; t < T; ++t) sample_ids += need[t] = in.offsets[t * B + b + 1] - in.offsets[t * B + b];
    if (max_piece_ids > 0 && piece.samples > 0 && piece_ids + sample_ids > max_piece_ids) run();
    if (!fits(need)) {
      for (int32_t t = 0; t < T; ++t) need[t] = new_rows(in, t, b, scratch);
      if (!fits(need)) {
        // The piece so far runs, and this sample starts the next one, where it must fit alone.
        if (piece.samples > 0) {
          run();
          for (int32_t t = 0; t < T; ++t) need[t] = new_rows(in, t, b, scratch);
        }
        for (int32_t t = 0; t < T; ++t)
          if (need[t] > capacity_[t] - pinned_[t])
            invalid("embedding_bag: sample " + std::to_string(b) + " looks up " + std::to_string(need[t]) +
                    " distinct rows of table " + std::to_string(t) + ", whose device cache holds " +
                    std::to_string(capacity_[t] - pinned_[t]) +
                    (pinned_[t] > 0 ? " besides its " + std::to_string(pinned_[t]) + " pinned rows" : std::string()) +
                    " (raise the plugin option table_budget_bytes)");
      }
    }
    for (int32_t t = 0; t < T; ++t) {
      const int64_t bag = t * B + b, table_end = in.offsets[(t + 1) * B];
      const std::vector<int32_t>& slot_of_row = tables_[t].slot_of_row;
      const std::vector<Slot>& slots = tables_[t].slots;
      for (int64_t i = in.offsets[bag]; i < in.offsets[bag + 1]; ++i) {
        // The slot table is too large for the CPU's caches at large tables, and each id reads a
        // random entry of it: asking for the entry of an id a few lookups ahead overlaps those
        // memory latencies instead of taking them one after another.
        if (i + kPrefetchAhead < table_end) {
          const uint64_t ahead = static_cast<uint64_t>(in.indices[i + kPrefetchAhead]);
          if (ahead < slot_of_row.size()) __builtin_prefetch(&slot_of_row[ahead]);
        }
        // Halfway there, that entry has arrived, and the slot it names is asked for in turn.
        if (i + kPrefetchAhead / 2 < table_end) {
          const uint64_t ahead = static_cast<uint64_t>(in.indices[i + kPrefetchAhead / 2]);
          if (ahead < slot_of_row.size() && slot_of_row[ahead] >= 0) __builtin_prefetch(&slots[slot_of_row[ahead]]);
        }
        const int64_t row = in.indices[i];
        ids_[t].push_back(is_padding(in, t, row) ? piece.padding[t] : slot_for(t, row, piece));
        if (in.weights != nullptr) weights_[t].push_back((*in.weights)[i]);
      }
      ends_[t].push_back(static_cast<int64_t>(ids_[t].size()));
    }
    piece_ids += sample_ids;
    ++piece.samples;
  }
  if (piece.samples > 0) run();
}

}  // namespace cagr::cache

// embedding_bag_cached.cpp - embedding_bag on tables larger than the device's table budget: the
// tables stay in host memory and the device holds a cache of rows (docs/EMBEDDING_CACHE.md). Per
// run the ids are read back and mapped to cache slots on the host (abi/embedding_cache.hpp) a piece
// of the batch at a time. Per piece the missing rows are gathered into a staging buffer, which the
// device reads in place, and scattered into their slots, and embedding_bag.cl runs on the cache
// with the remapped ids, while the host goes on to the next piece. The same kernel reads the same
// row values in the same order, so the outputs equal an uncached run's bit for bit.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "device.hpp"
#include "embedding_bag_cl.hpp"
#include "embedding_cache.hpp"
#include "ops/embedding_bag.hpp"

namespace cagr::opencl {

namespace {

using Sizes = EmbeddingBagSizes;
using Clock = std::chrono::steady_clock;

// Rows gather_rows asks for ahead of the one it copies.
constexpr size_t kRowsAhead = 8;
// Pieces a batch is cut into at most, and the fewest ids worth a piece of its own (piece_ids).
// On PoCL on the 2-core VM, 1, 4, 8 and 16 pieces measured alike (docs/PERF.md, "Embedding
// cache"): the host's gather slows down as much as the overlap gains while PoCL's thread works
// beside it. Four keeps the overlap for a device that works apart from the host.
constexpr int64_t kPieces = 4;
constexpr int64_t kMinPieceIds = 4096;

double us_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// A device buffer that grows to the largest size asked of it and is then reused.
class GrowingBuffer {
 public:
  cl_mem at_least(const Device& device, size_t bytes) {
    if (!mem_ || bytes > bytes_) {
      cl_int status = CL_SUCCESS;
      bytes_ = std::max<size_t>({bytes, 2 * bytes_, 64});
      mem_ = MemHandle(clCreateBuffer(device.context(), CL_MEM_READ_WRITE, bytes_, nullptr, &status));
      check_cl(status, "embedding_bag (cached): allocating a scratch buffer");
    }
    return mem_.get();
  }
 private:
  MemHandle mem_;
  size_t bytes_ = 0;
};

// `count` integers of `dtype` (i32 / i64) from `mem`, widened into `out`; blocking, so it waits
// for the work queued before it (the upload of this run's ids).
void read_ints(cl_command_queue queue, cl_mem mem, int64_t count, cagr_dtype dtype, std::vector<int64_t>& out,
               std::vector<int32_t>& narrow) {
  out.resize(static_cast<size_t>(count));
  if (count == 0) return;
  if (dtype == CAGR_DTYPE_I64) {
    check_cl(clEnqueueReadBuffer(queue, mem, CL_TRUE, 0, out.size() * 8, out.data(), 0, nullptr, nullptr),
             "embedding_bag (cached): reading the ids");
    return;
  }
  narrow.resize(out.size());
  check_cl(clEnqueueReadBuffer(queue, mem, CL_TRUE, 0, narrow.size() * 4, narrow.data(), 0, nullptr, nullptr),
           "embedding_bag (cached): reading the ids");
  std::copy(narrow.begin(), narrow.end(), out.begin());
}

std::vector<int64_t> ints_of(const void* data, int64_t count, cagr_dtype dtype) {
  std::vector<int64_t> out(static_cast<size_t>(count));
  for (size_t i = 0; i < out.size(); ++i) {
    if (dtype == CAGR_DTYPE_I64) {
      std::memcpy(&out[i], static_cast<const char*>(data) + 8 * i, 8);
    } else {
      int32_t v;
      std::memcpy(&v, static_cast<const char*>(data) + 4 * i, 4);
      out[i] = v;
    }
  }
  return out;
}

// Cache rows per table: each table gets the same number of rows L, or all of its rows where it has
// fewer, with L as large as the budget allows (water-filling), and at least one (none for a table
// without rows, where every id is out of range). Every table takes one lookup per sample, so a
// slot of a small table is hit far more often than one of a large table: shared in proportion to
// the rows instead, the sample DLRM's tables of 15-18 rows got one slot each under a 1 MiB budget
// and hit 5-7% of their lookups, beside 90% for the 100,000-row tables.
std::vector<int64_t> capacities(const Sizes& s, uint64_t budget_bytes) {
  std::vector<size_t> by_rows(s.rows.size());
  for (size_t t = 0; t < by_rows.size(); ++t) by_rows[t] = t;
  std::sort(by_rows.begin(), by_rows.end(), [&](size_t a, size_t b) { return s.rows[a] < s.rows[b]; });
  int64_t left = static_cast<int64_t>(budget_bytes / s.row_bytes());
  std::vector<int64_t> out(s.rows.size());
  for (size_t k = 0; k < by_rows.size(); ++k) {
    const int64_t rows = s.rows[by_rows[k]], share = left / static_cast<int64_t>(by_rows.size() - k);
    out[by_rows[k]] = std::clamp<int64_t>(share, std::min<int64_t>(1, rows), rows);
    left = std::max<int64_t>(0, left - out[by_rows[k]]);
  }
  return out;
}

class CachedEmbeddingBag final : public OpKernel {
 public:
  CachedEmbeddingBag(Device& device, const Sizes& s, const BagLayout& layout, const std::vector<const void*>& host,
                     const std::vector<int64_t>& capacity, const std::vector<std::vector<int64_t>>& pinned)
      : device_(device), layout_(layout), dim_(s.dim), row_bytes_(s.row_bytes()), cache_(s.rows, capacity, pinned),
        tables_layout_(device, std::vector<cl_long>(capacity.begin(), capacity.end())) {
    for (int64_t t = 0; t < s.tables; ++t) {
      const auto* data = static_cast<const uint8_t*>(host[2 + static_cast<size_t>(t)]);
      host_tables_.emplace_back(data, data + s.rows[t] * row_bytes_);
      first_slot_.push_back(t == 0 ? 0 : first_slot_.back() + capacity[t - 1]);
    }
    if (s.padded && host[s.padding_input()] != nullptr) padding_ = ints_of(host[s.padding_input()], s.tables, s.padding_dtype);
    // The cache's ids, offsets and padding rows are int64, whatever the run's dtypes.
    const std::string options = bag_build_options(s, layout, CAGR_DTYPE_I64, CAGR_DTYPE_I64, CAGR_DTYPE_I64);
    bags_ = make_kernel(device, source::embedding_bag, options, "embedding_bag");
    fill_ = make_kernel(device, source::embedding_bag, options, "fill_cache_rows");
    cl_int status = CL_SUCCESS;
    const size_t bytes = static_cast<size_t>((first_slot_.back() + capacity.back()) * row_bytes_);
    cache_rows_ = MemHandle(clCreateBuffer(device.context(), CL_MEM_READ_WRITE, std::max<size_t>(4, bytes), nullptr, &status));
    check_cl(status, "embedding_bag (cached): allocating the cache");
    upload_pinned_rows();
  }

  ~CachedEmbeddingBag() override {
    // Commands still queued read the staging vectors: they must complete before the vectors go.
    // A failed wait cannot be reported from here (nor thrown from a destructor); the stream's own
    // synchronisation reports what failed.
    for (Staging& staging : staging_)
      if (staging.done) {
        const cl_event event = staging.done.get();
        clWaitForEvents(1, &event);
      }
  }

  void run(const Launch& launch) override {
    const Sizes& s = std::get<Sizes>(launch.sizes);
    const Clock::time_point start = Clock::now();
    read_ints(launch.queue, launch.inputs[0], s.num_indices, s.index_dtype, indices_, narrow_);
    read_ints(launch.queue, launch.inputs[1], s.tables * s.batch + 1, s.offset_dtype, offsets_, narrow_);
    if (s.weighted) {
      weights_.resize(static_cast<size_t>(s.num_indices));
      if (s.num_indices > 0)
        check_cl(clEnqueueReadBuffer(launch.queue, launch.inputs[s.weights_input()], CL_TRUE, 0, weights_.size() * 4,
                                     weights_.data(), 0, nullptr, nullptr),
                 "embedding_bag (cached): reading the weights");
    }
    if (s.padded && padding_.empty())
      read_ints(launch.queue, launch.inputs[s.padding_input()], s.tables, s.padding_dtype, run_padding_, narrow_);
    const std::vector<int64_t>& padding = padding_.empty() ? run_padding_ : padding_;
    times_.read_us += us_since(start);

    const Clock::time_point mapping = Clock::now();
    double in_pieces_us = 0;
    cache_.map(cache::Lookup{s.tables, s.batch, indices_, offsets_, s.weighted ? &weights_ : nullptr, s.padded ? &padding : nullptr},
               [&](const cache::Piece& piece) {
                 const Clock::time_point piece_start = Clock::now();
                 run_piece(launch, s, piece);
                 in_pieces_us += us_since(piece_start);
               },
               piece_ids(s.num_indices));
    times_.map_us += us_since(mapping) - in_pieces_us;
    ++times_.runs;
  }

  std::vector<std::pair<std::string, double>> statistics() const override {
    std::vector<std::pair<std::string, double>> out;
    const std::vector<cache::TableCounters>& counters = cache_.counters();
    for (size_t t = 0; t < counters.size(); ++t) {
      const std::string table = "table" + std::to_string(t) + ".";
      out.emplace_back(table + "cache_rows", static_cast<double>(cache_.capacity()[t]));
      out.emplace_back(table + "rows", static_cast<double>(host_tables_[t].size() / static_cast<size_t>(row_bytes_)));
      out.emplace_back(table + "lookups", static_cast<double>(counters[t].lookups));
      out.emplace_back(table + "pinned_rows", static_cast<double>(cache_.pinned(static_cast<int32_t>(t))));
      out.emplace_back(table + "hits", static_cast<double>(counters[t].hits));
      out.emplace_back(table + "static_hits", static_cast<double>(counters[t].static_hits));
      out.emplace_back(table + "misses", static_cast<double>(counters[t].misses));
    }
    out.emplace_back("runs", static_cast<double>(times_.runs));
    out.emplace_back("pieces", static_cast<double>(times_.pieces));
    out.emplace_back("read_ids_us", times_.read_us);
    out.emplace_back("host_gather_us", times_.map_us + times_.gather_us);
    out.emplace_back("copy_us", times_.copy_us);
    out.emplace_back("enqueue_us", times_.enqueue_us);
    return out;
  }

 private:
  // One piece's inputs for the device: host vectors, which the device reads in place through
  // buffers made on them (CL_MEM_USE_HOST_PTR), so no copy is queued: on PoCL the kernels read the
  // host's memory itself, and a GPU's runtime copies them over when the kernels need them. The
  // vectors may change only once the piece's commands are done (`done`). Two sets alternate.
  struct Staging {
    std::vector<uint8_t> rows;
    std::vector<int64_t> slots, ids, offsets, padding;
    std::vector<float> weights;
    std::vector<MemHandle> buffers;  // made on the vectors for the piece that used them last
    EventHandle done;                // that piece's last command (the queue is in order: all of them)
    // Until the vectors may be written again; then the buffers made on them go.
    void wait() {
      if (done) {
        const cl_event event = done.get();
        check_cl(clWaitForEvents(1, &event), "embedding_bag (cached): waiting for a piece");
        done.reset();
      }
      buffers.clear();
    }
    // A buffer the device reads `values` through, or `empty` where there are none (OpenCL has no
    // buffers of 0 bytes; the kernels then read nothing from it).
    template <class T>
    cl_mem on(const Device& device, std::vector<T>& values, cl_mem empty) {
      if (values.empty()) return empty;
      cl_int status = CL_SUCCESS;
      buffers.emplace_back(clCreateBuffer(device.context(), CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, values.size() * sizeof(T),
                                          values.data(), &status));
      check_cl(status, "embedding_bag (cached): making a buffer on the staged values");
      return buffers.back().get();
    }
  };

  // The static part: pinned rows take each table's first slots, so each table's are one copy.
  void upload_pinned_rows() {
    cl_int status = CL_SUCCESS;
    QueueHandle queue(clCreateCommandQueue(device_.context(), device_.id(), 0, &status));
    check_cl(status, "clCreateCommandQueue");
    const std::vector<cache::Fill> fills = cache_.pinned_fills();
    std::vector<uint8_t> staged;
    for (size_t t = 0; t < host_tables_.size(); ++t) {
      staged.clear();
      for (const cache::Fill& f : fills)
        if (f.table == static_cast<int32_t>(t))
          staged.insert(staged.end(), host_tables_[t].data() + f.row * row_bytes_,
                         host_tables_[t].data() + (f.row + 1) * row_bytes_);
      if (!staged.empty())
        check_cl(clEnqueueWriteBuffer(queue.get(), cache_rows_.get(), CL_TRUE, static_cast<size_t>(first_slot_[t] * row_bytes_),
                                      staged.size(), staged.data(), 0, nullptr, nullptr),
                 "embedding_bag (cached): copying the pinned rows");
    }
  }

  // Gathers the piece's missing rows on the host into a staging set with the remapped ids, queues
  // the fill of the cache's slots from them and the pooling of the piece's samples into the output
  // (through a scratch buffer when the batch came in several pieces: a launch writes its output
  // from the first sample on). Nothing here waits for the device, except for the piece two before,
  // which used the same staging set: so the host maps and gathers piece i + 1 while the device
  // fills and pools piece i.
  void run_piece(const Launch& launch, const Sizes& s, const cache::Piece& piece) {
    Staging& staging = staging_[static_cast<size_t>(times_.pieces++ % 2)];
    Clock::time_point step = Clock::now();
    staging.wait();
    times_.copy_us += us_since(step);

    step = Clock::now();
    gather_rows(piece.fills, staging);
    staging.ids = piece.indices;
    staging.offsets = piece.offsets;
    if (s.weighted) staging.weights = piece.weights;
    if (s.padded) staging.padding = piece.padding;
    times_.gather_us += us_since(step);

    step = Clock::now();
    const cl_mem none = cache_rows_.get();
    const cl_mem staged = staging.on(device_, staging.rows, none);
    const cl_mem slots = staging.on(device_, staging.slots, none);
    const cl_mem ids = staging.on(device_, staging.ids, none);
    const cl_mem offsets = staging.on(device_, staging.offsets, none);
    const cl_mem weights = s.weighted ? staging.on(device_, staging.weights, none) : none;
    const cl_mem padding = s.padded ? staging.on(device_, staging.padding, none) : none;
    times_.copy_us += us_since(step);

    step = Clock::now();
    if (!piece.fills.empty()) {
      set_args(fill_.get(), staged, slots, cache_rows_.get(), static_cast<cl_long>(row_bytes_),
               static_cast<cl_long>(piece.fills.size()));
      launch_1d(launch.queue, fill_.get(), piece.fills.size(), simple_group(device_));
    }
    const bool whole = piece.first_sample == 0 && piece.samples == s.batch;
    const size_t out_bytes = static_cast<size_t>(piece.samples * s.tables * dim_) * sizeof(float);
    const cl_mem pooled = whole ? launch.outputs[0] : pooled_buffer_.at_least(device_, out_bytes);
    enqueue_bags(launch.queue, bags_.get(), layout_, dim_,
                 BagArgs{ids, static_cast<int64_t>(piece.indices.size()), offsets, cache_rows_.get(), tables_layout_, weights,
                         padding, pooled, s.tables, piece.samples},
                 launch.error_record);
    if (!whole && out_bytes > 0) {
      const size_t at = static_cast<size_t>(piece.first_sample * s.tables * dim_) * sizeof(float);
      check_cl(clEnqueueCopyBuffer(launch.queue, pooled, launch.outputs[0], 0, at, out_bytes, 0, nullptr, nullptr),
               "embedding_bag (cached): placing a piece's output");
    }
    cl_event done = nullptr;
    check_cl(clEnqueueMarkerWithWaitList(launch.queue, 0, nullptr, &done), "embedding_bag (cached): marking a piece's end");
    staging.done = EventHandle(done);
    // OpenCL promises to issue queued commands to the device only once they are flushed (PoCL
    // starts them at once; others may hold them until the next blocking call), and the piece is
    // to run while the host maps the next.
    check_cl(clFlush(launch.queue), "embedding_bag (cached): clFlush");
    times_.enqueue_us += us_since(step);
  }

  // The rows of `fills` from the host tables into `staging.rows`, one after another, and their
  // slots in the cache buffer into `staging.slots`. The rows are scattered over tables far larger
  // than the CPU's caches: the row a few fills ahead is asked for while this one is copied, so
  // that their memory latencies overlap.
  void gather_rows(const std::vector<cache::Fill>& fills, Staging& staging) const {
    const size_t row_bytes = static_cast<size_t>(row_bytes_);
    staging.rows.resize(fills.size() * row_bytes);
    staging.slots.resize(fills.size());
    for (size_t f = 0; f < fills.size(); ++f) {
      if (f + kRowsAhead < fills.size()) {
        const cache::Fill& ahead = fills[f + kRowsAhead];
        const uint8_t* row = &host_tables_[ahead.table][static_cast<size_t>(ahead.row) * row_bytes];
        for (size_t byte = 0; byte < row_bytes; byte += 64) __builtin_prefetch(row + byte);
      }
      const cache::Fill& fill = fills[f];
      std::memcpy(&staging.rows[f * row_bytes], &host_tables_[fill.table][static_cast<size_t>(fill.row) * row_bytes], row_bytes);
      staging.slots[f] = first_slot_[fill.table] + fill.slot;
    }
  }

  // The most ids a piece takes: a batch is cut into about kPieces pieces, so that the host's work
  // on one overlaps the device's on another, but not into pieces of fewer than kMinPieceIds ids,
  // whose launches would cost more than they hide.
  static int64_t piece_ids(int64_t num_indices) {
    return std::max<int64_t>((num_indices + kPieces - 1) / kPieces, kMinPieceIds);
  }

  Device& device_;
  BagLayout layout_;
  int64_t dim_, row_bytes_;
  cache::EmbeddingCache cache_;
  std::vector<std::vector<uint8_t>> host_tables_;  // the tables as kernel_create gave them
  std::vector<int64_t> first_slot_;                // per table: its first row in cache_rows_
  std::vector<int64_t> padding_;                   // constant padding rows, else empty (read per run)
  TableLayout tables_layout_;
  KernelHandle bags_, fill_;
  MemHandle cache_rows_;
  // A run's inputs read back to the host, kept so that their memory is reused from run to run.
  std::vector<int64_t> indices_, offsets_, run_padding_;
  std::vector<int32_t> narrow_;
  std::vector<float> weights_;
  Staging staging_[2];
  GrowingBuffer pooled_buffer_;
  struct {
    int64_t runs = 0, pieces = 0;
    double read_us = 0, map_us = 0, gather_us = 0, copy_us = 0, enqueue_us = 0;
  } times_;
};

}  // namespace

std::unique_ptr<OpKernel> create_cached_embedding_bag(Device& device, const Sizes& s, const std::string& variant,
                                                      const std::vector<const void*>& host_constants, uint64_t budget_bytes,
                                                      const cagr_extension* extensions) {
  uint64_t bytes = 0;
  for (int64_t t = 0; t < s.tables; ++t) {
    if (host_constants[2 + static_cast<size_t>(t)] == nullptr) return nullptr;  // tables given per run: not cached
    bytes += static_cast<uint64_t>(s.rows[t] * s.row_bytes());
  }
  if (bytes <= budget_bytes) return nullptr;
  const std::vector<int64_t> capacity = capacities(s, budget_bytes);
  // The profile's hottest rows fill at most half of each cache: the rest stays for rows that turn
  // hot while running, and for batches whose rows are not in the profile.
  std::vector<std::vector<int64_t>> pinned = cache::hot_rows_of(extensions, static_cast<size_t>(s.tables));
  for (size_t t = 0; t < pinned.size(); ++t)
    pinned[t].resize(std::min<size_t>(pinned[t].size(), static_cast<size_t>(capacity[t] / 2)));
  return std::make_unique<CachedEmbeddingBag>(device, s, bag_layout(variant), host_constants, capacity, pinned);
}

}  // namespace cagr::opencl

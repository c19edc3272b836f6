// embedding_bag_cached.cpp - embedding_bag on tables larger than the device's table budget: the
// tables stay in host memory and the device holds a cache of rows (docs/EMBEDDING_CACHE.md). Per
// run the ids are read back, mapped to cache slots on the host (abi/embedding_cache.hpp), the
// missing rows gathered into one staging buffer, copied in one copy and scattered into their slots
// on the device, and embedding_bag.cl runs on the cache with the remapped ids: the same kernel,
// reading the same row values in the same order, so the outputs equal an uncached run's bit for bit.
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
  // Copies `values` in (blocking: the host vector is reused by the next piece) and returns the buffer.
  template <class T>
  cl_mem write(const Device& device, cl_command_queue queue, const std::vector<T>& values) {
    const cl_mem mem = at_least(device, values.size() * sizeof(T));
    if (!values.empty())
      check_cl(clEnqueueWriteBuffer(queue, mem, CL_TRUE, 0, values.size() * sizeof(T), values.data(), 0, nullptr, nullptr),
               "embedding_bag (cached): copying to the device");
    return mem;
  }

 private:
  MemHandle mem_;
  size_t bytes_ = 0;
};

// `count` integers of `dtype` (i32 / i64) from `mem`, widened; blocking, so it waits for the work
// queued before it (the upload of this run's ids).
std::vector<int64_t> read_ints(cl_command_queue queue, cl_mem mem, int64_t count, cagr_dtype dtype) {
  std::vector<int64_t> out(static_cast<size_t>(count));
  if (count == 0) return out;
  if (dtype == CAGR_DTYPE_I64) {
    check_cl(clEnqueueReadBuffer(queue, mem, CL_TRUE, 0, out.size() * 8, out.data(), 0, nullptr, nullptr),
             "embedding_bag (cached): reading the ids");
    return out;
  }
  std::vector<int32_t> narrow(out.size());
  check_cl(clEnqueueReadBuffer(queue, mem, CL_TRUE, 0, narrow.size() * 4, narrow.data(), 0, nullptr, nullptr),
           "embedding_bag (cached): reading the ids");
  std::copy(narrow.begin(), narrow.end(), out.begin());
  return out;
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

// Cache rows per table: the budget shared in proportion to the tables' rows, at least one each
// (none for a table without rows, where every id is out of range).
std::vector<int64_t> capacities(const Sizes& s, uint64_t budget_bytes) {
  int64_t total_rows = 0;
  for (int64_t r : s.rows) total_rows += r;
  const double budget_rows = static_cast<double>(budget_bytes) / static_cast<double>(s.row_bytes());
  std::vector<int64_t> out;
  for (int64_t r : s.rows)
    out.push_back(std::clamp<int64_t>(static_cast<int64_t>(budget_rows * static_cast<double>(r) / total_rows), std::min<int64_t>(1, r), r));
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

  void run(const Launch& launch) override {
    const Sizes& s = std::get<Sizes>(launch.sizes);
    const Clock::time_point start = Clock::now();
    const std::vector<int64_t> indices = read_ints(launch.queue, launch.inputs[0], s.num_indices, s.index_dtype);
    const std::vector<int64_t> offsets = read_ints(launch.queue, launch.inputs[1], s.tables * s.batch + 1, s.offset_dtype);
    std::vector<float> weights;
    if (s.weighted && s.num_indices > 0) {
      weights.resize(static_cast<size_t>(s.num_indices));
      check_cl(clEnqueueReadBuffer(launch.queue, launch.inputs[s.weights_input()], CL_TRUE, 0, weights.size() * 4,
                                   weights.data(), 0, nullptr, nullptr),
               "embedding_bag (cached): reading the weights");
    }
    const std::vector<int64_t> padding =
        s.padded && padding_.empty() ? read_ints(launch.queue, launch.inputs[s.padding_input()], s.tables, s.padding_dtype)
                                     : padding_;
    times_.read_us += us_since(start);

    const Clock::time_point mapping = Clock::now();
    double in_pieces_us = 0;
    cache_.map(cache::Lookup{s.tables, s.batch, indices, offsets, s.weighted ? &weights : nullptr, s.padded ? &padding : nullptr},
               [&](const cache::Piece& piece) {
                 const Clock::time_point piece_start = Clock::now();
                 run_piece(launch, s, piece);
                 in_pieces_us += us_since(piece_start);
               });
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
  // The static part: pinned rows take each table's first slots, so each table's are one copy.
  void upload_pinned_rows() {
    cl_int status = CL_SUCCESS;
    QueueHandle queue(clCreateCommandQueue(device_.context(), device_.id(), 0, &status));
    check_cl(status, "clCreateCommandQueue");
    const std::vector<cache::Fill> fills = cache_.pinned_fills();
    for (size_t t = 0; t < host_tables_.size(); ++t) {
      staged_.clear();
      for (const cache::Fill& f : fills)
        if (f.table == static_cast<int32_t>(t))
          staged_.insert(staged_.end(), host_tables_[t].data() + f.row * row_bytes_,
                         host_tables_[t].data() + (f.row + 1) * row_bytes_);
      if (!staged_.empty())
        check_cl(clEnqueueWriteBuffer(queue.get(), cache_rows_.get(), CL_TRUE, static_cast<size_t>(first_slot_[t] * row_bytes_),
                                      staged_.size(), staged_.data(), 0, nullptr, nullptr),
                 "embedding_bag (cached): copying the pinned rows");
    }
  }

  // Gathers the piece's missing rows on the host, copies them and the remapped ids over, fills the
  // cache's slots, and pools the piece's samples into the output (through a scratch buffer when
  // the batch came in several pieces: a launch writes its output from the first sample on).
  void run_piece(const Launch& launch, const Sizes& s, const cache::Piece& piece) {
    ++times_.pieces;
    Clock::time_point step = Clock::now();
    staged_.resize(piece.fills.size() * static_cast<size_t>(row_bytes_));
    slots_.clear();
    for (size_t f = 0; f < piece.fills.size(); ++f) {
      const cache::Fill& fill = piece.fills[f];
      std::memcpy(&staged_[f * static_cast<size_t>(row_bytes_)], &host_tables_[fill.table][fill.row * row_bytes_],
                  static_cast<size_t>(row_bytes_));
      slots_.push_back(first_slot_[fill.table] + fill.slot);
    }
    times_.gather_us += us_since(step);

    step = Clock::now();
    const cl_mem staged = staged_buffer_.write(device_, launch.queue, staged_);
    const cl_mem slots = slots_buffer_.write(device_, launch.queue, slots_);
    const cl_mem ids = ids_buffer_.write(device_, launch.queue, piece.indices);
    const cl_mem offsets = offsets_buffer_.write(device_, launch.queue, piece.offsets);
    const cl_mem weights = s.weighted ? weights_buffer_.write(device_, launch.queue, piece.weights) : ids;
    const cl_mem padding = s.padded ? padding_buffer_.write(device_, launch.queue, piece.padding) : ids;
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
    times_.enqueue_us += us_since(step);
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
  std::vector<uint8_t> staged_;
  std::vector<int64_t> slots_;
  GrowingBuffer staged_buffer_, slots_buffer_, ids_buffer_, offsets_buffer_, weights_buffer_, padding_buffer_, pooled_buffer_;
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

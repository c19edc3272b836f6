// embedding_l2_pinning.hpp - keeping the hottest embedding rows resident in L2 (NVIDIA only).
//
// Recommendation ids follow a power law, so a few tens of thousands of rows take most lookups. We
// take a table's first rows as its hottest, which holds for vocabularies numbered by frequency (the
// usual DLRM / Criteo preprocessing; OPS.md says so for this variant). Two mechanisms, both NVIDIA:
//  - before each lookup a small kernel touches every hot line with
//    `prefetch.global.L2::evict_last`, so hot rows are (re)loaded with low eviction priority;
//  - the lookup kernel is launched with a persisting-L2 access-policy window over the hot rows of
//    the largest table (one window per launch is all the hardware offers), backed by the device's
//    persisting-L2 set-aside.
// AMD GPUs have neither control; the variant is not offered there (op_query says why).
#pragma once

#include <cstdint>
#include <vector>

#include "embedding_bag_kernel.hpp"
#include "gpu_runtime.h"

namespace cagr::gpu {

constexpr int64_t kHotRowsTotal = 60000;  // rows pinned over all tables of one op (the study's choice)

struct HotRegion {
  const uint8_t* begin = nullptr;
  uint64_t bytes = 0;
};

// The hot region of each table: its first rows, kHotRowsTotal shared evenly, capped by what the
// device's persisting L2 can hold.
std::vector<HotRegion> hot_regions(const EmbeddingBagParams& params, uint64_t persisting_l2_bytes);

#if defined(CAGR_GPU_VENDOR_NVIDIA)
// The persisting-L2 set-aside of the current device, held while a pinning kernel lives. The
// set-aside and the lines marked persisting shrink the L2 that every other kernel of the process
// sees (measured: the Kaggle DLRM's forward pass 24% slower on an H100 after one pinned lookup), so
// the last holder to go gives the set-aside back and returns persisting lines to normal.
class PersistingL2Reservation {
 public:
  explicit PersistingL2Reservation(uint64_t bytes);
  ~PersistingL2Reservation();
  PersistingL2Reservation(const PersistingL2Reservation&) = delete;
  PersistingL2Reservation& operator=(const PersistingL2Reservation&) = delete;

 private:
  int device_ = 0;
};
// Queues the evict_last prefetch of every hot region on `stream`.
void prefetch_hot_rows(const std::vector<HotRegion>& regions, hipStream_t stream);
#endif

}  // namespace cagr::gpu

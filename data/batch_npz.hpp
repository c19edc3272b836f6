// batch_npz.hpp - a Batch as named NumPy arrays ("indices", "offsets", "dense", "labels"), the
// form in which batches are saved to and loaded from .npz files.
#ifndef CAGR_DATA_BATCH_NPZ_HPP_
#define CAGR_DATA_BATCH_NPZ_HPP_

#include <map>
#include <string>

#include "batch.hpp"
#include "npy.hpp"

namespace cagr::data {

// indices <i8 [L], offsets <i8 [T*B+1], dense <f4 [B, num_dense], labels <f4 [B].
std::map<std::string, NpyArray> batch_to_arrays(const Batch& batch);

// The inverse; checks names, dtypes and that the shapes agree with each other (T is derived from
// offsets and labels). `what` names the source in errors, e.g. the file.
Batch batch_from_arrays(const std::map<std::string, NpyArray>& arrays, const std::string& what);

}  // namespace cagr::data

#endif  // CAGR_DATA_BATCH_NPZ_HPP_

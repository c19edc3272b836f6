// npz.hpp - NumPy .npz files: a zip archive holding one .npy file per named array, as written by
// numpy.savez. The zip side is libzip's; the .npy side is npy.hpp.
#ifndef CAGR_DATA_NPZ_HPP_
#define CAGR_DATA_NPZ_HPP_

#include <map>
#include <string>

#include "npy.hpp"

namespace cagr::data {

// Every array in `path`, by name (the entry name without ".npy"). Throws DataError naming the file
// and the array on anything unreadable or unsupported.
std::map<std::string, NpyArray> read_npz(const std::string& path);

// Writes `arrays` to `path` (replaced if it exists), uncompressed like numpy.savez.
void write_npz(const std::string& path, const std::map<std::string, NpyArray>& arrays);

}  // namespace cagr::data

#endif  // CAGR_DATA_NPZ_HPP_

// fuzz_input.hpp - what the libFuzzer targets share: the parsers read files, so each input is
// written to a file of this process's own scratch folder first.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace cagr::fuzz {

// `name` in a folder of this process's own (one per fuzzing job), holding `size` bytes of `data`.
inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = [] {
    const auto d = std::filesystem::temp_directory_path() / ("cagr_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  const std::filesystem::path path = dir / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path.string();
}

}  // namespace cagr::fuzz

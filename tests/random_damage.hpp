// random_damage.hpp - breaking files the way they break in the wild, reproducibly (seeded), for
// the tests that prove bad input gets an error, never a crash.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace cagr::testing {

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::filesystem::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// One random edit: a byte replaced by one of `alphabet`, a run of up to `max_run` bytes deleted or
// duplicated, or the text cut short.
inline std::string damage(std::string text, std::mt19937_64& rng, const std::string& alphabet, size_t max_run) {
  if (text.empty()) return text;
  const size_t at = rng() % text.size();
  switch (rng() % 4) {
    case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
    case 1: text.erase(at, 1 + rng() % max_run); break;
    case 2: text.insert(at, text.substr(at, 1 + rng() % max_run)); break;
    default: text.resize(at); break;
  }
  return text;
}

}  // namespace cagr::testing

// random.hpp - the generator's random numbers: xoshiro256** seeded through splitmix64.
//
// Chosen over <random>'s engines because its output is specified bit for bit (so a seed makes the
// same data on every platform and standard library, which std::uniform_*_distribution does not
// promise), it is a few instructions per draw, and a stream can be derived cheaply from
// (seed, batch index) to make batch k without making batches 0 .. k-1.
#ifndef CAGR_DATA_RANDOM_HPP_
#define CAGR_DATA_RANDOM_HPP_

#include <bit>
#include <cstdint>
#include <initializer_list>

namespace cagr::data {

// splitmix64's output function: a bijective 64-bit mixer.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class Random {
 public:
  // A stream determined by all of `keys` (e.g. {seed, batch_index}).
  explicit Random(std::initializer_list<uint64_t> keys) {
    uint64_t key = 0;
    for (uint64_t k : keys) key = mix64(key ^ k);
    for (uint64_t& word : state_) word = key = mix64(key);
  }

  uint64_t next() {
    const uint64_t result = std::rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = std::rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform in [0, n) by the multiply-shift method; its bias (< n / 2^64) is negligible here.
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }

 private:
  uint64_t state_[4];
};

}  // namespace cagr::data

#endif  // CAGR_DATA_RANDOM_HPP_

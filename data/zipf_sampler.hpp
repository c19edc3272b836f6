// zipf_sampler.hpp - draws ranks 1 .. n with P(k) proportional to k^-s, in O(1) time and memory
// per draw whatever n is, by rejection-inversion (Hörmann and Derflinger, "Rejection-inversion to
// generate variates from monotone discrete distributions", 1996).
//
// The idea: a continuous hat function h(x) = x^-s covers the probabilities; a uniform draw is
// mapped through the inverse of h's integral H to a real x, rounded to the rank k, and accepted if it
// falls under the histogram bar of k (almost always: the rejection rate is tiny for every s).
#ifndef CAGR_DATA_ZIPF_SAMPLER_HPP_
#define CAGR_DATA_ZIPF_SAMPLER_HPP_

#include <cstdint>

#include "random.hpp"

namespace cagr::data {

class ZipfSampler {
 public:
  // n >= 1 ranks, exponent s > 0 (s = 1 included).
  ZipfSampler(int64_t n, double exponent);

  // A rank in [1, n].
  int64_t operator()(Random& random) const;

  int64_t n() const { return n_; }
  double exponent() const { return exponent_; }

 private:
  double h(double x) const;                   // x^-s
  double h_integral(double x) const;          // H(x) = (x^(1-s) - 1) / (1 - s), log(x) when s = 1
  double h_integral_inverse(double y) const;  // H^-1

  int64_t n_;
  double exponent_;
  double h_integral_x1_;  // H(1.5) - 1: the lower end of the uniform range (rank 1's bar is exact)
  double h_integral_n_;   // H(n + 0.5): the upper end
  double squeeze_;        // ranks with k - x <= squeeze_ are accepted without evaluating H
};

}  // namespace cagr::data

#endif  // CAGR_DATA_ZIPF_SAMPLER_HPP_

#include "zipf_sampler.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace cagr::data {

namespace {

// log1p(x) / x and expm1(x) / x, continued to 1 at x = 0: they keep H and its inverse accurate
// when s is close to 1, where (x^(1-s) - 1) / (1 - s) is 0 / 0.
double log1p_over_x(double x) { return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1 - x / 2 + x * x / 3; }
double expm1_over_x(double x) { return std::abs(x) > 1e-8 ? std::expm1(x) / x : 1 + x / 2 + x * x / 6; }

}  // namespace

ZipfSampler::ZipfSampler(int64_t n, double exponent) : n_(n), exponent_(exponent) {
  if (n < 1) throw std::invalid_argument("ZipfSampler: needs at least 1 rank, got " + std::to_string(n));
  if (!(exponent > 0) || !std::isfinite(exponent)) {
    throw std::invalid_argument("ZipfSampler: exponent must be positive and finite, got " + std::to_string(exponent));
  }
  h_integral_x1_ = h_integral(1.5) - 1;
  h_integral_n_ = h_integral(static_cast<double>(n) + 0.5);
  squeeze_ = 2 - h_integral_inverse(h_integral(2.5) - h(2));
}

double ZipfSampler::h(double x) const { return std::exp(-exponent_ * std::log(x)); }

double ZipfSampler::h_integral(double x) const {
  const double log_x = std::log(x);
  return expm1_over_x((1 - exponent_) * log_x) * log_x;
}

double ZipfSampler::h_integral_inverse(double y) const {
  // Rounding may push t just below -1, outside the domain of log1p.
  const double t = std::max(y * (1 - exponent_), -1.0);
  return std::exp(log1p_over_x(t) * y);
}

int64_t ZipfSampler::operator()(Random& random) const {
  while (true) {
    const double u = h_integral_n_ + random.uniform() * (h_integral_x1_ - h_integral_n_);
    const double x = h_integral_inverse(u);
    const int64_t k = std::clamp(static_cast<int64_t>(x + 0.5), int64_t{1}, n_);
    const double kd = static_cast<double>(k);
    if (kd - x <= squeeze_ || u >= h_integral(kd + 0.5) - h(kd)) return k;
  }
}

}  // namespace cagr::data

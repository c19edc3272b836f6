// data_generator_bench: how fast the synthetic generator makes the Kaggle DLRM configuration
// (26 Zipf tables, 13 dense, one-hot), and whether it does so at a steady rate in bounded memory.
//
// Side by side in one run: the same samples with uniform ids (the baseline: no power-law sampling,
// no row scramble), so the ratio is the cost of realistic popularity. The rate of each half of the
// Zipf run and the peak RSS after the first batches and at the end show steadiness and the bound.
//
//   data_generator_bench [--samples=10000000] [--batch_size=4096]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "synthetic_generator.hpp"

namespace {

using cagr::data::Batch;
using cagr::data::GeneratorOptions;
using cagr::data::IdDistribution;
using cagr::data::SyntheticGenerator;

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

struct Run {
  double seconds = 0;
  double first_half_seconds = 0;
  long rss_after_first_batches_kib = 0;
  uint64_t checksum = 0;  // keeps the work observable
};

Run generate(IdDistribution distribution, int64_t samples, int64_t batch_size) {
  GeneratorOptions options;  // Criteo Kaggle schema
  options.batch_size = batch_size;
  options.distribution = distribution;
  const SyntheticGenerator generator(options);
  Run run;
  const auto start = std::chrono::steady_clock::now();
  int64_t done = 0;
  for (int64_t k = 0; done < samples; ++k) {
    const Batch batch = generator.batch(k, std::min(batch_size, samples - done));
    run.checksum += static_cast<uint64_t>(batch.indices[batch.indices.size() / 2]);
    done += batch.batch_size;
    if (k == 9) run.rss_after_first_batches_kib = peak_rss_kib();
    if (done - batch.batch_size < samples / 2 && done >= samples / 2) {
      run.first_half_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

int64_t flag(int argc, char** argv, const char* name, int64_t fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return std::atoll(argv[i] + prefix.size());
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t samples = flag(argc, argv, "samples", 10000000);
  const int64_t batch_size = flag(argc, argv, "batch_size", 4096);
  const Run uniform = generate(IdDistribution::kUniform, samples, batch_size);
  const Run zipf = generate(IdDistribution::kZipf, samples, batch_size);

  const double half = static_cast<double>(samples / 2);
  std::printf("Kaggle DLRM schema (26 tables, 13 dense, one-hot), %lld samples, batches of %lld\n",
              static_cast<long long>(samples), static_cast<long long>(batch_size));
  std::printf("uniform ids (baseline): %10.0f samples/s\n", samples / uniform.seconds);
  std::printf("zipf s=1.05:            %10.0f samples/s  (%.2fx the baseline's time)\n", samples / zipf.seconds,
              zipf.seconds / uniform.seconds);
  std::printf("zipf rate, 1st half:    %10.0f samples/s\n", half / zipf.first_half_seconds);
  std::printf("zipf rate, 2nd half:    %10.0f samples/s\n", (samples - half) / (zipf.seconds - zipf.first_half_seconds));
  std::printf("peak RSS after 10 batches: %ld KiB, at the end: %ld KiB\n", uniform.rss_after_first_batches_kib,
              peak_rss_kib());
  std::printf("checksum %llu\n", static_cast<unsigned long long>(uniform.checksum ^ zipf.checksum));
  return 0;
}

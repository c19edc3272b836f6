// cagr-gen: writes synthetic samples of the Criteo Kaggle or Avazu schema, in that data set's text
// layout (readable by cagr-run --data) or as .npz batches (cagr-run --inputs), or nowhere (to time
// the generator). Progress goes to stderr about once a second.
#include <gflags/gflags.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "avazu_reader.hpp"
#include "batch_npz.hpp"
#include "criteo_reader.hpp"
#include "npz.hpp"
#include "synthetic_generator.hpp"

DEFINE_string(schema, "criteo", "criteo (Kaggle: 13 dense, 26 sparse) or avazu (2 dense, 22 sparse)");
DEFINE_int64(samples, 100000, "how many samples to write");
DEFINE_int64(batch_size, 4096, "samples per batch (per .npz file)");
DEFINE_uint64(seed, 0, "random seed; the output is a function of the flags");
DEFINE_string(distribution, "zipf", "id popularity: zipf or uniform");
DEFINE_double(zipf_exponent, 1.05, "exponent s of the Zipf law P(rank k) ~ k^-s");
DEFINE_string(pooling, "1", "ids per field and sample: N, or MIN-MAX for a uniform random count");
DEFINE_string(format, "csv", "csv (the data set's text layout, one id per field), npz, or none");
DEFINE_string(output, "-", "csv: the file ('-' for stdout); npz: a path prefix, PREFIX-000000.npz ...");

namespace {

using namespace cagr::data;

GeneratorOptions options_from_flags() {
  GeneratorOptions options;
  options.schema = schema_by_name(FLAGS_schema);
  options.batch_size = FLAGS_batch_size;
  options.seed = FLAGS_seed;
  if (FLAGS_distribution == "zipf") {
    options.distribution = IdDistribution::kZipf;
  } else if (FLAGS_distribution == "uniform") {
    options.distribution = IdDistribution::kUniform;
  } else {
    throw std::invalid_argument("--distribution must be zipf or uniform, got '" + FLAGS_distribution + "'");
  }
  options.zipf_exponent = FLAGS_zipf_exponent;
  const size_t dash = FLAGS_pooling.find('-');
  try {
    options.pooling_min = std::stoll(FLAGS_pooling.substr(0, dash));
    options.pooling_max = dash == std::string::npos ? options.pooling_min : std::stoll(FLAGS_pooling.substr(dash + 1));
  } catch (const std::logic_error&) {
    throw std::invalid_argument("--pooling must be N or MIN-MAX, got '" + FLAGS_pooling + "'");
  }
  return options;
}

const RowFormat& text_format(const std::string& schema) { return schema == "avazu" ? avazu_format() : criteo_format(); }

std::string npz_path(int64_t batch) {
  char number[24];
  std::snprintf(number, sizeof number, "%06lld", static_cast<long long>(batch));
  return FLAGS_output + "-" + number + ".npz";
}

// Prints "done / total samples, rate" to stderr at most once a second, and at the end.
class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), start_(Clock::now()), last_(start_) {}

  void update(int64_t done) {
    const auto now = Clock::now();
    if (done < total_ && now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\rcagr-gen: %lld / %lld samples (%.1f%%), %.0f samples/s%s", static_cast<long long>(done),
                 static_cast<long long>(total_), total_ ? 100.0 * done / total_ : 100.0,
                 seconds > 0 ? done / seconds : 0.0, done == total_ ? "\n" : "");
  }

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_;
  Clock::time_point start_, last_;
};

void run() {
  if (FLAGS_format != "csv" && FLAGS_format != "npz" && FLAGS_format != "none") {
    throw std::invalid_argument("--format must be csv, npz or none, got '" + FLAGS_format + "'");
  }
  if (FLAGS_samples < 0) throw std::invalid_argument("--samples must not be negative");
  const SyntheticGenerator generator(options_from_flags());
  if (FLAGS_format == "csv" && generator.options().pooling_max != 1) {
    throw std::invalid_argument("--format=csv holds one id per field: use --pooling=1, or --format=npz");
  }
  const RowFormat& format = text_format(FLAGS_schema);

  std::ofstream file;
  std::ostream* text = &std::cout;
  if (FLAGS_format == "csv") {
    if (FLAGS_output != "-") {
      file.open(FLAGS_output, std::ios::binary);
      if (!file) throw std::runtime_error(FLAGS_output + ": cannot open for writing");
      text = &file;
    }
    std::string header;
    for (const std::string& column : format.columns()) header += (header.empty() ? "" : ",") + column;
    *text << header << '\n';
  }

  Progress progress(FLAGS_samples);
  std::string lines;
  int64_t done = 0;
  for (int64_t k = 0; done < FLAGS_samples; ++k) {
    const Batch batch = generator.batch(k, std::min(FLAGS_batch_size, FLAGS_samples - done));
    if (FLAGS_format == "csv") {
      lines.clear();
      for (int64_t b = 0; b < batch.batch_size; ++b) format.write(batch, b, done + b, lines);
      text->write(lines.data(), static_cast<std::streamsize>(lines.size()));
      if (!*text) throw std::runtime_error(FLAGS_output + ": write failed");
    } else if (FLAGS_format == "npz") {
      write_npz(npz_path(k), batch_to_arrays(batch));
    }
    done += batch.batch_size;
    progress.update(done);
  }
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "cagr-gen [--schema=criteo|avazu] [--samples=N] [--format=csv|npz|none] [--output=PATH] "
      "[--distribution=zipf|uniform] [--zipf_exponent=S] [--pooling=N|MIN-MAX] [--batch_size=B] [--seed=X]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  try {
    run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cagr-gen: %s\n", e.what());
    return 1;
  }
  return 0;
}

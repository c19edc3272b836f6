// cagr-gen: writes synthetic samples of the Criteo Kaggle or Avazu schema, in that data set's text
// layout (readable by cagr-run --data) or as .npz batches (cagr-run --inputs), or nowhere (to time
// the generator). With --model, the ids fit that model's embedding tables (and the schema is the
// one with its number of tables). Progress goes to stderr about once a second.
#include <gflags/gflags.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "avazu_reader.hpp"
#include "batch_npz.hpp"
#include "command_line.hpp"
#include "criteo_reader.hpp"
#include "inputs.hpp"
#include "model_loading.hpp"
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
DEFINE_string(model, "",
              "a model.xml or .onnx: draw every id within the rows of that model's embedding tables, and take the schema "
              "with its number of tables (Criteo 26, Avazu 22) unless --schema is given");

#ifndef CAGR_VERSION
#define CAGR_VERSION "unknown"
#endif

namespace {

using namespace cagr::data;

// The schema, fitted to --model's embedding tables when given.
Schema schema_from_flags() {
  if (FLAGS_model.empty()) return schema_by_name(FLAGS_schema);
  const cagr::Graph graph = cagr::load_any_model(FLAGS_model);
  const std::vector<int64_t> rows = cagr::run::model_table_rows(graph);
  const bool schema_given = cagr::cli::given("schema");
  Schema schema = schema_given ? schema_by_name(FLAGS_schema)
                  : rows.size() == criteo_kaggle_schema().sparse.size() ? criteo_kaggle_schema()
                  : rows.size() == avazu_schema().sparse.size()         ? avazu_schema()
                                                                       : Schema{};
  if (schema.sparse.size() != rows.size())
    throw std::invalid_argument("--model=" + FLAGS_model + ": the model has " + std::to_string(rows.size()) +
                                " embedding tables; the schemas have criteo 26, avazu 22" +
                                (schema_given ? " (--schema=" + FLAGS_schema + ")" : std::string()));
  for (size_t t = 0; t < rows.size(); ++t) schema.sparse[t].rows = rows[t];
  for (int id : graph.inputs()) {
    const cagr::TensorInfo& input = graph.tensor(id);
    if (input.name == "dense" && input.dims.size() == 2 && input.dims[1] != static_cast<int64_t>(schema.dense.size()))
      throw std::invalid_argument("--model=" + FLAGS_model + ": the model takes " + std::to_string(input.dims[1]) +
                                  " dense features; schema " + schema.name + " has " + std::to_string(schema.dense.size()));
  }
  return schema;
}

GeneratorOptions options_from_flags() {
  GeneratorOptions options;
  options.schema = schema_from_flags();
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

const RowFormat& text_format(const Schema& schema) {
  return schema.sparse.size() == avazu_schema().sparse.size() ? avazu_format() : criteo_format();
}

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
  const RowFormat& format = text_format(generator.options().schema);

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

const cagr::cli::ToolHelp& tool_help() {
  static const cagr::cli::ToolHelp help = [] {
    cagr::cli::ToolHelp h;
    h.name = "cagr-gen";
    h.summary = "write synthetic click-log samples of the Criteo Kaggle or Avazu schema, at any scale (docs/DATA.md)";
    h.usage = {"[--schema=criteo|avazu] [--samples=N] [--format=csv|npz|none] [--output=PATH] [flags]",
               "--model=FILE --format=npz --batch-size=B --samples=B --output=PREFIX", "--version | --help"};
    const std::string what = "What to generate", out = "Where it goes";
    h.groups = {what, out, "Information"};
    h.flags = {{"schema", what, "NAME"},      {"model", what, "FILE"},    {"samples", what, "N"},
               {"batch_size", what, "B"},     {"seed", what, "N"},        {"distribution", what, "LAW"},
               {"zipf_exponent", what, "S"},  {"pooling", what, "N|MIN-MAX"}, {"format", out, "FORMAT"},
               {"output", out, "PATH"}};
    h.flags_defined_in = "data/cagr_gen_main.cpp";
    h.information = {{"--version", "print the version and exit"}, {"-h, --help", "print this help and exit"}};
    h.epilogue =
        "Examples:\n"
        "  cagr-gen --schema=avazu --samples=100000 --output=avazu_synthetic.csv\n"
        "  cagr-gen --schema=criteo --format=npz --batch-size=2048 --samples=8192 --output=batches/criteo\n"
        "  cagr-gen --model=m/model.xml --format=npz --batch-size=256 --samples=256 --output=in   # in-000000.npz, for\n"
        "                                                   # cagr-run --model=m/model.xml --inputs=in-000000.npz\n"
        "Exit status: 0 done; 1 it failed (the message says why); 2 the command line is wrong.\n";
    return h;
  }();
  return help;
}

int main(int argc, char** argv) {
  try {
    switch (cagr::cli::parse(argc, argv, tool_help())) {
      case cagr::cli::Action::help: std::fputs(cagr::cli::help_text(tool_help()).c_str(), stdout); return 0;
      case cagr::cli::Action::version: std::printf("cagr-gen " CAGR_VERSION "\n"); return 0;
      case cagr::cli::Action::run: break;
    }
    run();
  } catch (const cagr::cli::UsageError& e) {
    std::fprintf(stderr, "cagr-gen: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cagr-gen: %s\n", e.what());
    return 1;
  }
  return 0;
}

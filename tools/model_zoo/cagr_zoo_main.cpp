// cagr-zoo: writes a model of the zoo in CAGR's model format (model.xml + model.bin), telling how far
// it is while making the weights and writing them (the Kaggle DLRM's are 2.2 GB).
#include <gflags/gflags.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <thread>

#include "command_line.hpp"
#include "model_format.hpp"
#include "model_zoo.hpp"

#ifndef CAGR_VERSION
#define CAGR_VERSION "unknown"
#endif

DEFINE_string(model, "", "which model to write (see --list)");
DEFINE_string(out, "", "the model.xml to write; its weights go beside it (model.bin)");
DEFINE_uint64(seed, 2026, "seed of the deterministic weights");
DEFINE_bool(list, false, "list the zoo's models and exit");
DEFINE_bool(progress, true, "show progress on stderr while a large model is made and written");

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

const cagr::cli::ToolHelp& tool_help() {
  static const cagr::cli::ToolHelp help = [] {
    cagr::cli::ToolHelp h;
    h.name = "cagr-zoo";
    h.summary = "write one of CAGR's sample and benchmark models (model.xml + model.bin, deterministic weights)";
    h.usage = {"--model=NAME --out=DIR/model.xml [--seed=N]", "--list", "--version | --help"};
    h.groups = {"Model", "Information"};
    h.flags = {{"model", "Model", "NAME"}, {"out", "Model", "FILE"}, {"seed", "Model", "N"},
               {"progress", "Model", ""}, {"list", "Information", ""}};
    h.flags_defined_in = "tools/model_zoo/";
    h.information = {{"--version", "print the version and exit"}, {"-h, --help", "print this help and exit"}};
    h.epilogue =
        "Examples:\n"
        "  cagr-zoo --list\n"
        "  cagr-zoo --model=dlrm_avazu_sample --out=models/dlrm_avazu/model.xml\n"
        "  cagr-zoo --model=dlrm_kaggle --out=/data/dlrm_kaggle/model.xml     # 2.2 GB of weights, with progress\n"
        "Exit status: 0 done; 1 it failed (the message says why); 2 the command line is wrong.\n";
    return h;
  }();
  return help;
}

int run() {
  if (FLAGS_list) {
    for (const auto& m : cagr::zoo::models()) std::printf("%-24s %s\n", m.name.c_str(), m.description.c_str());
    return 0;
  }
  if (FLAGS_model.empty())
    throw cagr::cli::UsageError("--model is required (cagr-zoo --list names the models; cagr-zoo --help lists the flags)");
  if (FLAGS_out.empty()) throw cagr::cli::UsageError("--out is required: the model.xml to write");
  const cagr::zoo::ModelSpec& spec = cagr::zoo::find_model(FLAGS_model);
  const std::filesystem::path out(FLAGS_out);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());

  const auto start = Clock::now();
  const std::string bin = (out.parent_path() / (out.stem().string() + ".bin")).string();
  cagr::Graph graph;
  std::exception_ptr failure;
  std::atomic<bool> done{false};
  {
    // Making the weights of a large model takes a while too.
    cagr::cli::ProgressLine making("cagr-zoo", FLAGS_progress);
    making.update("making " + spec.name + " ...");
    std::optional<cagr::Graph> built;
    std::thread maker([&] {
      try {
        built = spec.build(FLAGS_seed);
      } catch (...) {
        failure = std::current_exception();
      }
      done = true;
    });
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      char line[128];
      std::snprintf(line, sizeof line, "making %s: %.0f s", spec.name.c_str(), seconds_since(start));
      making.update(line);
    }
    maker.join();
    if (failure) std::rethrow_exception(failure);
    graph = std::move(*built);
  }
  {
    cagr::cli::ProgressLine writing("cagr-zoo", FLAGS_progress);
    const auto write_start = Clock::now();
    cagr::save_model(graph, FLAGS_out, [&](uint64_t written, uint64_t total) {
      const double mib = 1024.0 * 1024.0, s = seconds_since(write_start);
      char line[256];
      std::snprintf(line, sizeof line, "writing %s: %.0f / %.0f MiB (%.0f%%), %.0f MiB/s", bin.c_str(),
                    static_cast<double>(written) / mib, static_cast<double>(total) / mib,
                    total ? 100.0 * static_cast<double>(written) / static_cast<double>(total) : 100.0,
                    s > 0 ? static_cast<double>(written) / mib / s : 0.0);
      writing.update(line);
    });
  }
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(bin, ec);
  std::printf("wrote %s (%zu nodes, %.1f MiB of weights) in %.1f s\n", FLAGS_out.c_str(), graph.nodes().size(),
              ec ? 0.0 : static_cast<double>(bytes) / (1024.0 * 1024.0), seconds_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    switch (cagr::cli::parse(argc, argv, tool_help())) {
      case cagr::cli::Action::help: std::fputs(cagr::cli::help_text(tool_help()).c_str(), stdout); return 0;
      case cagr::cli::Action::version: std::printf("cagr-zoo " CAGR_VERSION "\n"); return 0;
      case cagr::cli::Action::run: break;
    }
    return run();
  } catch (const cagr::cli::UsageError& e) {
    std::fprintf(stderr, "cagr-zoo: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cagr-zoo: %s\n", e.what());
    return 1;
  }
}

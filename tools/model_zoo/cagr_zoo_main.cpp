// cagr-zoo: writes a model of the zoo in CAGR's model format (model.xml + model.bin).
#include <gflags/gflags.h>

#include <cstdio>
#include <filesystem>

#include "model_format.hpp"
#include "model_zoo.hpp"

DEFINE_string(model, "", "which model to write (see --list)");
DEFINE_string(out, "", "the model.xml to write; its weights go beside it");
DEFINE_uint64(seed, 2026, "seed of the deterministic weights");
DEFINE_bool(list, false, "list the zoo's models");

int main(int argc, char** argv) {
  gflags::SetUsageMessage("cagr-zoo --model=NAME --out=DIR/model.xml");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  try {
    if (FLAGS_list || FLAGS_model.empty()) {
      for (const auto& m : cagr::zoo::models()) std::printf("%-24s %s\n", m.name.c_str(), m.description.c_str());
      return FLAGS_list ? 0 : 2;
    }
    if (FLAGS_out.empty()) throw std::invalid_argument("--out is required");
    const cagr::Graph graph = cagr::zoo::find_model(FLAGS_model).build(FLAGS_seed);
    const std::filesystem::path out(FLAGS_out);
    if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
    cagr::save_model(graph, FLAGS_out);
    std::printf("wrote %s (%zu nodes)\n", FLAGS_out.c_str(), graph.nodes().size());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cagr-zoo: %s\n", e.what());
    return 1;
  }
}

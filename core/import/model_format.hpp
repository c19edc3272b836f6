// model_format.hpp - CAGR's model files: model.xml (the graph) + model.bin (the weights).
// The format is documented in docs/MODEL_FORMAT.md.
#pragma once

#include <functional>
#include <string>

#include "graph.hpp"

namespace cagr {

// Reads model.xml and the weights file it names (relative to the xml's folder), validates the
// graph (names, references, shapes: shape inference with the declared inputs) and returns it.
// Throws std::runtime_error whose message names the file, the line and the element at fault.
// Weight files over 256 MiB show loading progress on stderr.
Graph load_model(const std::string& xml_path);

// Writes `graph` as xml_path plus a weights file beside it (same stem, ".bin").
void save_model(const Graph& graph, const std::string& xml_path);
// The same, calling `progress(bytes written, total bytes)` of the weights file as it goes (about
// every 64 MiB, and at the end), for tools that write large models (cagr-zoo).
void save_model(const Graph& graph, const std::string& xml_path,
                const std::function<void(uint64_t written, uint64_t total)>& progress);

}  // namespace cagr

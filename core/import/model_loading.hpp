// model_loading.hpp - one entry point for every model file CAGR reads, chosen by extension.
#pragma once

#include <string>

#include "graph.hpp"

namespace cagr {

// `.onnx`: imported and rewritten into abi/OPS.md ops (onnx_import.hpp, rewriter.hpp); anything
// else: CAGR's model.xml (model_format.hpp). Throws std::runtime_error naming the file.
Graph load_any_model(const std::string& path);

}  // namespace cagr

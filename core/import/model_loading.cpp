// model_loading.cpp - picks the reader by file extension.
#include "model_loading.hpp"

#include <filesystem>

#include "model_format.hpp"
#include "rewriter.hpp"

namespace cagr {

Graph load_any_model(const std::string& path) {
  const std::filesystem::path file(path);
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error))
    throw std::runtime_error(path + (std::filesystem::exists(file, error) ? ": not a file" : ": no such file"));
  if (file.extension() != ".onnx") return load_model(path);
  onnx::RewriteReport report;
  try {
    return onnx::rewrite_to_cagr(onnx::read_onnx(path), file.stem().string(), report);
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    throw std::runtime_error(message.rfind(path, 0) == 0 ? message : path + ": " + message);
  }
}

}  // namespace cagr

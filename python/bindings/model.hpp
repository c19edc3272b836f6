// model.hpp - cagr.Model: a model loaded on the plugins of its own runtime, run from any number of
// Python threads (each run on a session of its own, session_pool.hpp), the GIL released while the
// runtime works.
#pragma once

#include <nanobind/nanobind.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cagr.h"
#include "session_pool.hpp"

namespace cagr_python {

namespace nb = nanobind;

// A model input or output as the model declares it: shape entries are None where the size is known
// only at run time (the batch, the number of ids).
struct TensorSpec {
  std::string name;
  std::string dtype;  // numpy's name: "float32", "int64" ...
  nb::tuple shape;
  std::string repr() const;
};

struct ModelOptions {
  std::string plugins = "auto";
  std::optional<std::string> manifest;
  bool probe = true;
  SessionSettings sessions;
};

class Model {
 public:
  // Throws Error with the runtime's message where the plugins, the model or the settings fail.
  Model(const std::string& path, ModelOptions options);

  // One forward pass: {input name: array} -> {output name: numpy array}.
  nb::dict run(const nb::dict& inputs);
  // The placement table and plan the model's sessions follow, made at the first run (cagr_session_plan, _save_plan).
  std::string plan();
  void save_plan(const std::string& path);

  const std::vector<TensorSpec>& inputs() const { return inputs_; }
  const std::vector<TensorSpec>& outputs() const { return outputs_; }
  // The plugins found, their devices and why any was skipped (as cagr-run --list-plugins).
  std::string plugins() const { return cagr_runtime_describe(runtime_.get()); }
  const std::string& path() const { return path_; }

 private:
  struct RuntimeDeleter {
    void operator()(cagr_runtime* r) const { cagr_runtime_destroy(r); }
  };
  struct ModelDeleter {
    void operator()(cagr_model* m) const { cagr_model_destroy(m); }
  };

  std::string path_;
  std::unique_ptr<cagr_runtime, RuntimeDeleter> runtime_;
  std::unique_ptr<cagr_model, ModelDeleter> model_;
  std::vector<TensorSpec> inputs_, outputs_;
  std::vector<const char*> output_names_;  // the model's, valid while it lives
  std::optional<SessionPool> sessions_;
};

// The plugins a runtime with these settings finds (cagr.plugins()).
std::string describe_plugins(const std::string& plugins, const std::optional<std::string>& manifest, bool probe);

}  // namespace cagr_python

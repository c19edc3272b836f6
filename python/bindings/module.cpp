// module.cpp - the extension cagr._cagr: what Python sees of the C API (cagr.h). python/cagr/
// re-exports it; python/cagr/_cagr.pyi describes it for type checkers.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "c_api_error.hpp"
#include "model.hpp"

namespace nb = nanobind;
using namespace nb::literals;

NB_MODULE(_cagr, m) {
  m.doc() = "CAGR: a runtime for recommendation models, with CPU, OpenCL and GPU operator plugins.";
  nb::exception<cagr_python::Error>(m, "Error", PyExc_RuntimeError);

  m.def(
      "plugins",
      [](const std::string& plugins, const std::optional<std::string>& manifest, bool probe) {
        return cagr_python::describe_plugins(plugins, manifest, probe);
      },
      "plugins"_a = "auto", "manifest"_a = nb::none(), "probe"_a = true,
      "The plugins found, their devices, and why any was skipped (as cagr-run --list-plugins).");

  nb::class_<cagr_python::TensorSpec>(m, "TensorSpec", "A model input or output: name, numpy dtype name, shape (None: known at run time).")
      .def_ro("name", &cagr_python::TensorSpec::name)
      .def_ro("dtype", &cagr_python::TensorSpec::dtype)
      .def_ro("shape", &cagr_python::TensorSpec::shape)
      .def("__repr__", &cagr_python::TensorSpec::repr);

  nb::class_<cagr_python::Model>(m, "Model", "A model loaded on the plugins found; run() may be called from several threads.")
      .def(
          "__init__",
          [](cagr_python::Model* self, const std::string& path, const std::string& plugins, std::optional<std::string> optimizer,
             std::optional<std::string> plan, std::optional<std::string> policy, std::optional<std::string> manifest, bool probe,
             std::optional<std::string> table_precision) {
            cagr_python::ModelOptions options;
            options.plugins = plugins;
            options.manifest = std::move(manifest);
            options.probe = probe;
            options.sessions = {std::move(optimizer), std::move(plan), std::move(policy), std::move(table_precision)};
            new (self) cagr_python::Model(path, std::move(options));
          },
          "path"_a, "plugins"_a = "auto", "optimizer"_a = "hints", "plan"_a = nb::none(), "policy"_a = nb::none(),
          "manifest"_a = nb::none(), "probe"_a = true, "table_precision"_a = nb::none(),
          "Loads model.xml or .onnx on the plugins selected (\"auto\": all found). optimizer: how the graph is placed "
          "at the first run (None: cost hints, \"none\", \"hints\", \"policy\", \"tune\"); plan: a plan file to "
          "follow instead; policy: the learned policy for optimizer=\"policy\"; table_precision: store the embedding tables "
          "as \"f16\", \"bf16\" or \"u8\" (row-wise quantised) where the device's plugin accepts them (None: f32).")
      .def("run", &cagr_python::Model::run, "inputs"_a,
           "One forward pass: {input name: array} -> {output name: numpy array}. Arrays may be numpy, torch CPU tensors, "
           "or anything with __dlpack__ or the buffer protocol in host memory. The GIL is released while it runs.")
      .def("plan", &cagr_python::Model::plan, "The placement (node, op, device, variant, cost) that runs follow, made at the first run.")
      .def("save_plan", &cagr_python::Model::save_plan, "path"_a,
           "Writes the plan that runs follow, for Model(..., plan=path) or cagr-run --load-plan.")
      .def_prop_ro("inputs", &cagr_python::Model::inputs)
      .def_prop_ro("outputs", &cagr_python::Model::outputs)
      .def_prop_ro("plugins", &cagr_python::Model::plugins)
      .def_prop_ro("path", &cagr_python::Model::path);
}

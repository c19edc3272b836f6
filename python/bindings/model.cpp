// model.cpp - see model.hpp.
#include "model.hpp"

#include <nanobind/stl/string.h>

#include "arrays.hpp"
#include "c_api_error.hpp"

namespace cagr_python {

namespace {

cagr_runtime* make_runtime(const std::string& plugins, const std::optional<std::string>& manifest, bool probe) {
  cagr_runtime_options options{};
  options.struct_size = sizeof options;
  options.plugins = plugins.c_str();
  options.manifest = manifest ? manifest->c_str() : nullptr;
  options.probe_in_child = probe ? 1 : 0;
  cagr_runtime* runtime = nullptr;
  check(cagr_runtime_create(&options, &runtime));
  return runtime;
}

TensorSpec spec_of(const cagr_tensor& t) {
  nb::list shape;
  for (int32_t i = 0; i < t.rank; ++i) {
    if (t.dims[i] < 0)
      shape.append(nb::none());
    else
      shape.append(nb::int_(t.dims[i]));
  }
  return TensorSpec{t.name, dtype_name(t.dtype), nb::tuple(shape)};
}

}  // namespace

std::string TensorSpec::repr() const {
  return "TensorSpec(name='" + name + "', dtype='" + dtype + "', shape=" + nb::repr(shape).c_str() + ")";
}

std::string describe_plugins(const std::string& plugins, const std::optional<std::string>& manifest, bool probe) {
  nb::gil_scoped_release release;
  std::unique_ptr<cagr_runtime, void (*)(cagr_runtime*)> runtime(make_runtime(plugins, manifest, probe), cagr_runtime_destroy);
  return cagr_runtime_describe(runtime.get());
}

Model::Model(const std::string& path, ModelOptions options) : path_(path) {
  {
    nb::gil_scoped_release release;  // plugins are probed in child processes, weights read: seconds at times
    runtime_.reset(make_runtime(options.plugins, options.manifest, options.probe));
    cagr_model* model = nullptr;
    check(cagr_model_load(runtime_.get(), path.c_str(), &model));
    model_.reset(model);
    sessions_.emplace(model_.get(), std::move(options.sessions));
  }
  cagr_tensor t{};
  t.struct_size = sizeof t;
  for (size_t i = 0; i < cagr_model_input_count(model_.get()); ++i) {
    check(cagr_model_input_info(model_.get(), i, &t));
    inputs_.push_back(spec_of(t));
  }
  for (size_t i = 0; i < cagr_model_output_count(model_.get()); ++i) {
    check(cagr_model_output_info(model_.get(), i, &t));
    outputs_.push_back(spec_of(t));
    output_names_.push_back(t.name);
  }
}

nb::dict Model::run(const nb::dict& inputs) {
  const InputViews views(inputs);
  std::vector<OutputCopy> copies;
  {
    nb::gil_scoped_release release;
    const SessionPool::Lease session = sessions_->borrow();
    check(cagr_session_run(session.get(), views.size(), views.tensors()));
    copies.reserve(output_names_.size());
    for (const char* name : output_names_) {
      cagr_tensor out{};
      out.struct_size = sizeof out;
      check(cagr_session_output(session.get(), name, &out));
      copies.emplace_back(out);
    }
  }
  nb::dict outputs;
  for (size_t i = 0; i < copies.size(); ++i) outputs[output_names_[i]] = copies[i].to_numpy();
  return outputs;
}

std::string Model::plan() {
  nb::gil_scoped_release release;
  const SessionPool::Lease session = sessions_->borrow();
  const std::string table = cagr_session_plan(session.get());
  if (table.empty()) throw Error("the model has not run yet: its plan is made at the first run");
  return table;
}

void Model::save_plan(const std::string& path) {
  nb::gil_scoped_release release;
  const SessionPool::Lease session = sessions_->borrow();
  check(cagr_session_save_plan(session.get(), path.c_str()));
}

}  // namespace cagr_python

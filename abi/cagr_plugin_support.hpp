// cagr_plugin_support.hpp - what every plugin needs on its side of the ABI, written once:
// the thread-local error message, exceptions turned into status codes at one place, and a
// checked view of an op description (attributes, tensor shapes).
//
// Header-only C++17; depends on nothing but abi/ and the standard library, so a plugin that uses
// it still includes only abi/.
#ifndef CAGR_PLUGIN_SUPPORT_HPP_
#define CAGR_PLUGIN_SUPPORT_HPP_

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cagr_dtype.hpp"
#include "cagr_plugin.h"
#include "cagr_struct.hpp"

namespace cagr::plugin {

// An error with the status the host will see. Throw it anywhere below an entry point.
class Error : public std::runtime_error {
 public:
  Error(cagr_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  cagr_status status() const { return status_; }

 private:
  cagr_status status_;
};

inline std::string& last_error() {
  thread_local std::string message;
  return message;
}

// For the table's `last_error_message` entry.
inline const char* last_error_message() { return last_error().c_str(); }

// Runs `body` and turns whatever it throws into a status plus last_error(). Every entry point of a
// plugin goes through this, so no C++ exception ever crosses the ABI.
template <class F>
cagr_status guarded(F&& body) noexcept {
  try {
    body();
    return CAGR_OK;
  } catch (const Error& e) {
    last_error() = e.what();
    return e.status();
  } catch (const std::bad_alloc&) {
    last_error() = "out of host memory";
    return CAGR_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error() = e.what();
    return CAGR_ERROR_INTERNAL;
  } catch (...) {
    last_error() = "unknown exception";
    return CAGR_ERROR_INTERNAL;
  }
}

[[noreturn]] inline void invalid(const std::string& message) {
  throw Error(CAGR_ERROR_INVALID_ARGUMENT, message);
}
[[noreturn]] inline void unsupported(const std::string& message) {
  throw Error(CAGR_ERROR_UNSUPPORTED, message);
}

using abi::dtype_name;
using abi::dtype_size;

// The folder where plugins keep what they measure or compile once (device probes, program
// binaries): $CAGR_CACHE_DIR, else $XDG_CACHE_HOME/cagr, else $HOME/.cache/cagr; empty when none is
// known. Deleting it makes every plugin measure again (e.g. after a probe ran on a busy machine).
inline std::filesystem::path cache_dir() {
  auto set = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  if (const char* dir = set("CAGR_CACHE_DIR")) return dir;
  if (const char* xdg = set("XDG_CACHE_HOME")) return std::filesystem::path(xdg) / "cagr";
  if (const char* home = set("HOME")) return std::filesystem::path(home) / ".cache" / "cagr";
  return {};
}

// `text` (a device name, a driver version) usable in a file name: other than letters, digits and
// '-', every character becomes '_'.
inline std::string file_key(std::string text) {
  for (char& c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
  return text;
}

// A tensor description read safely from the host's struct.
struct Shape {
  cagr_dtype dtype = CAGR_DTYPE_INVALID;
  std::vector<int64_t> dims;

  Shape() = default;
  explicit Shape(const cagr_tensor_desc* desc) { assign(desc); }
  // Reads `desc` into this shape, reusing its storage (kernel_run reads every tensor per run).
  void assign(const cagr_tensor_desc* desc) {
    const cagr_tensor_desc d = abi::read_struct(desc);
    if (desc == nullptr || d.rank < 0 || d.rank > CAGR_MAX_RANK) invalid("tensor description missing or rank out of range");
    dtype = d.dtype;
    dims.assign(d.dims, d.dims + d.rank);
  }
  int rank() const { return static_cast<int>(dims.size()); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t v : dims) n *= v;
    return n;
  }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  int64_t dim(int i) const { return dims.at(static_cast<size_t>(i < 0 ? i + rank() : i)); }
};

// A checked view of an op description: attributes by name with defaults, shapes by position.
class OpView {
 public:
  OpView() = default;
  explicit OpView(const cagr_op_desc* op) { assign(op); }
  // Views `op` instead, reusing this view's storage (kernel_run makes one view per run).
  void assign(const cagr_op_desc* op) {
    desc_ = abi::read_struct(op);
    if (op == nullptr || desc_.op_type == nullptr) invalid("op description missing or without op_type");
    inputs_.resize(desc_.num_inputs);
    outputs_.resize(desc_.num_outputs);
    for (size_t i = 0; i < desc_.num_inputs; ++i) inputs_[i].assign(desc_.inputs[i]);
    for (size_t i = 0; i < desc_.num_outputs; ++i) outputs_[i].assign(desc_.outputs[i]);
  }

  std::string type() const { return desc_.op_type; }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  const Shape& input(size_t i) const {
    if (i >= inputs_.size()) invalid(type() + ": missing input " + std::to_string(i));
    return inputs_[i];
  }
  const Shape& output(size_t i) const {
    if (i >= outputs_.size()) invalid(type() + ": missing output " + std::to_string(i));
    return outputs_[i];
  }
  const cagr_op_desc& desc() const { return desc_; }

  // The attribute named `name`, or nullptr.
  const cagr_attr* find_attr(const char* name) const {
    for (size_t i = 0; i < desc_.num_attrs; ++i) {
      const cagr_attr* a = desc_.attrs[i];
      if (a != nullptr && a->name != nullptr && std::string(a->name) == name) return a;
    }
    return nullptr;
  }
  int64_t attr_int(const char* name, int64_t fallback) const {
    const cagr_attr* a = find_attr(name);
    if (a == nullptr) return fallback;
    if (a->kind != CAGR_ATTR_INT) invalid(type() + ": attribute '" + name + "' must be an int");
    return a->i;
  }
  double attr_float(const char* name, double fallback) const {
    const cagr_attr* a = find_attr(name);
    if (a == nullptr) return fallback;
    if (a->kind == CAGR_ATTR_INT) return static_cast<double>(a->i);
    if (a->kind != CAGR_ATTR_FLOAT) invalid(type() + ": attribute '" + name + "' must be a float");
    return a->f;
  }
  std::string attr_string(const char* name, const std::string& fallback) const {
    const cagr_attr* a = find_attr(name);
    if (a == nullptr) return fallback;
    if (a->kind != CAGR_ATTR_STRING || a->s == nullptr) invalid(type() + ": attribute '" + name + "' must be a string");
    return a->s;
  }
  std::vector<int64_t> attr_ints(const char* name, const std::vector<int64_t>& fallback) const {
    const cagr_attr* a = find_attr(name);
    if (a == nullptr) return fallback;
    if (a->kind != CAGR_ATTR_INTS) invalid(type() + ": attribute '" + name + "' must be a list of ints");
    return std::vector<int64_t>(a->ints, a->ints + a->count);
  }
  bool has_attr(const char* name) const { return find_attr(name) != nullptr; }

 private:
  cagr_op_desc desc_{};
  std::vector<Shape> inputs_;
  std::vector<Shape> outputs_;
};

// Which op inputs kernel_run's input buffers are: the op's inputs in order, those given as
// constants at kernel_create skipped (cagr_kernel_run_args).
inline std::vector<size_t> run_input_slots(const std::vector<bool>& is_constant) {
  std::vector<size_t> slots;
  for (size_t i = 0; i < is_constant.size(); ++i)
    if (!is_constant[i]) slots.push_back(i);
  return slots;
}

// Checks that the host passed as many input and output buffers as the op takes (`inputs`: its
// inputs less the constants); `op` names the op in the errors.
inline void check_run_counts(size_t inputs, size_t outputs, const cagr_kernel_run_args& run, const std::string& op) {
  if (run.num_inputs != inputs)
    invalid(op + ": kernel_run got " + std::to_string(run.num_inputs) + " input buffers, the op takes " + std::to_string(inputs) +
            " (its inputs less the constants)");
  if (run.num_outputs != outputs)
    invalid(op + ": kernel_run got " + std::to_string(run.num_outputs) + " output buffers, the op has " + std::to_string(outputs));
  if ((run.num_inputs > 0 && (run.inputs == nullptr || run.input_descs == nullptr)) ||
      (run.num_outputs > 0 && (run.outputs == nullptr || run.output_descs == nullptr)))
    invalid(op + ": kernel_run buffer or desc arrays missing");
}

// Answers the host's entry call for a plugin that speaks ABI 1.x: checks the host offers major 1
// or later and hands out `api`. A plugin's cagr_plugin_entry is usually just this call.
inline cagr_status negotiate_entry(cagr_plugin_entry_args* args, const cagr_plugin_api* api) {
  if (args == nullptr) return CAGR_ERROR_INVALID_ARGUMENT;
  cagr_plugin_entry_args a = abi::read_struct(args);
  if (a.host_abi_major < CAGR_ABI_VERSION_MAJOR) {
    a.refusal = "host ABI major is older than the plugin's";
    abi::write_struct(args, a);
    return CAGR_ERROR_VERSION;
  }
  a.plugin_abi_major = CAGR_ABI_VERSION_MAJOR;
  a.plugin_abi_minor = CAGR_ABI_VERSION_MINOR;
  a.api = api;
  a.refusal = nullptr;
  abi::write_struct(args, a);
  return CAGR_OK;
}

}  // namespace cagr::plugin

#endif  // CAGR_PLUGIN_SUPPORT_HPP_

// c_api.cpp - the C API of cagr.h over the C++ core; C++ exceptions become status codes here.
#include "cagr.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "executor.hpp"
#include "math_precision.hpp"
#include "table_precision.hpp"
#include "model_loading.hpp"
#include "plan.hpp"
#include "planned_executor.hpp"
#include "planner.hpp"
#include "registry.hpp"
#include "targets.hpp"

struct cagr_runtime {
  cagr::Registry registry;
  std::once_flag described;  // the description is made once, so threads may ask for it together
  std::string description;
};

struct cagr_model {
  std::vector<cagr::Target> targets;  // hold the plugins, so the runtime may be destroyed first
  cagr::Graph graph;
};

// One plan of a session, made at the first run whose batch fell in its range (batch_ranges()).
struct SessionPlan {
  std::vector<int> ranges;  // per input, the range of its first dimension
  std::unique_ptr<cagr::Executor> executor;
  std::string warnings;     // what the plan could not follow, tables left f32
};

struct cagr_session {
  cagr::Graph graph;
  std::vector<cagr::Target> targets;  // hold the plugins, so the runtime may go first
  bool profile = false;
  bool fixed_plan = false;                // cagr_session_options.fixed_plan
  std::optional<cagr::Plan> loaded_plan;  // from cagr_session_options.plan_path
  std::optional<cagr::OptimizerMode> optimizer;  // cagr_session_options.optimizer, where given
  std::optional<cagr::LearnedPolicy> policy;     // with the "policy" optimizer
  std::optional<cagr::Graph> converted;   // `graph` with its tables converted by the first plan (planned_executor.hpp)
  // Declared before the plans, so that it outlives their executors.
  std::shared_ptr<cagr::KernelPool> kernels = std::make_shared<cagr::KernelPool>();
  std::deque<SessionPlan> plans;          // a deque: a plan made keeps the others where they are
  SessionPlan* current = nullptr;         // the last run's plan (or the example inputs')
  std::vector<cagr::HostTensor> outputs;
  std::string plan;
  std::string plan_warnings;
  std::string placed_again;               // devices lost while running, a line each
  // Set while a call is inside the session: a second thread entering then gets
  // CAGR_API_SESSION_BUSY instead of racing the first (cagr.h: a session is one thread's at a time).
  std::atomic<bool> in_use{false};
};

namespace {

// A session call's hold on its session for the length of the call.
class SessionUse {
 public:
  SessionUse(cagr_session* session, const char* call) : session_(session) {
    if (session_->in_use.exchange(true, std::memory_order_acquire))
      throw Busy(std::string(call) +
                 ": the session is in use by another thread (a session is one thread's at a time: give each thread its "
                 "own session over the shared model, cagr.h)");
  }
  ~SessionUse() { session_->in_use.store(false, std::memory_order_release); }
  SessionUse(const SessionUse&) = delete;
  SessionUse& operator=(const SessionUse&) = delete;

  struct Busy : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

 private:
  cagr_session* session_;
};

std::string& last_error() {
  thread_local std::string message;
  return message;
}

template <class F>
cagr_api_status guarded(F&& body) noexcept {
  try {
    last_error().clear();
    body();
    return CAGR_API_OK;
  } catch (const SessionUse::Busy& e) {
    last_error() = e.what();
    return CAGR_API_SESSION_BUSY;
  } catch (const cagr::Error& e) {
    last_error() = e.what();
    switch (e.status()) {
      case CAGR_ERROR_INVALID_ARGUMENT: return CAGR_API_INVALID_ARGUMENT;
      case CAGR_ERROR_UNSUPPORTED: return CAGR_API_UNSUPPORTED;
      case CAGR_ERROR_OUT_OF_MEMORY: return CAGR_API_OUT_OF_MEMORY;
      case CAGR_ERROR_DEVICE: return CAGR_API_DEVICE_ERROR;
      default: return CAGR_API_INTERNAL;
    }
  } catch (const std::invalid_argument& e) {
    last_error() = e.what();
    return CAGR_API_INVALID_ARGUMENT;
  } catch (const std::bad_alloc&) {
    last_error() = "out of host memory";
    return CAGR_API_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error() = e.what();
    return CAGR_API_INVALID_ARGUMENT;  // model and configuration errors (runtime_error) are the caller's to fix
  }
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

cagr::HostTensor to_host(const cagr_tensor& t) {
  require(t.rank >= 0 && t.rank <= CAGR_MAX_RANK && (t.rank == 0 || t.dims != nullptr), "tensor '" + std::string(t.name ? t.name : "?") + "': bad rank or dims");
  cagr::Dims dims(t.dims, t.dims + t.rank);
  for (int64_t d : dims) require(d >= 0, "tensor '" + std::string(t.name ? t.name : "?") + "': negative dimension");
  cagr::HostTensor h(static_cast<cagr_dtype>(t.dtype), dims);
  require(cagr::dtype_size(h.dtype) > 0, "tensor '" + std::string(t.name ? t.name : "?") + "': unknown dtype " + std::to_string(t.dtype));
  require(h.data.empty() || t.data != nullptr, "tensor '" + std::string(t.name ? t.name : "?") + "': no data");
  if (!h.data.empty()) std::memcpy(h.data.data(), t.data, h.data.size());
  return h;
}

// Describes a tensor to the caller, copying no more of cagr_tensor than the caller's struct_size holds.
void describe_tensor(cagr_tensor* out, const std::string& name, cagr_dtype dtype, const cagr::Dims& dims, void* data) {
  cagr_tensor t{};
  t.struct_size = sizeof t;
  t.name = name.c_str();
  t.dtype = dtype;
  t.rank = static_cast<int32_t>(dims.size());
  t.dims = dims.data();
  t.data = data;
  std::memcpy(out, &t, std::min(sizeof t, out->struct_size ? out->struct_size : sizeof t));
}

// An input (or output) of a model, by index.
void describe_model_tensor(const cagr_model* model, bool input, size_t index, cagr_tensor* out, const char* call) {
  require(model != nullptr && out != nullptr, std::string(call) + ": NULL argument");
  const std::vector<int>& ids = input ? model->graph.inputs() : model->graph.outputs();
  require(index < ids.size(), std::string(call) + ": index " + std::to_string(index) + " out of range (the model has " +
                                  std::to_string(ids.size()) + ")");
  const cagr::TensorInfo& info = model->graph.tensor(ids[index]);
  describe_tensor(out, info.name, info.dtype, info.dims, nullptr);
}

// Inputs given by name, put in the model's input order.
std::vector<cagr::HostTensor> order_inputs(const cagr::Graph& graph, size_t n, const cagr_tensor* given) {
  require(n == 0 || given != nullptr, "inputs missing");
  std::vector<cagr::HostTensor> ordered;
  for (int id : graph.inputs()) {
    const std::string& name = graph.tensor(id).name;
    const cagr_tensor* match = nullptr;
    for (size_t i = 0; i < n; ++i)
      if (given[i].name != nullptr && name == given[i].name) match = &given[i];
    require(match != nullptr, "input '" + name + "' not given");
    ordered.push_back(to_host(*match));
  }
  for (size_t i = 0; i < n; ++i) {
    require(given[i].name != nullptr && graph.has_tensor(given[i].name), "model has no input named '" +
                                                                            std::string(given[i].name ? given[i].name : "(null)") + "'");
  }
  return ordered;
}

// The batch ranges of a run: per input, 0 for a first dimension of 1 (or a scalar), then 1 for
// 2-8, 2 for 9-64, 3 for 65-512, ...: a plan made within a range is near the best for the rest of it.
std::vector<int> batch_ranges(const std::vector<cagr::HostTensor>& inputs) {
  std::vector<int> ranges;
  for (const cagr::HostTensor& t : inputs) {
    int range = 0;
    for (int64_t limit = 1; !t.dims.empty() && limit < t.dims[0]; limit *= 8) ++range;
    ranges.push_back(range);
  }
  return ranges;
}

// The plan for `inputs`: the session's plan for their batch range, else one made at their shapes
// (a session with a fixed or loaded plan keeps its first).
SessionPlan& plan_for(cagr_session* session, const std::vector<cagr::HostTensor>& inputs) {
  const std::vector<int> ranges = batch_ranges(inputs);
  const bool one_plan = session->fixed_plan || session->loaded_plan;
  for (SessionPlan& p : session->plans)
    if (one_plan || p.ranges == ranges) return p;
  std::optional<cagr::PlannerOptions> planner;
  if (session->optimizer) {
    planner.emplace();
    planner->mode = *session->optimizer;
    planner->policy = session->policy ? &*session->policy : nullptr;
  }
  cagr::PlannedExecutor made = cagr::make_executor(session->converted ? *session->converted : session->graph, session->targets,
                                                   inputs, session->loaded_plan, planner, session->kernels);
  if (!session->converted) session->converted = std::move(made.graph);
  SessionPlan& p = session->plans.emplace_back();
  p.ranges = ranges;
  p.executor = std::move(made.executor);
  for (const std::string& w : made.warnings) p.warnings += w + "\n";
  p.executor->set_profiling(session->profile);
  return p;
}

// Every plan dropped, to be made again on the devices left (a plugin failed while running).
void drop_plans(cagr_session* session) {
  session->current = nullptr;
  session->plans.clear();
  session->converted.reset();
  session->kernels = std::make_shared<cagr::KernelPool>();
}

}  // namespace

extern "C" {

const char* cagr_last_error(void) { return last_error().c_str(); }

cagr_api_status cagr_runtime_create(const cagr_runtime_options* options, cagr_runtime** runtime) {
  return guarded([&] {
    require(runtime != nullptr, "cagr_runtime_create: runtime is NULL");
    cagr_runtime_options o{};
    o.struct_size = sizeof o;
    o.probe_in_child = 1;
    if (options != nullptr) std::memcpy(&o, options, std::min(sizeof o, options->struct_size));
    cagr::DiscoveryOptions discovery;
    if (o.plugins != nullptr && *o.plugins != '\0') discovery.selection = o.plugins;
    if (o.manifest != nullptr) discovery.manifest = std::string(o.manifest);
    discovery.probe = o.probe_in_child != 0;
    if (o.isolate_plugins != 0)
      discovery.isolation = cagr::IsolationOptions{std::chrono::milliseconds(o.plugin_timeout_ms > 0 ? o.plugin_timeout_ms : 60000)};
    auto rt = std::make_unique<cagr_runtime>();
    rt->registry = cagr::Registry::discover(discovery);
    *runtime = rt.release();
  });
}

void cagr_runtime_destroy(cagr_runtime* runtime) { delete runtime; }

const char* cagr_runtime_describe(cagr_runtime* runtime) {
  if (runtime == nullptr) return "";
  std::call_once(runtime->described, [&] { runtime->description = cagr::format_plugin_list(runtime->registry); });
  return runtime->description.c_str();
}

cagr_api_status cagr_model_load(cagr_runtime* runtime, const char* path, cagr_model** model) {
  return guarded([&] {
    require(runtime != nullptr && path != nullptr && model != nullptr, "cagr_model_load: NULL argument");
    auto m = std::make_unique<cagr_model>();
    m->targets = cagr::targets_of(runtime->registry);
    m->graph = cagr::load_any_model(path);
    *model = m.release();
  });
}

void cagr_model_destroy(cagr_model* model) { delete model; }

size_t cagr_model_input_count(const cagr_model* model) { return model ? model->graph.inputs().size() : 0; }
const char* cagr_model_input_name(const cagr_model* model, size_t index) {
  if (model == nullptr || index >= model->graph.inputs().size()) return nullptr;
  return model->graph.tensor(model->graph.inputs()[index]).name.c_str();
}
size_t cagr_model_output_count(const cagr_model* model) { return model ? model->graph.outputs().size() : 0; }
const char* cagr_model_output_name(const cagr_model* model, size_t index) {
  if (model == nullptr || index >= model->graph.outputs().size()) return nullptr;
  return model->graph.tensor(model->graph.outputs()[index]).name.c_str();
}
cagr_api_status cagr_model_input_info(const cagr_model* model, size_t index, cagr_tensor* out) {
  return guarded([&] { describe_model_tensor(model, true, index, out, "cagr_model_input_info"); });
}
cagr_api_status cagr_model_output_info(const cagr_model* model, size_t index, cagr_tensor* out) {
  return guarded([&] { describe_model_tensor(model, false, index, out, "cagr_model_output_info"); });
}

cagr_api_status cagr_session_create(cagr_model* model, const cagr_session_options* options, cagr_session** session) {
  return guarded([&] {
    require(model != nullptr && session != nullptr, "cagr_session_create: NULL argument");
    cagr_session_options o{};
    o.struct_size = sizeof o;
    if (options != nullptr) std::memcpy(&o, options, std::min(sizeof o, options->struct_size));
    auto s = std::make_unique<cagr_session>();
    s->graph = model->graph;
    s->targets = model->targets;
    s->profile = o.profile != 0;
    if (o.math_precision != nullptr) {
      const auto allowed = cagr::abi::math_precision_named(o.math_precision);
      require(allowed.has_value(), "cagr_session_options.math_precision is '" + std::string(o.math_precision) + "': expected " + cagr::abi::math_precision_choices());
      cagr::allow_math_precision(s->graph, *allowed);
    }
    if (o.table_precision != nullptr)
      cagr::request_table_dtype(s->graph, cagr::table_precision_named(o.table_precision, "cagr_session_options.table_precision"));
    if (o.struct_size >= offsetof(cagr_session_options, plan_path) + sizeof o.plan_path && o.plan_path != nullptr) {
      s->loaded_plan = cagr::load_plan(o.plan_path);
      cagr::check_plan_fits(*s->loaded_plan, s->graph, o.plan_path);
    }
    if (o.optimizer != nullptr) s->optimizer = cagr::optimizer_mode(o.optimizer);
    if (s->optimizer == cagr::OptimizerMode::policy)
      s->policy = cagr::LearnedPolicy::load(o.policy_path ? std::filesystem::path(o.policy_path) : cagr::LearnedPolicy::default_file());
    s->fixed_plan = o.struct_size >= offsetof(cagr_session_options, fixed_plan) + sizeof o.fixed_plan && o.fixed_plan != 0;
    if (o.example_inputs != nullptr) s->current = &plan_for(s.get(), order_inputs(s->graph, o.num_example_inputs, o.example_inputs));
    *session = s.release();
  });
}

void cagr_session_destroy(cagr_session* session) { delete session; }

cagr_api_status cagr_session_run(cagr_session* session, size_t num_inputs, const cagr_tensor* inputs) {
  return guarded([&] {
    require(session != nullptr, "cagr_session_run: session is NULL");
    const SessionUse use(session, "cagr_session_run");
    std::vector<cagr::HostTensor> ordered = order_inputs(session->graph, num_inputs, inputs);
    session->outputs.clear();
    // A plugin that fails while running (isolated: its worker crashed or hung) is left out and the
    // pass placed again on the devices left, once per plugin lost; the first error stands where no
    // plugin was lost or none is left.
    std::vector<std::string> replaced;
    for (;;) {
      try {
        session->current = &plan_for(session, ordered);
        session->outputs = session->current->executor->run(ordered);
        break;
      } catch (const cagr::Error& e) {
        const std::vector<std::string> dropped = cagr::drop_failed_targets(session->targets);
        if (dropped.empty()) throw;
        if (session->targets.empty()) throw cagr::Error(e.status(), std::string(e.what()) + "; no other device is left to run it");
        replaced.insert(replaced.end(), dropped.begin(), dropped.end());
        drop_plans(session);
      }
    }
    for (const std::string& line : replaced) session->placed_again += line + "; its nodes were placed again\n";
  });
}

cagr_api_status cagr_session_output(cagr_session* session, const char* name, cagr_tensor* out) {
  return guarded([&] {
    require(session != nullptr && name != nullptr && out != nullptr, "cagr_session_output: NULL argument");
    const SessionUse use(session, "cagr_session_output");
    require(!session->outputs.empty(), "no run yet");
    const cagr::Graph& g = session->current->executor->graph();
    for (size_t i = 0; i < g.outputs().size(); ++i) {
      if (g.tensor(g.outputs()[i]).name != name) continue;
      cagr::HostTensor& h = session->outputs[i];
      describe_tensor(out, g.tensor(g.outputs()[i]).name, h.dtype, h.dims, h.data.data());
      return;
    }
    throw std::invalid_argument(std::string("model has no output named '") + name + "'");
  });
}

cagr_api_status cagr_session_save_plan(cagr_session* session, const char* path) {
  return guarded([&] {
    require(session != nullptr && path != nullptr, "cagr_session_save_plan: NULL argument");
    const SessionUse use(session, "cagr_session_save_plan");
    require(session->current != nullptr, "cagr_session_save_plan: the session has not compiled yet (run it, or give example inputs)");
    const cagr::Executor& e = *session->current->executor;
    cagr::save_plan(cagr::make_plan(session->graph, e, session->loaded_plan ? "plan" : session->optimizer ? cagr::optimizer_mode_name(*session->optimizer) : "hints"), path);
  });
}

// The two text answers of a session: "" (and cagr_last_error says why) where the session is NULL
// or in use by another thread.
const char* cagr_session_plan_warnings(cagr_session* session) {
  const char* text = "";
  guarded([&] {
    require(session != nullptr, "cagr_session_plan_warnings: session is NULL");
    const SessionUse use(session, "cagr_session_plan_warnings");
    session->plan_warnings = (session->current ? session->current->warnings : std::string()) + session->placed_again;
    text = session->plan_warnings.c_str();
  });
  return text;
}

const char* cagr_session_plan(cagr_session* session) {
  const char* text = "";
  guarded([&] {
    require(session != nullptr, "cagr_session_plan: session is NULL");
    const SessionUse use(session, "cagr_session_plan");
    if (!session->current) return;
    session->plan = session->current->executor->plan_table();
    text = session->plan.c_str();
  });
  return text;
}

}  // extern "C"

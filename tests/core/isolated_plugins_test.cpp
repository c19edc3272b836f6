// Plugins run isolated (cagr_runtime_options.isolate_plugins, loader/isolated_plugin.hpp): a plugin
// that crashes or hangs while running is left out and its nodes placed on the other devices, or,
// where none is left, an error naming it, the entry point and the node; the application goes on. A
// healthy plugin gives bitwise the same outputs as in-process.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cagr.h"
#include "model_format.hpp"
#include "model_zoo.hpp"
#include "sample_inputs.hpp"

namespace {

const std::string kCpuPlugin = std::string(CAGR_TEST_PLUGIN_DIR) + "/libcagr_cpu.so";

std::string misbehaving(const std::string& name) {
  return std::string(CAGR_MISBEHAVING_PLUGIN_DIR) + "/libcagr_test_" + name + ".so";
}

const std::string& model_path() {
  static const std::string path = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("cagr_isolated_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string p = (dir / "model.xml").string();
    cagr::save_model(cagr::zoo::find_model("dlrm_avazu_sample").build(5), p);
    return p;
  }();
  return path;
}

struct Runtime {
  cagr_runtime* runtime = nullptr;
  cagr_model* model = nullptr;
  ~Runtime() {
    cagr_model_destroy(model);
    cagr_runtime_destroy(runtime);
  }
};

// A runtime over `plugins` (comma-separated files), isolated or not, with the sample DLRM loaded.
void open(Runtime* rt, const std::string& plugins, bool isolate, int64_t timeout_ms = 0) {
  cagr_runtime_options o{};
  o.struct_size = sizeof o;
  o.plugins = plugins.c_str();
  o.probe_in_child = 0;
  o.isolate_plugins = isolate ? 1 : 0;
  o.plugin_timeout_ms = timeout_ms;
  ASSERT_EQ(cagr_runtime_create(&o, &rt->runtime), CAGR_API_OK) << cagr_last_error();
  ASSERT_EQ(std::string(cagr_runtime_describe(rt->runtime)).find(", 0 loaded"), std::string::npos) << cagr_runtime_describe(rt->runtime);
  ASSERT_EQ(cagr_model_load(rt->runtime, model_path().c_str(), &rt->model), CAGR_API_OK) << cagr_last_error();
}

// A session over a runtime's model, running it on the test's inputs at any batch.
class Session {
 public:
  explicit Session(const Runtime& rt) : graph_(cagr::load_model(model_path())) {
    EXPECT_EQ(cagr_session_create(rt.model, nullptr, &session_), CAGR_API_OK) << cagr_last_error();
  }
  ~Session() { cagr_session_destroy(session_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // One pass at `batch`; the status, and the output 'prob' where it ran.
  cagr_api_status run(int64_t batch, std::vector<float>* prob) {
    std::vector<cagr::HostTensor> inputs = cagr::testing::random_inputs(graph_, batch, 7);
    std::vector<cagr_tensor> given;
    for (size_t i = 0; i < inputs.size(); ++i) {
      given.push_back({sizeof(cagr_tensor), graph_.tensor(graph_.inputs()[i]).name.c_str(), inputs[i].dtype,
                       static_cast<int32_t>(inputs[i].dims.size()), inputs[i].dims.data(), inputs[i].data.data()});
    }
    const cagr_api_status s = cagr_session_run(session_, given.size(), given.data());
    if (s != CAGR_API_OK) return s;
    cagr_tensor out{};
    out.struct_size = sizeof out;
    EXPECT_EQ(cagr_session_output(session_, "prob", &out), CAGR_API_OK) << cagr_last_error();
    const float* p = static_cast<const float*>(out.data);
    prob->assign(p, p + out.dims[0]);
    return s;
  }
  std::string plan() const { return cagr_session_plan(session_); }
  std::string plan_warnings() const { return cagr_session_plan_warnings(session_); }

 private:
  cagr::Graph graph_;
  cagr_session* session_ = nullptr;
};

// The predictions of the CPU plugin, in this process or isolated, at each batch of `batches`.
std::vector<std::vector<float>> cpu_predictions(bool isolate, const std::vector<int64_t>& batches) {
  Runtime rt;
  open(&rt, kCpuPlugin, isolate);
  Session session(rt);
  std::vector<std::vector<float>> predictions;
  for (int64_t batch : batches) {
    predictions.emplace_back();
    EXPECT_EQ(session.run(batch, &predictions.back()), CAGR_API_OK) << cagr_last_error();
  }
  return predictions;
}

TEST(IsolatedPlugins, AHealthyPluginGivesBitwiseTheSameOutputsAsInProcess) {
  // Batches that grow and shrink: the shared area grows, shapes vary per run.
  const std::vector<int64_t> batches{64, 7, 2048, 1};
  const auto in_process = cpu_predictions(false, batches);
  const auto isolated = cpu_predictions(true, batches);
  ASSERT_EQ(isolated.size(), in_process.size());
  for (size_t b = 0; b < batches.size(); ++b) {
    ASSERT_EQ(isolated[b].size(), static_cast<size_t>(batches[b]));
    EXPECT_EQ(std::memcmp(isolated[b].data(), in_process[b].data(), isolated[b].size() * sizeof(float)), 0)
        << "batch " << batches[b];
  }
}

TEST(IsolatedPlugins, SessionsOnSeveralThreadsShareAnIsolatedPlugin) {
  // Each thread its own session over one model; their calls take turns in the one worker, and the
  // shared area carries one copy at a time.
  const std::vector<int64_t> batches{3, 64, 17, 256};
  const auto want = cpu_predictions(false, batches);
  Runtime rt;
  open(&rt, kCpuPlugin, true);
  std::vector<std::string> failures(batches.size());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < batches.size(); ++t) {
    threads.emplace_back([&, t] {
      Session session(rt);
      for (int pass = 0; pass < 20 && failures[t].empty(); ++pass) {
        std::vector<float> prob;
        if (session.run(batches[t], &prob) != CAGR_API_OK) failures[t] = cagr_last_error();
        else if (prob != want[t]) failures[t] = "pass " + std::to_string(pass) + " differs from in-process";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t t = 0; t < batches.size(); ++t) EXPECT_EQ(failures[t], "") << "batch " << batches[t];
}

// A session on a plugin that fails while running: the status and message of its first pass, and
// those of a second pass (the worker is gone by then).
struct Failure {
  cagr_api_status first, second;
  std::string message, second_message;
  double seconds;
};
Failure failing_run(const std::string& plugin, int64_t timeout_ms) {
  Runtime rt;
  open(&rt, plugin, true, timeout_ms);
  Session session(rt);
  std::vector<float> prob;
  Failure f;
  const auto start = std::chrono::steady_clock::now();
  f.first = session.run(16, &prob);
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  f.message = cagr_last_error();
  f.second = session.run(16, &prob);
  f.second_message = cagr_last_error();
  ::testing::Test::RecordProperty("first_message", f.message);
  ::testing::Test::RecordProperty("second_message", f.second_message);
  return f;
}

TEST(IsolatedPlugins, ACrashInKernelRunIsAnErrorNamingThePluginAndTheNodeAndARetryWithoutItRuns) {
  const Failure f = failing_run(misbehaving("segv_in_run"), 0);
  EXPECT_EQ(f.first, CAGR_API_DEVICE_ERROR);
  EXPECT_NE(f.message.find("node '"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("plugin test_segv_in_run (" + misbehaving("segv_in_run") + "): kernel_run failed: "), std::string::npos)
      << f.message;
  EXPECT_NE(f.message.find("crashed (SIGSEGV: Segmentation fault) in kernel_run"), std::string::npos) << f.message;
  EXPECT_EQ(f.second, CAGR_API_DEVICE_ERROR);
  EXPECT_NE(f.second_message.find("earlier"), std::string::npos) << f.second_message;

  // The same model with the faulty plugin left out: the CPU plugin's predictions, in-process and
  // isolated alike.
  const auto want = cpu_predictions(false, {16});
  EXPECT_EQ(cpu_predictions(true, {16}), want);
}

TEST(IsolatedPlugins, NodesOfAPluginThatCrashesInKernelRunArePlacedAgainOnTheOtherDevices) {
  Runtime rt;
  open(&rt, misbehaving("segv_in_run") + "," + kCpuPlugin, true);
  Session session(rt);
  std::vector<float> prob;
  // The crashing plugin offers every op at almost no cost, so the first plan gives it nodes; its
  // crash leaves it out, and the same call runs the pass on the CPU plugin.
  ASSERT_EQ(session.run(16, &prob), CAGR_API_OK) << cagr_last_error();
  const std::string warnings = session.plan_warnings();
  ::testing::Test::RecordProperty("warnings", warnings);
  EXPECT_NE(warnings.find("test_segv_in_run:0 left out: plugin test_segv_in_run"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("crashed (SIGSEGV: Segmentation fault) in kernel_run; its nodes were placed again"), std::string::npos)
      << warnings;
  EXPECT_EQ(session.plan().find("test_segv_in_run"), std::string::npos) << session.plan();
  const std::vector<float> want = cpu_predictions(false, {16}).front();
  EXPECT_EQ(prob, want);
  // Later passes run on the CPU plugin without another try.
  EXPECT_EQ(session.run(16, &prob), CAGR_API_OK) << cagr_last_error();
  EXPECT_EQ(prob, want);
}

TEST(IsolatedPlugins, AHangInKernelRunIsKilledAfterTheTimeoutAndNamed) {
  const Failure f = failing_run(misbehaving("hang_in_run"), 1500);
  EXPECT_EQ(f.first, CAGR_API_DEVICE_ERROR);
  EXPECT_NE(f.message.find("node '"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("plugin test_hang_in_run"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("did not answer kernel_run within 1500 ms"), std::string::npos) << f.message;
  EXPECT_GE(f.seconds, 1.4);
  EXPECT_LT(f.seconds, 30.0);
  EXPECT_EQ(f.second, CAGR_API_DEVICE_ERROR);
}

TEST(IsolatedPlugins, ACrashInOpQueryMakesThatPluginRefuseAndTheNodesGoElsewhere) {
  // Alone, the crashing plugin can run nothing: the first run (which places the nodes) says so,
  // naming the plugin and the entry.
  {
    Runtime rt;
    open(&rt, misbehaving("segv_in_query"), true);
    Session session(rt);
    std::vector<float> prob;
    EXPECT_NE(session.run(16, &prob), CAGR_API_OK);
    const std::string message = cagr_last_error();
    ::testing::Test::RecordProperty("message", message);
    EXPECT_NE(message.find("no loaded plugin can run it"), std::string::npos) << message;
    EXPECT_NE(message.find("op_query failed: "), std::string::npos) << message;
    EXPECT_NE(message.find("crashed (SIGSEGV: Segmentation fault) in op_query"), std::string::npos) << message;
  }
  // Beside the CPU plugin, every node is placed on the CPU plugin, with its predictions.
  Runtime rt;
  open(&rt, misbehaving("segv_in_query") + "," + kCpuPlugin, true);
  Session session(rt);
  std::vector<float> prob;
  EXPECT_EQ(session.run(16, &prob), CAGR_API_OK) << cagr_last_error();
  EXPECT_EQ(session.plan().find("test_segv_in_query:"), std::string::npos) << session.plan();
  EXPECT_EQ(prob, cpu_predictions(false, {16}).front());
}

}  // namespace

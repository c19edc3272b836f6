// Plugins loaded and run in a worker process (DiscoveryOptions::isolation, isolated_plugin.hpp): the
// same plugin, devices and answers as in-process; the failures of loading named as the probe
// names them; the worker's absence a clear reason.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <thread>

#include "owned_op_desc.hpp"
#include "test_support.hpp"

namespace cagr::test {
namespace {

DiscoveryOptions isolating(std::vector<std::string> paths, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  DiscoveryOptions o = isolated(std::move(paths));
  o.isolation = IsolationOptions{timeout};
  return o;
}

TEST(IsolatedLoading, APluginInAWorkerAnswersAsInProcessAndRunsItsKernels) {
  const Registry in_process = Registry::discover(isolated({test_plugin("good")}));
  const Registry isolated_registry = Registry::discover(isolating({test_plugin("good")}));
  ASSERT_EQ(isolated_registry.loaded().size(), 1u) << record_of(isolated_registry, test_plugin("good")).reason;
  const Plugin& want = *in_process.loaded().at(0);
  Plugin& got = *isolated_registry.loaded().at(0);
  EXPECT_EQ(got.name(), want.name());
  EXPECT_EQ(got.version(), want.version());
  EXPECT_EQ(got.abi_minor(), want.abi_minor());
  EXPECT_EQ(got.device_count(), want.device_count());
  EXPECT_EQ(got.device(0).name, want.device(0).name);
  EXPECT_EQ(got.device(0).memory_bytes, want.device(0).memory_bytes);
  EXPECT_FALSE(got.device(0).host_accessible) << "an isolated plugin's buffers are in the worker";

  abi::OwnedOpDesc relu("relu");
  relu.input(CAGR_DTYPE_F32, {5}).output(CAGR_DTYPE_F32, {5});
  EXPECT_TRUE(got.query(0, relu.desc()).supported);
  abi::OwnedOpDesc sigmoid("sigmoid");
  sigmoid.input(CAGR_DTYPE_F32, {5}).output(CAGR_DTYPE_F32, {5});
  EXPECT_EQ(got.query(0, sigmoid.desc()).reason, want.query(0, sigmoid.desc()).reason);

  // relu through the worker: the input crosses to it and the output back, through shared memory.
  Stream stream = got.create_stream(0);
  Buffer x = got.alloc(0, 5 * sizeof(float)), y = got.alloc(0, 5 * sizeof(float));
  EXPECT_EQ(x.host_pointer(), nullptr);
  const std::vector<float> in{-2, -0.5f, 0, 0.5f, 3};
  x.copy_from_host(stream, in.data(), in.size() * sizeof(float));
  Kernel kernel = got.create_kernel(0, relu.desc(), 0, {});
  const std::vector<cagr_tensor_desc> descs{relu.inputs()[0]};
  kernel.run(stream, {x.get()}, descs, {y.get()}, descs);
  std::vector<float> out(5, -1);
  y.copy_to_host(stream, out.data(), out.size() * sizeof(float));
  stream.synchronize();
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 0.5f, 3}));

  // A plugin's own error comes back as in-process: the status and its message.
  try {
    got.create_kernel(0, sigmoid.desc(), 0, {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("kernel_create failed: only relu"), std::string::npos) << e.what();
  }
}

TEST(IsolatedLoading, APluginLoadedOnAThreadThatEndedStillRuns) {
  // The worker must outlive the thread that started it (PR_SET_PDEATHSIG would kill it here).
  std::optional<Registry> registry;
  std::thread([&] { registry.emplace(Registry::discover(isolating({test_plugin("good")}))); }).join();
  ASSERT_EQ(registry->loaded().size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(registry->loaded().at(0)->device_count(), 1);
  EXPECT_EQ(registry->loaded().at(0)->failure(), "");
}

TEST(IsolatedLoading, CrashesAndHangsWhileLoadingAreSkippedNamingTheEntry) {
  const Registry registry =
      Registry::discover(isolating({test_plugin("segv_in_init"), test_plugin("hang_in_init"), test_plugin("good")}, std::chrono::milliseconds(1000)));
  const PluginRecord& segv = record_of(registry, test_plugin("segv_in_init"));
  EXPECT_EQ(segv.status, PluginRecord::Status::skipped);
  EXPECT_NE(segv.reason.find("crashed (SIGSEGV: Segmentation fault) in init"), std::string::npos) << segv.reason;
  const PluginRecord& hang = record_of(registry, test_plugin("hang_in_init"));
  EXPECT_EQ(hang.status, PluginRecord::Status::skipped);
  EXPECT_NE(hang.reason.find("did not answer init within 1000 ms"), std::string::npos) << hang.reason;
  EXPECT_EQ(record_of(registry, test_plugin("good")).status, PluginRecord::Status::loaded);
}

TEST(IsolatedLoading, AMissingWorkerProgramIsTheReasonNamingIt) {
  const ScopedEnv worker("CAGR_PLUGIN_WORKER", "/nonexistent/cagr-plugin-worker");
  const Registry registry = Registry::discover(isolating({test_plugin("good")}));
  const PluginRecord& r = record_of(registry, test_plugin("good"));
  EXPECT_EQ(r.status, PluginRecord::Status::skipped);
  EXPECT_NE(r.reason.find("CAGR_PLUGIN_WORKER=/nonexistent/cagr-plugin-worker: no such file"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace cagr::test

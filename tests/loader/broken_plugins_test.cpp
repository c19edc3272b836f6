// Each way a plugin can fail ends as a skipped record with a one-line reason naming its file,
// while a good plugin next to it still loads and the host lives on.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace cagr::test {
namespace {

struct BrokenCase {
  std::string plugin;
  std::string reason;  // a fragment the skip reason must contain
  bool crashes_in_process;  // only the probe can survive it
};

std::vector<BrokenCase> broken_cases() {
  return {
      {"missing_dependency", "dlopen failed: libcagr_test_helper.so: cannot open shared object file", false},
      {"no_entry_symbol", "no entry symbol 'cagr_plugin_entry'", false},
      {"refuses_abi", "plugin refused ABI " + kAbi + ": this plugin needs ABI major 99", false},
      {"answers_major_2", "plugin speaks ABI major 2, host supports 1..1", false},
      {"missing_entry", "entry-point table lacks 'kernel_run'", false},
      {"init_fails", "init failed: no driver for the test device", false},
      {"no_device", "reports no device: the test device's driver is not installed", false},
      {"segv_in_init", "crashed during probe (SIGSEGV", true},
      {"abort_in_init", "crashed during probe (SIGABRT", true},
      {"hang_in_init", "timed out during probe", true},
  };
}

void expect_skipped(const Registry& registry, const BrokenCase& c) {
  const PluginRecord& r = record_of(registry, test_plugin(c.plugin));
  EXPECT_EQ(r.status, PluginRecord::Status::skipped) << c.plugin;
  EXPECT_EQ(r.plugin, nullptr) << c.plugin;
  EXPECT_EQ(r.reason.rfind(test_plugin(c.plugin) + ": ", 0), 0u) << "reason does not start with the file: " << r.reason;
  EXPECT_NE(r.reason.find(c.reason), std::string::npos) << c.plugin << ": " << r.reason;
  EXPECT_EQ(r.reason.find('\n'), std::string::npos) << r.reason;
}

TEST(BrokenPlugins, EachIsSkippedWithItsReasonAndTheGoodOneLoads) {
  std::vector<std::string> paths = {test_plugin("good")};
  for (const auto& c : broken_cases()) paths.push_back(test_plugin(c.plugin));
  DiscoveryOptions options = isolated(paths);
  options.probe_timeout = std::chrono::milliseconds(1000);
  const Registry registry = Registry::discover(options);

  ASSERT_EQ(registry.records().size(), paths.size());
  for (const auto& c : broken_cases()) expect_skipped(registry, c);
  const PluginRecord& good = record_of(registry, test_plugin("good"));
  EXPECT_EQ(good.status, PluginRecord::Status::loaded) << good.reason;
  ASSERT_EQ(registry.loaded().size(), 1u);
  EXPECT_EQ(registry.loaded()[0]->name(), "test_good");
}

TEST(BrokenPlugins, FolderScanFindsThemAllAndLoadsOnlyTheGoodOne) {
  DiscoveryOptions options = isolated({TEST_PLUGIN_DIR});
  options.probe_timeout = std::chrono::milliseconds(1000);
  const Registry registry = Registry::discover(options);
  EXPECT_EQ(registry.records().size(), broken_cases().size() + 1);
  for (const auto& c : broken_cases()) expect_skipped(registry, c);
  ASSERT_EQ(registry.loaded().size(), 1u);
  EXPECT_EQ(registry.loaded()[0]->name(), "test_good");
}

// Without probing, failures that do not kill the process still give the same reasons.
TEST(BrokenPlugins, WithoutProbeNonCrashingFailuresGiveTheSameReasons) {
  for (const auto& c : broken_cases()) {
    if (c.crashes_in_process) continue;
    DiscoveryOptions options = isolated({test_plugin(c.plugin)});
    options.probe = false;
    expect_skipped(Registry::discover(options), c);
  }
}

TEST(BrokenPlugins, ProbeCanBeTurnedOffThroughTheEnvironment) {
  const ScopedEnv no_probe("CAGR_PLUGIN_PROBE", "0");
  const ScopedEnv no_path("CAGR_PLUGIN_PATH", std::nullopt);
  DiscoveryOptions options = isolated({test_plugin("segv_in_init")});
  options.use_env = true;
  // With the probe off the crash would happen in this process: show it is off without crashing
  // by checking that the good plugin loads and that a death test of the crashing one dies.
  EXPECT_DEATH(Registry::discover(options), "");
  options.paths = {test_plugin("good")};
  EXPECT_EQ(Registry::discover(options).loaded().size(), 1u);
}

}  // namespace
}  // namespace cagr::test

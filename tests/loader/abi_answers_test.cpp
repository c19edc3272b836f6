// Every answer of a plugin is checked against cagr_plugin.h's rules before the host uses it: a
// plugin that breaks one at load is skipped with a reason naming its file and the rule, probed or
// not; an op answer that breaks one makes the device refuse the op with that reason; a C++
// exception escaping a plugin is reported with the file's path. And probe results are cached by
// file identity, so an unchanged plugin is initialised once per discovery, not twice.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cagr_struct.hpp"
#include "owned_op_desc.hpp"
#include "test_support.hpp"

namespace cagr::test {
namespace {

std::string abi_plugin(const std::string& name) { return std::string(ABI_TEST_PLUGIN_DIR) + "/libcagr_test_" + name + ".so"; }

struct RuleCase {
  std::string plugin;
  std::string reason;  // what the skip reason must contain after the file's path
};

TEST(AbiAnswers, APluginBreakingARuleAtLoadIsSkippedNamingTheFileAndTheRule) {
  const std::vector<RuleCase> cases = {
      {"device_count_negative", "device_count broke the ABI: the device count = -1, outside 0..4096"},
      {"device_count_huge", "device_count broke the ABI: the device count = 100000, outside 0..4096"},
      {"init_ok_no_context", "init broke the ABI: returned OK without a context"},
      {"init_fails_no_message", "init failed: (no message)"},
      {"null_name", "get_info broke the ABI: name is NULL (a C string is required)"},
      {"unterminated_name", "get_info broke the ABI: name is not NUL-terminated within 4096 bytes"},
      {"nan_peak", "device_properties of device 0 broke the ABI: peak_gflops_f32 = nan (must be finite and >= 0)"},
      {"throws_in_init", "a C++ exception escaped init (the ABI is C: an entry returns a status): thrown from init"},
  };
  for (bool probe : {true, false}) {
    for (const RuleCase& c : cases) {
      SCOPED_TRACE(c.plugin + (probe ? " (probed)" : " (not probed)"));
      DiscoveryOptions options = isolated({abi_plugin(c.plugin)});
      options.probe = probe;
      const Registry registry = Registry::discover(options);
      const PluginRecord& r = record_of(registry, abi_plugin(c.plugin));
      EXPECT_EQ(r.status, PluginRecord::Status::skipped);
      EXPECT_EQ(r.plugin, nullptr);
      EXPECT_EQ(r.reason, abi_plugin(c.plugin) + ": " + c.reason);
    }
  }
}

// relu on [4] f32, the one op the test plugins run.
abi::OwnedOpDesc relu_desc() {
  abi::OwnedOpDesc desc("relu");
  desc.input(CAGR_DTYPE_F32, {4}).output(CAGR_DTYPE_F32, {4});
  return desc;
}

TEST(AbiAnswers, ANonFiniteCostHintMakesTheDeviceRefuseTheOpWithTheRule) {
  const std::shared_ptr<Plugin> plugin = Plugin::load(abi_plugin("nan_cost"));
  const OpSupport support = plugin->query(0, relu_desc().desc());
  EXPECT_FALSE(support.supported);
  EXPECT_TRUE(support.variants.empty());
  EXPECT_EQ(support.reason, abi_plugin("nan_cost") + ": op_variant 0 of relu broke the ABI: estimated_ns = nan (must be finite and >= 0)");
}

TEST(AbiAnswers, AnExceptionEscapingAPluginNamesTheFile) {
  const std::shared_ptr<Plugin> plugin = Plugin::load(abi_plugin("throws_in_query"));
  try {
    plugin->query(0, relu_desc().desc());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), abi_plugin("throws_in_query") +
                                         ": a C++ exception escaped op_query (the ABI is C: an entry returns a status): thrown from op_query");
  }
}

int lines_in(const std::string& file) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST(ProbeCache, AnUnchangedPluginIsInitialisedOncePerDiscovery) {
  ScratchDir scratch;
  const ScopedEnv cache_dir("CAGR_CACHE_DIR", scratch.folder("cache"));
  const std::string inits = scratch.path() + "/inits.txt";
  const ScopedEnv init_log("CAGR_TEST_INIT_LOG", inits);
  const std::string plugin = scratch.copy(abi_plugin("counts_inits"), scratch.folder("plugins"), "libcagr_test_counts_inits.so");
  DiscoveryOptions options = isolated({plugin});
  options.cache_probes = true;
  auto discover = [&] {
    const Registry registry = Registry::discover(options);
    EXPECT_EQ(record_of(registry, plugin).status, PluginRecord::Status::loaded) << record_of(registry, plugin).reason;
  };

  discover();
  EXPECT_EQ(lines_in(inits), 2) << "first discovery: the probe's child and the host";
  discover();
  EXPECT_EQ(lines_in(inits), 3) << "unchanged: the host alone";

  // A changed file (here: its modification time) is probed again.
  std::filesystem::last_write_time(plugin, std::filesystem::last_write_time(plugin) + std::chrono::seconds(5));
  discover();
  EXPECT_EQ(lines_in(inits), 5) << "changed: probed again";

  // Other options for init are another probe.
  options.manifest = scratch.write("plugins.xml", "<plugins><plugin name='test_counts_inits'><option key='device_name' value='x'/></plugin></plugins>");
  discover();
  EXPECT_EQ(lines_in(inits), 7) << "new options: probed again";
}

// A plugin that crashed in its probe is skipped from the cache, with the same reason, without a
// new probe; a damaged cache file is no error.
TEST(ProbeCache, CrashesAreRememberedAndADamagedCacheIsProbedAgain) {
  ScratchDir scratch;
  const std::string cache = scratch.folder("cache");
  const ScopedEnv cache_dir("CAGR_CACHE_DIR", cache);
  DiscoveryOptions options = isolated({test_plugin("segv_in_init")});
  options.cache_probes = true;
  const std::string first = record_of(Registry::discover(options), test_plugin("segv_in_init")).reason;
  EXPECT_NE(first.find("crashed during probe (SIGSEGV"), std::string::npos) << first;
  scratch.write("cache/probe_results.txt", "damaged\tline\n");  // forgotten, and the file damaged
  EXPECT_EQ(record_of(Registry::discover(options), test_plugin("segv_in_init")).reason, first);
  std::ifstream in(cache + "/probe_results.txt");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\tcrashed\t"), std::string::npos) << text.str();
  EXPECT_EQ(record_of(Registry::discover(options), test_plugin("segv_in_init")).reason, first);
}

}  // namespace
}  // namespace cagr::test

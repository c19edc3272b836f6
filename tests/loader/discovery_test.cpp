// Where plugins are found, in which order, and what happens to a name found twice.
#include <gtest/gtest.h>

#include "plugin_files.hpp"
#include "test_support.hpp"

namespace cagr::test {
namespace {

TEST(PluginFiles, NameComesFromTheFileName) {
  EXPECT_EQ(plugin_name_from_file("/x/libcagr_cpu.so"), "cpu");
  EXPECT_EQ(plugin_name_from_file("libfoo.so"), "foo");
  EXPECT_EQ(plugin_name_from_file("/a/b/bar.so"), "bar");
}

TEST(PluginFiles, AnyFolderCountsLibcagrFilesAPluginsFolderCountsEverySharedObject) {
  ScratchDir dir;
  const std::string good = test_plugin("good");
  const std::string other = dir.folder("other");
  const std::string plugins = dir.folder("x/plugins");
  for (const auto& folder : {other, plugins}) {
    dir.copy(good, folder, "libcagr_a.so");
    dir.copy(good, folder, "libb.so");
    dir.copy(good, folder, "notes.txt");
  }
  EXPECT_EQ(plugin_files_in(other), std::vector<std::string>{other + "/libcagr_a.so"});
  EXPECT_EQ(plugin_files_in(plugins), (std::vector<std::string>{plugins + "/libb.so", plugins + "/libcagr_a.so"}));
  EXPECT_EQ(plugin_files_in(plugins + "/"), plugin_files_in(plugins));
  EXPECT_EQ(plugin_files_in(other + "/libb.so"), std::vector<std::string>{other + "/libb.so"});
}

TEST(SearchPlaces, ExplicitThenEnvironmentThenDefaultFolders) {
  ScratchDir dir;
  const std::string a = dir.folder("a"), b = dir.folder("b"), c = dir.folder("c");
  const ScopedEnv env("CAGR_PLUGIN_PATH", b + ":" + dir.path() + "/missing:" + c);
  const auto places = search_places({a}, true, false);
  ASSERT_EQ(places.size(), 3u);
  EXPECT_EQ(places[0].path, a);
  EXPECT_EQ(places[0].origin, "explicit");
  EXPECT_EQ(places[1].path, b);
  EXPECT_EQ(places[1].origin, "CAGR_PLUGIN_PATH");
  EXPECT_EQ(places[2].path, c);
  EXPECT_TRUE(search_places({a}, false, false).size() == 1u);
}

TEST(SearchPlaces, AFolderReachedTwiceIsSearchedOnce) {
  ScratchDir dir;
  const std::string a = dir.folder("a");
  const ScopedEnv env("CAGR_PLUGIN_PATH", a + "/");
  EXPECT_EQ(search_places({a}, true, false).size(), 1u);
}

TEST(SearchPlaces, AMissingExplicitPathIsAnError) {
  ScratchDir dir;
  try {
    search_places({dir.path() + "/nope"}, false, false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.path() + "/nope: plugin path does not exist"), std::string::npos) << e.what();
  }
}

TEST(Registry, TheEarlierSourceWinsAndTheLaterIsShadowed) {
  ScratchDir dir;
  const std::string first = dir.copy(test_plugin("good"), dir.folder("first"), "libcagr_test_good.so");
  const std::string second = dir.copy(test_plugin("good"), dir.folder("second"), "libcagr_test_good.so");
  const ScopedEnv env("CAGR_PLUGIN_PATH", dir.path() + "/second");
  DiscoveryOptions options = isolated({dir.path() + "/first"});
  options.use_env = true;
  const Registry registry = Registry::discover(options);
  ASSERT_EQ(registry.records().size(), 2u);
  EXPECT_EQ(registry.records()[0].path, first);
  EXPECT_EQ(registry.records()[0].status, PluginRecord::Status::loaded);
  EXPECT_EQ(registry.records()[0].origin, "explicit");
  EXPECT_EQ(registry.records()[1].status, PluginRecord::Status::shadowed);
  EXPECT_EQ(registry.records()[1].reason, second + ": shadowed by " + first);
  EXPECT_EQ(registry.records()[1].plugin, nullptr);
}

TEST(Registry, APluginWhoseOwnNameClashesIsShadowedAfterLoading) {
  ScratchDir dir;
  const std::string original = test_plugin("good");
  const std::string renamed = dir.copy(original, dir.path(), "libcagr_renamed.so");  // still says "test_good"
  const Registry registry = Registry::discover(isolated({original, renamed}));
  EXPECT_EQ(record_of(registry, original).status, PluginRecord::Status::loaded);
  EXPECT_EQ(record_of(registry, renamed).status, PluginRecord::Status::shadowed);
  EXPECT_EQ(record_of(registry, renamed).reason, renamed + ": shadowed by " + original);
  EXPECT_EQ(registry.loaded().size(), 1u);
}

TEST(Registry, EnvironmentPathFindsPluginsAndIsIgnoredWhenAsked) {
  ScratchDir dir;
  const std::string copy = dir.copy(test_plugin("good"), dir.folder("env"), "libcagr_test_good.so");
  const ScopedEnv env("CAGR_PLUGIN_PATH", dir.path() + "/env");
  DiscoveryOptions options = isolated({});
  options.use_env = true;
  const Registry registry = Registry::discover(options);
  ASSERT_EQ(registry.records().size(), 1u);
  EXPECT_EQ(registry.records()[0].path, copy);
  EXPECT_EQ(registry.records()[0].origin, "CAGR_PLUGIN_PATH");
  EXPECT_EQ(registry.records()[0].status, PluginRecord::Status::loaded);
  options.use_env = false;
  EXPECT_TRUE(Registry::discover(options).records().empty());
}

TEST(Registry, SelectionByNameLoadsOnlyThoseAndReportsTheRest) {
  ScratchDir dir;
  const std::string folder = dir.folder("plugins");
  const std::string good = dir.copy(test_plugin("good"), folder, "libcagr_test_good.so");
  const std::string other = dir.copy(test_plugin("no_device"), folder, "libcagr_test_no_device.so");
  DiscoveryOptions options = isolated({folder});
  options.selection = "test_good";
  const Registry registry = Registry::discover(options);
  EXPECT_EQ(record_of(registry, good).status, PluginRecord::Status::loaded);
  EXPECT_EQ(record_of(registry, other).status, PluginRecord::Status::skipped);
  EXPECT_EQ(record_of(registry, other).reason, other + ": not selected (selection 'test_good')");
}

TEST(Registry, SelectionByPathAddsThatFile) {
  DiscoveryOptions options = isolated({});
  options.selection = test_plugin("good");
  const Registry registry = Registry::discover(options);
  ASSERT_EQ(registry.loaded().size(), 1u);
  EXPECT_EQ(registry.loaded()[0]->path(), test_plugin("good"));
}

TEST(Registry, SelectingANameFoundNowhereIsAnError) {
  DiscoveryOptions options = isolated({test_plugin("good")});
  options.selection = "test_good,cuda";
  try {
    Registry::discover(options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'cuda'"), std::string::npos) << e.what();
  }
}

TEST(Registry, TheLoadedPluginWorks) {
  const Registry registry = Registry::discover(isolated({test_plugin("good")}));
  ASSERT_EQ(registry.loaded().size(), 1u);
  const auto plugin = registry.loaded()[0];
  EXPECT_EQ(plugin->abi_major(), CAGR_ABI_VERSION_MAJOR);
  std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<float> value(-4.0f, 4.0f);
  std::vector<float> x(37);  // odd on purpose
  for (float& v : x) v = value(random);
  cagr_tensor_desc desc{sizeof(cagr_tensor_desc), CAGR_DTYPE_F32, 1, {static_cast<int64_t>(x.size())}};
  const cagr_tensor_desc* descs[] = {&desc};
  cagr_op_desc op{sizeof(cagr_op_desc), "relu", 1, descs, 1, descs, 0, nullptr, nullptr};
  ASSERT_TRUE(plugin->query(0, op).supported);
  Kernel kernel = plugin->create_kernel(0, op, 0, {});
  Stream stream = plugin->create_stream(0);
  Buffer in = plugin->alloc(0, x.size() * sizeof(float));
  Buffer out = plugin->alloc(0, x.size() * sizeof(float));
  in.copy_from_host(stream, x.data(), in.bytes());
  kernel.run(stream, {in.get()}, {desc}, {out.get()}, {desc});
  std::vector<float> y(x.size());
  out.copy_to_host(stream, y.data(), out.bytes());
  stream.synchronize();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i] > 0 ? x[i] : 0.0f) << i;
}

}  // namespace
}  // namespace cagr::test

// Where a loader looks by default: the install's plugins folder relative to its own binary (so a
// moved install still works), the build tree only for what runs in the build tree, and options
// given by the host on top of the manifest's.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "plugin_files.hpp"
#include "test_support.hpp"

namespace cagr::test {
namespace {

namespace fs = std::filesystem;

// The install's layout under a prefix named "prefix", as this build installs it.
#define LIBDIR "prefix/" TEST_INSTALL_LIBDIR
#define DATADIR "prefix/" TEST_INSTALL_DATADIR

std::vector<std::string> existing(const std::vector<SearchPlace>& places, const std::string& origin) {
  std::vector<std::string> out;
  for (const auto& p : places)
    if (p.origin == origin && fs::is_directory(p.path)) out.push_back(fs::canonical(p.path).string());
  return out;
}

TEST(DefaultFolders, TheLibraryOfAnInstallFindsItsPluginsBesideIt) {
  ScratchDir dir;
  const std::string plugins = dir.folder(LIBDIR "/cagr/plugins");
  const std::string library = dir.write(LIBDIR "/libcagr.so", "");
  EXPECT_EQ(existing(default_plugin_folders(library), "install"), std::vector<std::string>{fs::canonical(plugins).string()});
  EXPECT_TRUE(existing(default_plugin_folders(library), "build tree").empty());
}

TEST(DefaultFolders, AProgramOfAnInstallFindsThePluginsOfItsPrefix) {
  ScratchDir dir;
  const std::string plugins = dir.folder("moved/" LIBDIR "/cagr/plugins");
  dir.folder("moved/prefix/bin");
  const std::string program = dir.write("moved/prefix/bin/cagr-run", "");
  EXPECT_EQ(existing(default_plugin_folders(program), "install"), std::vector<std::string>{fs::canonical(plugins).string()});
}

TEST(DefaultFolders, OutsideTheBuildTreeAndWithoutAnInstallThereIsNothing) {
  ScratchDir dir;
  dir.folder("bin");
  const std::string program = dir.write("bin/tool", "");
  for (const auto& place : default_plugin_folders(program)) {
    EXPECT_NE(place.origin, "build tree") << place.path;
    EXPECT_FALSE(fs::exists(place.path)) << place.path;
  }
}

TEST(DefaultFolders, WhatRunsInTheBuildTreeUsesItsPluginsFolder) {
  // This test program is itself in the build tree.
  const std::string self = loader_module_path();
  ASSERT_FALSE(self.empty());
  EXPECT_EQ(self, fs::canonical("/proc/self/exe").string());
  const auto places = default_plugin_folders(self);
  ASSERT_FALSE(places.empty());
  EXPECT_EQ(places.back().origin, "build tree");
  EXPECT_EQ(fs::path(places.back().path).filename(), "plugins");
}

TEST(DefaultFolders, AnInstallInsideTheBuildTreeUsesOnlyItsOwnPlugins) {
  // cmake --install build --prefix build/some/prefix: the installed copy is not the build tree.
  const fs::path prefix = fs::path(TEST_PLUGIN_DIR).parent_path() / ("install_inside_build_" + std::to_string(::getpid()));
  fs::create_directories(prefix / TEST_INSTALL_LIBDIR / "cagr/plugins");
  fs::create_directories(prefix / "bin");
  std::ofstream(prefix / "bin/cagr-run") << "";
  const auto places = default_plugin_folders((prefix / "bin/cagr-run").string());
  std::error_code ec;
  fs::remove_all(prefix, ec);
  for (const auto& place : places) EXPECT_EQ(place.origin, "install") << place.path;
}

TEST(DefaultFolders, DataFilesOfAnInstallAreFoundRelativeToo) {
  ScratchDir dir;
  dir.folder(DATADIR "/cagr");
  dir.folder(LIBDIR);
  dir.folder("prefix/bin");
  const std::string data = dir.write(DATADIR "/cagr/cagr_policy.xml", "<policy/>");
  const std::string library = dir.write(LIBDIR "/libcagr.so", "");
  const std::string program = dir.write("prefix/bin/cagr-run", "");
  EXPECT_EQ(fs::canonical(installed_data_file("cagr_policy.xml", library)), fs::canonical(data));
  EXPECT_EQ(fs::canonical(installed_data_file("cagr_policy.xml", program)), fs::canonical(data));
  EXPECT_EQ(installed_data_file("missing.xml", library), "");
  EXPECT_EQ(installed_data_file("cagr_policy.xml", ""), "");
}

TEST(HostOptions, AreGivenToThePluginOnTopOfTheManifests) {
  ScratchDir dir;
  const std::string folder = dir.folder("p");
  const std::string plugin = dir.copy(test_plugin("good"), folder, "libcagr_test_good.so");
  dir.write("p/plugins.xml",
            "<plugins><plugin name=\"test_good\"><option key=\"device_name\" value=\"from the manifest\"/>"
            "<option key=\"other\" value=\"kept\"/></plugin></plugins>");
  DiscoveryOptions options = isolated({folder});
  options.plugin_options["test_good"] = {{"device_name", "from the host"}};
  const Registry registry = Registry::discover(options);
  ASSERT_EQ(registry.loaded().size(), 1u) << format_plugin_list(registry);
  EXPECT_EQ(registry.loaded()[0]->device(0).name, "from the host");
  const Options expected = {{"device_name", "from the host"}, {"other", "kept"}};
  EXPECT_EQ(registry.records()[0].options, expected);
}

}  // namespace
}  // namespace cagr::test

// The --list-plugins text: every record with status and reason, and the loaded plugins' details.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace cagr::test {
namespace {

// The line of `text` that contains `needle`, or "".
std::string line_with(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  if (at == std::string::npos) return "";
  const size_t begin = text.rfind('\n', at) + 1;
  return text.substr(begin, text.find('\n', at) - begin);
}

TEST(ListPlugins, ShowsEveryRecordAndTheLoadedPluginsDevices) {
  ScratchDir dir;
  const std::string manifest =
      dir.write("plugins.xml", R"(<plugins><plugin name="test_good" priority="4"><option key="device_name" value="Echo Device"/></plugin></plugins>)");
  DiscoveryOptions options = isolated({test_plugin("good"), test_plugin("init_fails")});
  options.manifest = manifest;
  const Registry registry = Registry::discover(options);
  const std::string text = format_plugin_list(registry);

  EXPECT_NE(text.find("2 plugin file(s) found, 1 loaded"), std::string::npos) << text;
  const std::string good = line_with(text, test_plugin("good"));
  EXPECT_EQ(good.rfind("loaded", 0), 0u) << good;
  EXPECT_NE(good.find("test_good"), std::string::npos) << good;
  const std::string failed = line_with(text, test_plugin("init_fails"));
  EXPECT_EQ(failed.rfind("skipped", 0), 0u) << failed;
  EXPECT_NE(failed.find(record_of(registry, test_plugin("init_fails")).reason), std::string::npos) << failed;

  const std::string header = line_with(text, "test_good 1.2.3");
  EXPECT_NE(header.find("by CAGR tests"), std::string::npos) << header;
  EXPECT_NE(header.find("ABI built " + kAbi + ", negotiated " + kAbi), std::string::npos) << header;
  EXPECT_NE(header.find("priority 4"), std::string::npos) << header;
  EXPECT_NE(text.find("option device_name = Echo Device"), std::string::npos) << text;

  // The device row holds what the plugin reports, in the header's columns.
  const DeviceInfo d = registry.loaded().at(0)->device(0);
  const std::string columns = line_with(text, "GFLOP/s f32");
  const std::string row = line_with(text, "    0  Echo Device");
  ASSERT_FALSE(row.empty()) << text;
  for (const auto& [column, value] : std::vector<std::pair<std::string, std::string>>{
           {"kind", "cpu"}, {"CUs", std::to_string(d.compute_units)}, {"memory", "3.0 GiB"}, {"LLC", "6.0 MiB"},
           {"GB/s", "7.2"}, {"NUMA", std::to_string(d.numa_node)}, {"PCI bus", "-"}}) {
    const size_t at = columns.find(column);
    ASSERT_NE(at, std::string::npos) << column;
    EXPECT_EQ(row.substr(at, value.size()), value) << "column " << column << "\n" << columns << "\n" << row;
  }
}

TEST(ListPlugins, SaysSoWhenNothingIsFound) {
  const Registry registry = Registry::discover(isolated({}));
  const std::string text = format_plugin_list(registry);
  EXPECT_EQ(text.rfind("0 plugin file(s) found, 0 loaded\nsearched: nothing\nplugins are found in", 0), 0u) << text;
  EXPECT_NE(text.find("CAGR_PLUGIN_PATH"), std::string::npos) << text;
}

}  // namespace
}  // namespace cagr::test

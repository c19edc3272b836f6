// plugins.xml: what it can say (disable, priority, options, extra files) and how mistakes are
// reported (file, line, element).
#include <gtest/gtest.h>

#include "manifest.hpp"
#include "test_support.hpp"

namespace cagr::test {
namespace {

// The error message of parsing `xml` as a manifest, or "" when it parses.
std::string parse_error(const ScratchDir& dir, const std::string& xml) {
  const std::string path = dir.write("plugins.xml", xml);
  try {
    Manifest::parse_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Manifest, ReadsEntriesByNameAndByFile) {
  ScratchDir dir;
  const std::string path = dir.write("plugins.xml", R"(<?xml version="1.0"?>
<!-- settings for this machine -->
<plugins>
  <plugin name="cpu" priority="-3">
    <option key="threads" value="4"/>
    <option key="empty" value=""/>
  </plugin>
  <plugin file="libcagr_x.so" enabled="false"/>
</plugins>
)");
  const Manifest m = Manifest::parse_file(path);
  ASSERT_EQ(m.entries().size(), 2u);
  EXPECT_EQ(m.entries()[0].name, "cpu");
  EXPECT_EQ(m.entries()[0].priority, -3);
  EXPECT_TRUE(m.entries()[0].enabled);
  EXPECT_EQ(m.entries()[0].options, (Options{{"threads", "4"}, {"empty", ""}}));
  EXPECT_EQ(m.entries()[0].where, path + ":4");
  EXPECT_EQ(m.entries()[1].file, dir.path() + "/libcagr_x.so");
  EXPECT_FALSE(m.entries()[1].enabled);
  EXPECT_FALSE(m.entries()[1].priority.has_value());
  EXPECT_EQ(m.find("cpu", "/elsewhere/libcagr_cpu.so"), &m.entries()[0]);
  EXPECT_EQ(m.find("x", dir.path() + "/libcagr_x.so"), &m.entries()[1]);
  EXPECT_EQ(m.find("gpu", "/elsewhere/libcagr_gpu.so"), nullptr);
}

TEST(Manifest, MistakesNameFileLineAndElement) {
  ScratchDir dir;
  const std::string file = dir.path() + "/plugins.xml";
  struct Case {
    std::string xml, expected;
  };
  const Case cases[] = {
      {"<plugins>\n  <plugin name=\"a\">\n</plugins>\n", file + ":"},  // malformed: unclosed <plugin>
      {"<plugins>\n  <plugin name=\"a\">\n</plugins>\n", "malformed XML"},
      {"<plugins>\n\n  <plugn name=\"a\"/>\n</plugins>\n", file + ":3: unknown element <plugn> in <plugins>"},
      {"<plugins>\n  <plugin name=\"a\">\n    <opt key=\"k\" value=\"v\"/>\n  </plugin>\n</plugins>\n",
       file + ":3: unknown element <opt> in <plugin>"},
      {"<settings/>\n", file + ":1: unknown element <settings>; expected <plugins>"},
      {"<plugins>\n  <plugin name=\"a\" prio=\"3\"/>\n</plugins>\n", file + ":2: unknown attribute 'prio' on element <plugin>"},
      {"<plugins>\n  <plugin name=\"a\" priority=\"high\"/>\n</plugins>\n", file + ":2: element <plugin>: priority must be an integer, not 'high'"},
      {"<plugins>\n  <plugin name=\"a\" enabled=\"no\"/>\n</plugins>\n", file + ":2: element <plugin>: enabled must be 'true' or 'false', not 'no'"},
      {"<plugins>\n  <plugin/>\n</plugins>\n", file + ":2: element <plugin> needs exactly one of the attributes 'name' and 'file'"},
      {"<plugins>\n  <plugin name=\"a\">\n    <option key=\"k\"/>\n  </plugin>\n</plugins>\n", file + ":3: element <option> needs attribute 'value'"},
      {"<plugins>\n  <plugin name=\"a\">typo</plugin>\n</plugins>\n", file + ":2: unexpected text 'typo' in <plugin>"},
  };
  for (const auto& c : cases) {
    const std::string error = parse_error(dir, c.xml);
    EXPECT_NE(error.find(c.expected), std::string::npos) << "xml:\n" << c.xml << "error: " << error;
  }
  EXPECT_EQ(parse_error(dir, "<plugins/>"), "");
}

TEST(Manifest, AMalformedManifestInASearchedFolderFailsDiscovery) {
  ScratchDir dir;
  dir.write("plugins.xml", "<plugins><bogus/></plugins>");
  EXPECT_THROW(Registry::discover(isolated({dir.path()})), Error);
}

TEST(Manifest, DisablesSetsPriorityAndPassesOptions) {
  ScratchDir dir;
  const std::string folder = dir.folder("plugins");
  const std::string good = dir.copy(test_plugin("good"), folder, "libcagr_test_good.so");
  const std::string other = dir.copy(test_plugin("no_device"), folder, "libcagr_test_no_device.so");
  dir.write("plugins/plugins.xml", R"(<plugins>
  <plugin name="test_good" priority="7">
    <option key="device_name" value="echoed from the manifest"/>
  </plugin>
  <plugin file="libcagr_test_no_device.so" enabled="false"/>
</plugins>)");
  const Registry registry = Registry::discover(isolated({folder}));
  const PluginRecord& g = record_of(registry, good);
  ASSERT_EQ(g.status, PluginRecord::Status::loaded) << g.reason;
  EXPECT_EQ(g.priority, 7);
  EXPECT_EQ(g.options, (Options{{"device_name", "echoed from the manifest"}}));
  EXPECT_EQ(g.plugin->device(0).name, "echoed from the manifest");
  const PluginRecord& o = record_of(registry, other);
  EXPECT_EQ(o.status, PluginRecord::Status::disabled);
  EXPECT_EQ(o.reason, other + ": disabled by " + folder + "/plugins.xml:5");
}

TEST(Manifest, AnExplicitManifestWinsAndCanAddAFileFromElsewhere) {
  ScratchDir dir;
  const std::string folder = dir.folder("plugins");
  dir.copy(test_plugin("good"), folder, "libcagr_test_good.so");
  dir.write("plugins/plugins.xml", R"(<plugins><plugin name="test_good" priority="1"/></plugins>)");
  const std::string manifest = dir.write("mine.xml", "<plugins>\n<plugin name=\"test_good\" priority=\"2\"/>\n<plugin file=\"" +
                                                         test_plugin("no_device") + "\" priority=\"5\"/>\n</plugins>");
  DiscoveryOptions options = isolated({folder});
  options.manifest = manifest;
  const Registry registry = Registry::discover(options);
  ASSERT_EQ(registry.records().size(), 2u);
  EXPECT_EQ(registry.records()[0].path, test_plugin("no_device"));  // the explicit manifest's file comes first
  EXPECT_EQ(registry.records()[0].origin, "explicit manifest");
  EXPECT_EQ(registry.records()[0].priority, 5);
  EXPECT_EQ(registry.records()[1].priority, 2);
}

}  // namespace
}  // namespace cagr::test

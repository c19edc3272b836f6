// Probing many plugins at once (DiscoveryOptions::parallel_probes, probe_plugins): the same records
// as probing one after another, hangs waited for together, and progress for each probe.
#include <gtest/gtest.h>

#include <chrono>

#include "probe.hpp"
#include "test_support.hpp"

namespace cagr::test {
namespace {

// A folder of copies of test plugins: several of the good one, and each way of failing to load.
std::vector<std::string> many_plugins(const ScratchDir& scratch) {
  const std::string folder = scratch.folder("many");
  std::vector<std::string> files;
  for (const char* copy : {"a", "b", "c", "d"})
    files.push_back(scratch.copy(test_plugin("good"), folder, std::string("libcagr_test_good_") + copy + ".so"));
  for (const char* broken : {"segv_in_init", "abort_in_init", "init_fails", "no_device", "refuses_abi", "no_entry_symbol"})
    files.push_back(scratch.copy(test_plugin(broken), folder, std::string("libcagr_test_") + broken + ".so"));
  return files;
}

TEST(ParallelProbing, GivesTheSameRecordsAsProbingOneAfterAnother) {
  ScratchDir scratch;
  const std::vector<std::string> files = many_plugins(scratch);
  DiscoveryOptions options = isolated(files);
  options.parallel_probes = 1;
  const Registry serial = Registry::discover(options);
  options.parallel_probes = 4;
  std::vector<std::string> progress;
  options.progress = [&progress](const std::string& step) { progress.push_back(step); };
  const Registry parallel = Registry::discover(options);

  ASSERT_EQ(parallel.records().size(), serial.records().size());
  for (size_t i = 0; i < serial.records().size(); ++i) {
    const PluginRecord &want = serial.records()[i], &got = parallel.records()[i];
    EXPECT_EQ(got.path, want.path);
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.status, want.status) << got.path;
    EXPECT_EQ(got.reason, want.reason);
  }
  EXPECT_EQ(parallel.loaded().size(), 1u) << "one good plugin; its copies are shadowed by its own name";
  EXPECT_NE(record_of(parallel, files[4]).reason.find("crashed during probe (SIGSEGV"), std::string::npos);
  // Every file was probed, each probe told as it ended, then each loaded in turn.
  int probes = 0;
  for (const std::string& step : progress) probes += step.rfind("probing plugins: ", 0) == 0;
  EXPECT_EQ(probes, static_cast<int>(files.size()));
  EXPECT_NE(progress.back().find("of " + std::to_string(files.size())), std::string::npos) << progress.back();
}

TEST(ParallelProbing, HangsAreWaitedForTogether) {
  ScratchDir scratch;
  std::vector<ProbeRequest> requests;
  for (const char* copy : {"a", "b", "c"})
    requests.push_back({scratch.copy(test_plugin("hang_in_init"), scratch.path(), std::string("libcagr_test_hang_") + copy + ".so"), {}});
  const auto start = std::chrono::steady_clock::now();
  const std::vector<ProbeResult> results = probe_plugins(requests, std::chrono::milliseconds(1000), 3);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(results.size(), 3u);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].outcome, ProbeResult::Outcome::timed_out);
    EXPECT_EQ(results[i].message, requests[i].path + ": timed out during probe (no answer after 1000 ms)");
  }
  EXPECT_LT(seconds, 2.5) << "three 1 s timeouts one after another take 3 s";
}

}  // namespace
}  // namespace cagr::test

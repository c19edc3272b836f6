// Plugins' log messages reach the host's sink, filtered by the CAGR_LOG_LEVEL threshold.
#include <gtest/gtest.h>

#include "log.hpp"
#include "test_support.hpp"

namespace cagr::test {
namespace {

TEST(Log, LevelsParseByNameOrNumber) {
  EXPECT_EQ(parse_log_level("debug"), CAGR_LOG_DEBUG);
  EXPECT_EQ(parse_log_level("3"), CAGR_LOG_ERROR);
  EXPECT_EQ(parse_log_level("warning"), CAGR_LOG_WARNING);
  EXPECT_FALSE(parse_log_level("loud").has_value());
  EXPECT_FALSE(parse_log_level("4").has_value());
}

TEST(Log, ThresholdComesFromTheEnvironment) {
  {
    const ScopedEnv env("CAGR_LOG_LEVEL", "info");
    EXPECT_EQ(log_level_from_env(), CAGR_LOG_INFO);
  }
  const ScopedEnv env("CAGR_LOG_LEVEL", std::nullopt);
  EXPECT_EQ(log_level_from_env(), CAGR_LOG_WARNING);
}

TEST(Log, StderrLoggerPrintsOnlyAtOrAboveTheThreshold) {
  const LogFn log = stderr_logger(CAGR_LOG_WARNING);
  ::testing::internal::CaptureStderr();
  log(CAGR_LOG_INFO, "p", "quiet");
  log(CAGR_LOG_ERROR, "p", "loud");
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(printed, "[cagr p] error: loud\n");
}

TEST(Log, APluginsMessagesReachTheHostsLogFunctionUnderItsName) {
  std::vector<std::string> messages;
  DiscoveryOptions options = isolated({test_plugin("good")});
  options.log = [&](cagr_log_level level, const std::string& plugin, const std::string& message) {
    messages.push_back(std::to_string(level) + " " + plugin + ": " + message);
  };
  Registry::discover(options);
  // Init logs before get_info, so the plugin is still known by its file.
  EXPECT_EQ(messages, std::vector<std::string>{"1 " + test_plugin("good") + ": initialised with 0 option(s)"});
}

}  // namespace
}  // namespace cagr::test

// Version negotiation through cagr_plugin_entry: who accepts what, and how refusals read.
#include <gtest/gtest.h>

#include "abi_test_support.hpp"
#include "cagr_struct.hpp"

namespace cagr::abi_test {
namespace {

cagr_plugin_entry_args offer(int major, int minor) {
  auto args = abi::make_struct<cagr_plugin_entry_args>();
  args.host_abi_major = major;
  args.host_abi_minor = minor;
  return args;
}

TEST(Negotiation, ACurrentPluginAnswersItsVersionToAnyHostOfMajor1OrLater) {
  const RawEntry entry(abi_plugin("current"));
  for (auto [major, minor] : {std::pair{1, 0}, std::pair{1, 7}, std::pair{2, 3}}) {
    auto args = offer(major, minor);
    ASSERT_EQ(entry(&args), CAGR_OK) << major << "." << minor;
    EXPECT_EQ(args.plugin_abi_major, 1);
    EXPECT_EQ(args.plugin_abi_minor, CAGR_ABI_VERSION_MINOR);
    ASSERT_NE(args.api, nullptr);
    EXPECT_EQ(args.api->abi_major, 1);
  }
}

TEST(Negotiation, ANewerPluginAnswers1xToAnOlderHost) {
  const RawEntry entry(abi_plugin("newer"));
  auto args = offer(1, 0);
  ASSERT_EQ(entry(&args), CAGR_OK);
  EXPECT_EQ(args.plugin_abi_major, 1);
  EXPECT_EQ(args.plugin_abi_minor, CAGR_ABI_VERSION_MINOR + 1);
  EXPECT_GT(args.api->struct_size, sizeof(cagr_plugin_api));  // a larger table the host reads in part
}

TEST(Negotiation, APluginRefusesAHostOlderThanItsMajorWithAReason) {
  const RawEntry entry(abi_plugin("current"));
  auto args = offer(0, 9);
  EXPECT_EQ(entry(&args), CAGR_ERROR_VERSION);
  ASSERT_NE(args.refusal, nullptr);
  EXPECT_NE(std::string(args.refusal).find("older"), std::string::npos) << args.refusal;
}

TEST(Negotiation, AnOlderHostsSmallerEntryArgsAreNotOverrun) {
  // A host whose entry args end before `refusal`: the refusing plugin must not write it.
  const RawEntry entry(abi_plugin("current"));
  Guarded<cagr_plugin_entry_args> args(CAGR_STRUCT_SIZE(cagr_plugin_entry_args, api));
  args.get()->host_abi_major = 0;
  EXPECT_EQ(entry(args.get()), CAGR_ERROR_VERSION);
  EXPECT_EQ(args.first_overwritten_byte(), -1);
}

TEST(Negotiation, APluginThatOnlySpeaksMajor2IsRefusedWithAReason) {
  try {
    Plugin::load(loader_plugin("answers_major_2"));
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_VERSION);
    EXPECT_NE(std::string(e.what()).find("plugin speaks ABI major 2"), std::string::npos) << e.what();
  }
}

TEST(Negotiation, APluginsOwnRefusalReasonReachesTheHost) {
  try {
    Plugin::load(loader_plugin("refuses_abi"));
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_VERSION);
    EXPECT_NE(std::string(e.what()).find("this plugin needs ABI major 99"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cagr::abi_test

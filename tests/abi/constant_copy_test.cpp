// constant_copy_test.cpp - kit::constant_copy (abi/cagr_plugin_host_device.hpp): the copies a
// host-memory plugin keeps of its kernels' constants, shared among kernels where the host lends
// the data (ABI 1.5 CAGR_CONSTANT_BORROWED).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cagr_plugin_host_device.hpp"

namespace kit = cagr::plugin::kit;

namespace {

std::vector<float> table(size_t n, float first) {
  std::vector<float> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = first + static_cast<float>(i);
  return t;
}

bool holds(const kit::HostMemory& copy, const std::vector<float>& data) {
  return copy.size() == data.size() * sizeof(float) && std::memcmp(copy.data(), data.data(), copy.size()) == 0;
}

}  // namespace

TEST(ConstantCopy, BorrowedDataHasOneCopyWhileAKernelHoldsIt) {
  std::vector<float> data = table(1000, 1);
  const size_t bytes = data.size() * sizeof(float);
  auto first = kit::constant_copy(data.data(), bytes, true);
  auto second = kit::constant_copy(data.data(), bytes, true);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_TRUE(holds(*second, data));
  EXPECT_NE(first->data(), reinterpret_cast<const std::byte*>(data.data()));  // a copy (huge pages), not the host's memory
  first.reset();  // the first kernel destroyed: the second keeps the copy
  auto third = kit::constant_copy(data.data(), bytes, true);
  EXPECT_EQ(third.get(), second.get());
}

TEST(ConstantCopy, ACopyIsMadeAnewOnceNoKernelHoldsIt) {
  std::vector<float> data = table(1000, 1);
  const size_t bytes = data.size() * sizeof(float);
  auto first = kit::constant_copy(data.data(), bytes, true);
  first.reset();
  // The host may change data it lent once every kernel made from it is gone.
  data = table(1000, -7);
  auto again = kit::constant_copy(data.data(), bytes, true);
  EXPECT_TRUE(holds(*again, data));
}

TEST(ConstantCopy, CopiedDataAndOtherSizesGetCopiesOfTheirOwn) {
  std::vector<float> data = table(1000, 1);
  const size_t bytes = data.size() * sizeof(float);
  auto borrowed = kit::constant_copy(data.data(), bytes, true);
  auto copied = kit::constant_copy(data.data(), bytes, false);
  auto shorter = kit::constant_copy(data.data(), bytes / 2, true);
  EXPECT_NE(copied.get(), borrowed.get());
  EXPECT_NE(shorter.get(), borrowed.get());
  EXPECT_TRUE(holds(*copied, data));
  EXPECT_EQ(shorter->size(), bytes / 2);
  EXPECT_EQ(std::memcmp(shorter->data(), data.data(), bytes / 2), 0);
}

// constant_copy_test.cpp - the copies a plugin keeps of its kernels' constants, shared among
// kernels where the host lends the data (ABI 1.5 CAGR_CONSTANT_BORROWED): kit::constant_copy
// (abi/cagr_plugin_host_device.hpp) and the kit's shared_constant under it.
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

// The kit's registry behind it, as a device plugin uses it (the OpenCL plugin: a buffer per device).
TEST(SharedConstant, OneCopyPerPlaceOfTheSameBorrowedData) {
  std::vector<float> data = table(10, 1);
  int device0 = 0, device1 = 1;
  int made = 0;
  auto make = [&] { return std::make_shared<const int>(++made); };
  auto a = kit::shared_constant<int>(&device0, data.data(), 40, true, make);
  auto b = kit::shared_constant<int>(&device0, data.data(), 40, true, make);
  auto c = kit::shared_constant<int>(&device1, data.data(), 40, true, make);
  auto d = kit::shared_constant<int>(&device0, data.data(), 40, false, make);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_NE(a.get(), d.get());
  EXPECT_EQ(made, 3);
}

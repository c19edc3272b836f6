// Objects made by a plugin keep its library mapped after the registry and every Plugin handle are
// gone; the library is unmapped with the last of them.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace cagr::test {
namespace {

// Whether `path` is loaded in this process (RTLD_NOLOAD never loads it, only looks).
bool is_mapped(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle != nullptr) dlclose(handle);
  return handle != nullptr;
}

// Each test uses its own copy, so no other test's handle keeps the library mapped.
class Lifetime : public ::testing::Test {
 protected:
  ScratchDir dir;
  std::string path = dir.copy(test_plugin("good"), dir.path(), "libcagr_test_good.so");

  std::shared_ptr<Plugin> load() {
    DiscoveryOptions options = isolated({path});
    options.probe = false;  // keep this process's view simple: one load
    Registry registry = Registry::discover(options);
    EXPECT_EQ(registry.loaded().size(), 1u);
    return registry.loaded().at(0);
  }
};

TEST_F(Lifetime, ABufferKeepsTheLibraryMapped) {
  ASSERT_FALSE(is_mapped(path));
  Buffer buffer = load()->alloc(0, 64);  // the registry and the Plugin handle die here
  EXPECT_TRUE(is_mapped(path));
  std::vector<unsigned char> bytes(64, 7);
  Stream stream = buffer.plugin()->create_stream(0);
  buffer.copy_from_host(stream, bytes.data(), bytes.size());  // still callable
  stream = Stream();
  buffer = Buffer();
  EXPECT_FALSE(is_mapped(path));
}

TEST_F(Lifetime, AKernelKeepsTheLibraryMapped) {
  cagr_tensor_desc desc{sizeof(cagr_tensor_desc), CAGR_DTYPE_F32, 2, {3, 5}};
  const cagr_tensor_desc* descs[] = {&desc};
  cagr_op_desc op{sizeof(cagr_op_desc), "relu", 1, descs, 1, descs, 0, nullptr, nullptr};
  Kernel kernel = load()->create_kernel(0, op, 0, {});
  EXPECT_TRUE(is_mapped(path));
  kernel = Kernel();
  EXPECT_FALSE(is_mapped(path));
}

TEST_F(Lifetime, DroppingTheRegistryUnloadsPluginsNobodyUses) {
  {
    DiscoveryOptions options = isolated({path});
    const Registry registry = Registry::discover(options);
    EXPECT_TRUE(is_mapped(path));
  }
  EXPECT_FALSE(is_mapped(path));
}

}  // namespace
}  // namespace cagr::test

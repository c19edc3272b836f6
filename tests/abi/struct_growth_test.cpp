// Struct and table growth: every struct starts with struct_size; readers look only inside the
// writer's size; writers write only inside the reader's size. Checked with real plugins that are
// older, as old as, and newer than this host.
#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <typeinfo>

#include "abi_test_support.hpp"
#include "cagr_struct.hpp"

namespace cagr::abi_test {
namespace {

template <class T>
void expect_struct_size_first_in() {
  EXPECT_EQ(offsetof(T, struct_size), 0u) << typeid(T).name();
  EXPECT_TRUE((std::is_same_v<decltype(T::struct_size), size_t>)) << typeid(T).name();
}

template <class... T>
void expect_struct_size_first() {
  (expect_struct_size_first_in<T>(), ...);
}

TEST(AbiLayout, EveryStructStartsWithItsSize) {
  expect_struct_size_first<cagr_tensor_desc, cagr_extension, cagr_attr, cagr_op_desc, cagr_option, cagr_init_args,
                           cagr_plugin_info, cagr_device_properties, cagr_op_query_args, cagr_variant_args,
                           cagr_buffer_alloc_args, cagr_copy_args, cagr_constant, cagr_kernel_create_args,
                           cagr_kernel_run_args, cagr_statistic, cagr_kernel_statistics_args, cagr_plugin_api,
                           cagr_plugin_entry_args>();
}

// The layout on LP64 (1.0, plus 1.1's event_elapsed, 1.4's kernel_statistics and 1.5's constant
// lifetime), worked out by hand from the header: changing it breaks every plugin.
TEST(AbiLayout, Version15SizesOnLp64) {
  static_assert(sizeof(void*) == 8 && sizeof(size_t) == 8, "the expected sizes are for LP64");
  EXPECT_EQ(sizeof(cagr_tensor_desc), 8u + 4 + 4 + 8 * 8);
  EXPECT_EQ(sizeof(cagr_option), 3 * 8u);
  EXPECT_EQ(sizeof(cagr_extension), 8u + 4 + 4 /* padding */ + 8);
  EXPECT_EQ(sizeof(cagr_plugin_entry_args), 8u + 4 * 4 + 8 + 8);
  // 23 required entries, 4 capture entries (1.0), event_elapsed (1.1), kernel_statistics (1.4)
  EXPECT_EQ(sizeof(cagr_plugin_api), 8u + 4 + 4 + 29 * 8);
  EXPECT_EQ(CAGR_STRUCT_SIZE(cagr_plugin_api, event_elapsed), 8u + 4 + 4 + 28 * 8);
  EXPECT_EQ(sizeof(cagr_statistic), 3 * 8u);
  EXPECT_EQ(sizeof(cagr_constant), 3 * 8u + 4 + 4 /* padding */);
  EXPECT_EQ(CAGR_STRUCT_SIZE(cagr_constant, data), 3 * 8u);  // a 1.4 host's constant: read as copied
  EXPECT_EQ(sizeof(cagr_kernel_statistics_args), 4 * 8u);
  EXPECT_EQ(CAGR_STRUCT_SIZE(cagr_plugin_api, kernel_run), 8u + 4 + 4 + 23 * 8);
  EXPECT_EQ(CAGR_STRUCT_SIZE(cagr_plugin_api, graph_destroy), 8u + 4 + 4 + 27 * 8);
}

// --- a plugin older than the host ---------------------------------------------------------------

TEST(OlderPlugin, HostReadsOnlyInsideTheTablesSize) {
  const auto plugin = Plugin::load(abi_plugin("older"));
  // The older table sets a capture entry beyond its struct_size; the host must not have taken it.
  EXPECT_EQ(plugin->api().stream_begin_capture, nullptr);
  EXPECT_EQ(plugin->api().graph_destroy, nullptr);
  EXPECT_NE(plugin->api().kernel_run, nullptr);
  EXPECT_FALSE(plugin->supports_event_timing());  // 1.1's entry: the host profiles it by synchronising
}

TEST(OlderPlugin, FieldsItDoesNotKnowStayAtTheirDefaults) {
  const auto plugin = Plugin::load(abi_plugin("older"));
  const DeviceInfo d = plugin->device(0);
  EXPECT_EQ(d.compute_units, 3);
  EXPECT_EQ(d.memory_bytes, uint64_t{3} << 30);
  EXPECT_EQ(d.numa_node, 0);
  EXPECT_EQ(d.pci_bus_id, "");        // beyond the older struct: never written
  EXPECT_FALSE(d.host_accessible);    // beyond the older struct: never written
}

// --- host structs smaller than the plugin's, for every plugin generation -------------------------

class EveryPluginGeneration : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryPluginGeneration, WritesNothingPastASmallerDevicePropertiesStruct) {
  const auto plugin = Plugin::load(abi_plugin(GetParam()));
  const size_t size = CAGR_STRUCT_SIZE(cagr_device_properties, compute_units);
  Guarded<cagr_device_properties> props(size);
  ASSERT_EQ(plugin->api().device_properties(plugin->context(), 0, props.get()), CAGR_OK);
  EXPECT_EQ(props.first_overwritten_byte(), -1);
  EXPECT_EQ(props.get()->struct_size, size);
  EXPECT_EQ(props.get()->compute_units, 3);
  EXPECT_EQ(props.get()->kind, CAGR_DEVICE_CPU);
}

TEST_P(EveryPluginGeneration, WritesNothingPastASmallerPluginInfoStruct) {
  const auto plugin = Plugin::load(abi_plugin(GetParam()));
  const size_t size = CAGR_STRUCT_SIZE(cagr_plugin_info, name);
  Guarded<cagr_plugin_info> info(size);
  ASSERT_EQ(plugin->api().get_info(plugin->context(), info.get()), CAGR_OK);
  EXPECT_EQ(info.first_overwritten_byte(), -1);
  EXPECT_EQ(std::string(info.get()->name), "test_abi_" + GetParam());
}

TEST_P(EveryPluginGeneration, WritesNothingPastAFullSizeStructOfThisHost) {
  const auto plugin = Plugin::load(abi_plugin(GetParam()));
  Guarded<cagr_device_properties> props(sizeof(cagr_device_properties));
  ASSERT_EQ(plugin->api().device_properties(plugin->context(), 0, props.get()), CAGR_OK);
  EXPECT_EQ(props.first_overwritten_byte(), -1);
  EXPECT_DOUBLE_EQ(props.get()->peak_gflops_f32, 12.5);
}

INSTANTIATE_TEST_SUITE_P(Abi, EveryPluginGeneration, ::testing::Values("older", "current", "newer"));

// --- a plugin newer than the host ----------------------------------------------------------------

TEST(NewerPlugin, LoadsAndTheHostUsesWhatItKnows) {
  const auto plugin = Plugin::load(abi_plugin("newer"));
  EXPECT_EQ(plugin->built_abi_major(), 1);
  EXPECT_EQ(plugin->built_abi_minor(), CAGR_ABI_VERSION_MINOR + 1);
  EXPECT_EQ(plugin->abi_major(), 1);
  EXPECT_EQ(plugin->abi_minor(), CAGR_ABI_VERSION_MINOR);  // spoken: the host's minor
  EXPECT_EQ(plugin->api().struct_size, sizeof(cagr_plugin_api));
  const DeviceInfo d = plugin->device(0);
  EXPECT_EQ(d.name, "test device");
  EXPECT_DOUBLE_EQ(d.memory_bandwidth_gbps, 7.25);
  EXPECT_TRUE(d.host_accessible);
}

// --- a host newer than the plugin: larger args structs and unknown extensions ---------------------

// cagr_kernel_create_args / cagr_kernel_run_args as a later host might send them.
struct KernelCreateArgsNext {
  cagr_kernel_create_args v10;
  int64_t future_hint;
};
struct KernelRunArgsNext {
  cagr_kernel_run_args v10;
  int64_t future_hint;
};
constexpr int64_t kSentinel = 0x5eed5eed5eed;
constexpr int32_t kUnknownExtension = 0x7ffffff0;

TEST(NewerHost, APluginReadsOnlyItsOwnSizeOfLargerArgsAndSkipsUnknownExtensions) {
  const auto plugin = Plugin::load(abi_plugin("current"));
  const cagr_plugin_api& api = plugin->api();
  std::mt19937 random(std::random_device{}());
  const int64_t rows = 1 + static_cast<int64_t>(random() % 9), cols = 1 + 2 * static_cast<int64_t>(random() % 8);
  cagr_tensor_desc desc{sizeof desc, CAGR_DTYPE_F32, 2, {rows, cols}};
  const cagr_tensor_desc* descs[] = {&desc};
  auto unknown_tail = abi::make_struct<cagr_extension>();
  unknown_tail.type = kUnknownExtension + 1;
  auto unknown = abi::make_struct<cagr_extension>();
  unknown.type = kUnknownExtension;
  unknown.next = &unknown_tail;
  cagr_op_desc op{sizeof op, "relu", 1, descs, 1, descs, 0, nullptr, &unknown};

  KernelCreateArgsNext create{};
  create.v10.struct_size = sizeof create;
  create.v10.op = &op;
  create.v10.extensions = &unknown;
  create.future_hint = kSentinel;
  ASSERT_EQ(api.kernel_create(plugin->context(), &create.v10), CAGR_OK) << api.last_error_message();
  ASSERT_NE(create.v10.kernel, nullptr);
  EXPECT_EQ(create.v10.struct_size, sizeof create);
  EXPECT_EQ(create.future_hint, kSentinel);  // the plugin wrote only inside its own size

  const size_t n = static_cast<size_t>(rows * cols);
  std::uniform_real_distribution<float> value(-3.0f, 3.0f);
  std::vector<float> x(n), y(n);
  for (float& v : x) v = value(random);
  Stream stream = plugin->create_stream(0);
  Buffer in = plugin->alloc(0, n * sizeof(float)), out = plugin->alloc(0, n * sizeof(float));
  in.copy_from_host(stream, x.data(), in.bytes());
  cagr_buffer* inputs[] = {in.get()};
  cagr_buffer* outputs[] = {out.get()};
  KernelRunArgsNext run{};
  run.v10.struct_size = sizeof run;
  run.v10.kernel = create.v10.kernel;
  run.v10.stream = stream.get();
  run.v10.num_inputs = 1;
  run.v10.inputs = inputs;
  run.v10.input_descs = descs;
  run.v10.num_outputs = 1;
  run.v10.outputs = outputs;
  run.v10.output_descs = descs;
  run.v10.extensions = &unknown;
  run.future_hint = kSentinel;
  ASSERT_EQ(api.kernel_run(plugin->context(), &run.v10), CAGR_OK) << api.last_error_message();
  EXPECT_EQ(run.future_hint, kSentinel);
  out.copy_to_host(stream, y.data(), out.bytes());
  stream.synchronize();
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(y[i], x[i] > 0 ? x[i] : 0.0f) << i;
  EXPECT_EQ(api.kernel_destroy(plugin->context(), create.v10.kernel), CAGR_OK);
}

TEST(NewerHost, InitAcceptsLargerArgsWithAnUnknownExtension) {
  const auto plugin = Plugin::load(abi_plugin("current"));
  const cagr_plugin_api& api = plugin->api();
  struct InitArgsNext {
    cagr_init_args v10;
    int64_t future_hint;
  } init{};
  auto unknown = abi::make_struct<cagr_extension>();
  unknown.type = kUnknownExtension;
  init.v10.struct_size = sizeof init;
  init.v10.extensions = &unknown;
  init.future_hint = kSentinel;
  ASSERT_EQ(api.init(&init.v10), CAGR_OK) << api.last_error_message();
  EXPECT_NE(init.v10.context, nullptr);
  EXPECT_EQ(init.future_hint, kSentinel);
  EXPECT_EQ(api.shutdown(init.v10.context), CAGR_OK);
}

}  // namespace
}  // namespace cagr::abi_test

// The plugin in plain C99 (c_plugin/relu_plugin.c, no kit): the C ABI alone is enough for the host.
// Its ops are checked against the reference by the conformance suite (ctest abi.c_plugin.conformance);
// here: negotiation, loading through the registry with the probe, struct sizes in both directions,
// the math-precision extension, optional entries left NULL, and errors with their messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "abi_test_support.hpp"
#include "cagr_struct.hpp"
#include "owned_op_desc.hpp"
#include "registry.hpp"

namespace cagr::abi_test {
namespace {

const std::string kName = "test_abi_c_relu";

std::string c_plugin() { return abi_plugin("c_relu"); }

cagr_tensor_desc f32(std::vector<int64_t> dims) {
  auto d = abi::make_struct<cagr_tensor_desc>();
  d.dtype = CAGR_DTYPE_F32;
  d.rank = static_cast<int32_t>(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) d.dims[i] = dims[i];
  return d;
}

abi::OwnedOpDesc relu(std::vector<int64_t> dims) {
  abi::OwnedOpDesc op("relu");
  op.input(CAGR_DTYPE_F32, dims).output(CAGR_DTYPE_F32, dims);
  return op;
}

std::string last_error(const Plugin& plugin) { return plugin.api().last_error_message(); }

TEST(CPlugin, NegotiatesItsVersionWithAnyHostOfMajor1OrLater) {
  const RawEntry entry(c_plugin());
  for (auto [major, minor] : {std::pair{1, 0}, std::pair{1, 2}, std::pair{2, 3}}) {
    auto args = abi::make_struct<cagr_plugin_entry_args>();
    args.host_abi_major = major;
    args.host_abi_minor = minor;
    ASSERT_EQ(entry(&args), CAGR_OK) << major << "." << minor;
    EXPECT_EQ(args.plugin_abi_major, 1);
    EXPECT_EQ(args.plugin_abi_minor, CAGR_ABI_VERSION_MINOR);
    ASSERT_NE(args.api, nullptr);
    EXPECT_EQ(args.api->struct_size, sizeof(cagr_plugin_api));
    EXPECT_EQ(args.refusal, nullptr);
  }
  // An older major is refused with a reason, written only where the host's struct has room.
  Guarded<cagr_plugin_entry_args> full(sizeof(cagr_plugin_entry_args));
  full.get()->host_abi_major = 0;
  EXPECT_EQ(entry(full.get()), CAGR_ERROR_VERSION);
  ASSERT_NE(full.get()->refusal, nullptr);
  EXPECT_NE(std::string(full.get()->refusal).find("older"), std::string::npos) << full.get()->refusal;
  Guarded<cagr_plugin_entry_args> short_args(CAGR_STRUCT_SIZE(cagr_plugin_entry_args, api));
  short_args.get()->host_abi_major = 0;
  EXPECT_EQ(entry(short_args.get()), CAGR_ERROR_VERSION);
  EXPECT_EQ(short_args.first_overwritten_byte(), -1);
  EXPECT_EQ(entry(nullptr), CAGR_ERROR_INVALID_ARGUMENT);
}

TEST(CPlugin, LoadsThroughTheRegistryAfterTheProbe) {
  DiscoveryOptions options;
  options.paths = {c_plugin()};
  options.use_env = false;
  options.use_default_folders = false;
  options.cache_probes = false;  // probe it in a child process every time
  const Registry registry = Registry::discover(options);
  ASSERT_EQ(registry.records().size(), 1u);
  const PluginRecord& record = registry.records()[0];
  ASSERT_EQ(record.status, PluginRecord::Status::loaded) << record.reason;
  EXPECT_EQ(record.name, kName);
  const Plugin& plugin = *record.plugin;
  EXPECT_EQ(plugin.abi_major(), 1);
  EXPECT_EQ(plugin.abi_minor(), CAGR_ABI_VERSION_MINOR);
  EXPECT_EQ(plugin.built_abi_minor(), CAGR_ABI_VERSION_MINOR);
  EXPECT_EQ(plugin.vendor(), "CAGR tests (plain C99, no kit)");
  // The optional entries are NULL: the host times its nodes by synchronising and captures nothing.
  EXPECT_FALSE(plugin.supports_event_timing());
  EXPECT_EQ(plugin.api().stream_begin_capture, nullptr);
  EXPECT_EQ(plugin.api().graph_destroy, nullptr);
  ASSERT_EQ(plugin.device_count(), 1);
  const DeviceInfo d = plugin.device(0);
  EXPECT_EQ(d.kind, CAGR_DEVICE_CPU);
  EXPECT_TRUE(d.host_accessible);
  EXPECT_EQ(d.numa_node, -1);
}

TEST(CPlugin, WritesNothingPastTheHostsStructs) {
  const auto plugin = Plugin::load(c_plugin());
  const cagr_plugin_api& api = plugin->api();
  Guarded<cagr_device_properties> props(CAGR_STRUCT_SIZE(cagr_device_properties, compute_units));
  ASSERT_EQ(api.device_properties(plugin->context(), 0, props.get()), CAGR_OK) << api.last_error_message();
  EXPECT_EQ(props.first_overwritten_byte(), -1);
  EXPECT_EQ(props.get()->compute_units, 1);
  EXPECT_EQ(props.get()->kind, CAGR_DEVICE_CPU);

  Guarded<cagr_plugin_info> info(CAGR_STRUCT_SIZE(cagr_plugin_info, name));
  ASSERT_EQ(api.get_info(plugin->context(), info.get()), CAGR_OK);
  EXPECT_EQ(info.first_overwritten_byte(), -1);
  EXPECT_EQ(std::string(info.get()->name), kName);

  // A 1.1 host's variant args end before math_precision.
  abi::OwnedOpDesc op = relu({5, 7});
  Guarded<cagr_variant_args> variant(CAGR_STRUCT_SIZE(cagr_variant_args, estimated_ns));
  variant.get()->op = &op.desc();
  variant.get()->variant = 1;
  ASSERT_EQ(api.op_variant(plugin->context(), variant.get()), CAGR_OK) << api.last_error_message();
  EXPECT_EQ(variant.first_overwritten_byte(), -1);
  EXPECT_EQ(std::string(variant.get()->name), "unrolled4");
  EXPECT_DOUBLE_EQ(variant.get()->bytes, 8.0 * 35);
}

TEST(CPlugin, OffersItsF32VariantsWhateverPrecisionIsAllowed) {
  const auto plugin = Plugin::load(c_plugin());
  // int8 too: this plugin never reads the allowance (f32 is always allowed).
  for (const cagr_math_precision allowed : {CAGR_MATH_F32, CAGR_MATH_TF32, CAGR_MATH_BF16, CAGR_MATH_INT8}) {
    abi::OwnedOpDesc op = relu({3, 1001});
    op.allow_math_precision(allowed);
    const OpSupport support = plugin->query(0, op.desc());
    ASSERT_TRUE(support.supported) << support.reason;
    ASSERT_EQ(support.variants.size(), 2u);
    EXPECT_EQ(support.variants[0].name, "scalar");
    EXPECT_EQ(support.variants[1].name, "unrolled4");
    for (const Variant& v : support.variants) {
      EXPECT_EQ(v.math_precision, CAGR_MATH_F32) << v.name;
      EXPECT_DOUBLE_EQ(v.flops, 3003) << v.name;
      EXPECT_GT(v.estimated_ns, 0) << v.name;
    }
    EXPECT_LT(support.variants[1].estimated_ns, support.variants[0].estimated_ns);
  }
}

TEST(CPlugin, RefusesWhatItCannotRunWithAReason) {
  const auto plugin = Plugin::load(c_plugin());
  abi::OwnedOpDesc sigmoid("sigmoid");
  sigmoid.input(CAGR_DTYPE_F32, {2}).output(CAGR_DTYPE_F32, {2});
  OpSupport support = plugin->query(0, sigmoid.desc());
  EXPECT_FALSE(support.supported);
  EXPECT_EQ(support.reason, kName + ": runs relu only, not sigmoid");

  abi::OwnedOpDesc f16("relu");
  f16.input(CAGR_DTYPE_F16, {2}).output(CAGR_DTYPE_F16, {2});
  support = plugin->query(0, f16.desc());
  EXPECT_FALSE(support.supported);
  EXPECT_EQ(support.reason, "relu: input 0 must be f32, got f16");
  try {
    plugin->create_kernel(0, f16.desc(), 0, {});
    ADD_FAILURE() << "kernel_create accepted an f16 relu";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("must be f32, got f16"), std::string::npos) << e.what();
  }

  abi::OwnedOpDesc op = relu({4});
  try {
    plugin->create_kernel(0, op.desc(), 2, {});
    ADD_FAILURE() << "kernel_create accepted variant 2 of 2";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("variant 2 out of range (2 variants)"), std::string::npos) << e.what();
  }
  try {
    Plugin::load(c_plugin(), {{"threads", "4"}});
    ADD_FAILURE() << "init accepted an unknown option";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option 'threads'"), std::string::npos) << e.what();
  }
}

TEST(CPlugin, BadRunsAndHandlesAreErrorsNotCrashes) {
  const auto plugin = Plugin::load(c_plugin());
  const cagr_plugin_api& api = plugin->api();
  abi::OwnedOpDesc op = relu({4, 3});
  Kernel kernel = plugin->create_kernel(0, op.desc(), 0, {});
  Stream stream = plugin->create_stream(0);
  Buffer in = plugin->alloc(0, 12 * sizeof(float)), small = plugin->alloc(0, 11 * sizeof(float));
  try {
    kernel.run(stream, {in.get()}, {f32({4, 3})}, {small.get()}, {f32({4, 3})});
    ADD_FAILURE() << "ran into a buffer too small";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), CAGR_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("relu: output 0 needs 48 bytes, its buffer has 44"), std::string::npos) << e.what();
  }
  try {
    kernel.run(stream, {in.get()}, {f32({4, 4})}, {in.get()}, {f32({4, 3})});
    ADD_FAILURE() << "ran with another inner dim";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only the first dim may change"), std::string::npos) << e.what();
  }
  // A handle of another kind: the stream where the kernel goes, a buffer where the stream goes.
  auto run = abi::make_struct<cagr_kernel_run_args>();
  run.kernel = reinterpret_cast<cagr_kernel*>(stream.get());
  run.stream = stream.get();
  EXPECT_EQ(api.kernel_run(plugin->context(), &run), CAGR_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(*plugin), kName + ": kernel is not one of its kernels");
  EXPECT_EQ(api.stream_synchronize(plugin->context(), reinterpret_cast<cagr_stream*>(in.get())), CAGR_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(*plugin), kName + ": stream is not one of its streams");
  try {
    kernel.run(stream, {in.get()}, {f32({4, 3})}, {reinterpret_cast<cagr_buffer*>(stream.get())}, {f32({4, 3})});
    ADD_FAILURE() << "ran into a stream";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("output 0 buffer is not one of " + kName + "'s buffers"), std::string::npos) << e.what();
  }
  EXPECT_EQ(api.device_count(plugin->context(), nullptr), CAGR_ERROR_INVALID_ARGUMENT);
  cagr_stream* none = nullptr;
  EXPECT_EQ(api.stream_create(plugin->context(), 1, &none), CAGR_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(*plugin), kName + ": device 1 does not exist (1 device)");
  EXPECT_EQ(none, nullptr);
  // A copy past a buffer's end (through the raw entry: the host's Buffer checks ranges itself).
  std::vector<float> host(12);
  auto copy = abi::make_struct<cagr_copy_args>();
  copy.kind = CAGR_COPY_HOST_TO_DEVICE;
  copy.stream = stream.get();
  copy.src_host = host.data();
  copy.dst_buffer = in.get();
  copy.dst_offset = 44;
  copy.bytes = 8;
  EXPECT_EQ(api.copy(plugin->context(), &copy), CAGR_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(*plugin), "copy destination range [44, 52) is outside its buffer of 48 bytes");
  copy.kind = static_cast<cagr_copy_kind>(9);
  EXPECT_EQ(api.copy(plugin->context(), &copy), CAGR_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(last_error(*plugin), "copy: kind 9 is not a cagr_copy_kind");
  // Still usable: a run at another batch size, NaN kept.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {-1.5f, 0.0f, 2.5f, nan, -std::numeric_limits<float>::infinity(), 7.0f}, y(6, 99.0f);
  in.copy_from_host(stream, x.data(), x.size() * sizeof(float));
  kernel.run(stream, {in.get()}, {f32({2, 3})}, {small.get()}, {f32({2, 3})});
  small.copy_to_host(stream, y.data(), y.size() * sizeof(float));
  stream.synchronize();
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 2.5f);
  EXPECT_TRUE(std::isnan(y[3]));
  EXPECT_EQ(y[4], 0.0f);
  EXPECT_EQ(y[5], 7.0f);
}

// A constant input is copied at kernel_create; runs then take no input buffer.
TEST(CPlugin, RunsOnAConstantInputCopiedAtCreate) {
  const auto plugin = Plugin::load(c_plugin());
  abi::OwnedOpDesc op = relu({2, 5});
  const std::vector<float> weights = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10};
  for (int variant : {0, 1}) {
    std::vector<float> data = weights, y(weights.size(), 99.0f);
    auto constant = abi::make_struct<cagr_constant>();
    constant.input_index = 0;
    constant.data = data.data();
    Kernel kernel = plugin->create_kernel(0, op.desc(), variant, {constant});
    std::fill(data.begin(), data.end(), 5.0f);  // the host's data is not read after kernel_create
    Stream stream = plugin->create_stream(0);
    Buffer out = plugin->alloc(0, y.size() * sizeof(float));
    kernel.run(stream, {}, {}, {out.get()}, {f32({2, 5})});
    out.copy_to_host(stream, y.data(), y.size() * sizeof(float));
    stream.synchronize();
    for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], weights[i] < 0 ? 0.0f : weights[i]) << "variant " << variant << ", " << i;
    try {
      kernel.run(stream, {out.get()}, {f32({2, 5})}, {out.get()}, {f32({2, 5})});
      ADD_FAILURE() << "took an input buffer for the constant";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("takes 0 input and 1 output buffer, got 1 and 1"), std::string::npos) << e.what();
    }
  }
}

// ABI 1.5: a borrowed constant must come with what keeps its data alive for the kernel's life; the
// loader refuses one without, naming the input, before the plugin sees it.
TEST(CPlugin, ABorrowedConstantNeedsAnOwner) {
  const auto plugin = Plugin::load(c_plugin());
  abi::OwnedOpDesc op = relu({2, 5});
  auto data = std::make_shared<std::vector<float>>(10, 1.0f);
  auto constant = abi::make_struct<cagr_constant>();
  constant.input_index = 0;
  constant.data = data->data();
  constant.lifetime = CAGR_CONSTANT_BORROWED;
  try {
    plugin->create_kernel(0, op.desc(), 0, {constant});
    ADD_FAILURE() << "a borrowed constant without an owner was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("constant input 0 is borrowed, but nothing keeps its data alive"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(plugin->create_kernel(0, op.desc(), 0, {constant}, nullptr, {data}));
}

}  // namespace
}  // namespace cagr::abi_test

// ONNX import end to end: every fixture (both PyTorch exporters) imports, rewrites into the expected
// abi/OPS.md ops, and matches PyTorch's and onnxruntime's outputs (stored beside it) on the reference
// ops and on the CPU plugin; malformed files give clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>

#include "einsum.hpp"
#include "executor.hpp"
#include "pipeline_runner.hpp"
#include "pipeline_schedule.hpp"
#include "split_placement.hpp"
#include "model_loading.hpp"
#include "npz.hpp"
#include "random_damage.hpp"
#include "reference_graph.hpp"
#include "built_plugins.hpp"
#include "registry.hpp"
#include "rewriter.hpp"
#include "targets.hpp"

namespace cagr {
namespace {

const std::string kFixtures = CAGR_ONNX_FIXTURE_DIR;


HostTensor tensor_of(const data::NpyArray& a) {
  HostTensor h;
  h.dtype = data::npy_cagr_dtype(a.dtype);
  h.dims = a.shape;
  h.data = a.data;
  return h;
}

std::vector<HostTensor> inputs_of(const Graph& graph, const std::map<std::string, data::NpyArray>& arrays) {
  std::vector<HostTensor> inputs;
  for (int id : graph.inputs()) inputs.push_back(tensor_of(arrays.at(graph.tensor(id).name)));
  return inputs;
}

// Max of |got - want| / max(|want|, 1e-3) (relative, absolute near zero).
double max_relative_error(const HostTensor& got, const HostTensor& want) {
  EXPECT_EQ(element_count(got.dims), element_count(want.dims));
  double worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double a = got.as<float>()[i], b = want.as<float>()[i];
    worst = std::max(worst, std::abs(a - b) / std::max(std::abs(b), 1e-3));
  }
  return worst;
}

std::map<std::string, int> op_counts(const Graph& graph) {
  std::map<std::string, int> counts;
  for (const Node& n : graph.nodes()) ++counts[n.op];
  return counts;
}

struct Fixture {
  std::string name;
  std::map<std::string, int> ops;  // ops whose count is asserted
};

std::string fixture_name(const ::testing::TestParamInfo<Fixture>& info) { return info.param.name; }
void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

class OnnxFixture : public ::testing::TestWithParam<Fixture> {
 protected:
  std::string onnx_path() const { return kFixtures + "/" + GetParam().name + ".onnx"; }
  std::map<std::string, data::NpyArray> arrays() const { return data::read_npz(kFixtures + "/" + GetParam().name + ".npz"); }
};

// Every embedding_bag of the loop-form fixtures merges all of its model's tables (T > 1).
TEST_P(OnnxFixture, RewritesIntoExpectedOps) {
  onnx::RewriteReport report;
  const Graph graph = onnx::rewrite_to_cagr(onnx::read_onnx(onnx_path()), GetParam().name, report);
  const auto counts = op_counts(graph);
  for (const auto& [op, n] : GetParam().ops) EXPECT_EQ(counts.count(op) ? counts.at(op) : 0, n) << op << "\n" << report.to_string();
  for (const Node& n : graph.nodes()) {
    if (n.op == "embedding_bag") {
      EXPECT_GT(n.inputs.size(), 3u) << "tables not merged\n" << report.to_string();
    }
  }
  // The model's own inputs (dense, indices, offsets; one used only for its shape is dropped) and
  // one output.
  for (int id : graph.inputs()) EXPECT_TRUE(graph.tensor(id).name == "dense" || graph.tensor(id).name == "indices" || graph.tensor(id).name == "offsets");
  EXPECT_EQ(graph.outputs().size(), 1u);
}

TEST_P(OnnxFixture, ReferenceOpsMatchPyTorchAndOnnxRuntime) {
  const Graph graph = load_any_model(onnx_path());
  const auto a = arrays();
  const auto got = testing::run_reference(graph, inputs_of(graph, a));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LT(max_relative_error(got[0], tensor_of(a.at("expected_torch"))), 1e-5);
  EXPECT_LT(max_relative_error(got[0], tensor_of(a.at("expected_ort"))), 1e-5);
}

// The graph fused and placed by cost hints on `targets` at the shapes of `inputs`.
std::unique_ptr<Executor> placed(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& inputs) {
  std::vector<Dims> dims;
  for (const auto& t : inputs) dims.push_back(t.dims);
  CostHintPlacement policy;
  return std::make_unique<Executor>(graph, targets, dims, policy);
}

std::vector<HostTensor> run_placed(const Graph& graph, const std::vector<Target>& targets, const std::vector<HostTensor>& inputs) {
  return placed(graph, targets, inputs)->run(inputs);
}

// Every device of every plugin built here (CPU; OpenCL on PoCL in CI; CUDA and NVIDIA OpenCL on the
// GPU machine) runs the imported model and matches both PyTorch and onnxruntime.
TEST_P(OnnxFixture, EveryPluginMatchesPyTorchAndOnnxRuntime) {
  ASSERT_FALSE(testing::built_targets("cpu").empty()) << "the CPU plugin must load from " << CAGR_TEST_PLUGIN_DIR;
  const Graph graph = load_any_model(onnx_path());
  const auto a = arrays();
  const auto inputs = inputs_of(graph, a);
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label() + " (" + target.info.name + ")");
    const auto got = run_placed(graph, {target}, inputs);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_LT(max_relative_error(got[0], tensor_of(a.at("expected_torch"))), 1e-5);
    EXPECT_LT(max_relative_error(got[0], tensor_of(a.at("expected_ort"))), 1e-5);
  }
}

const std::map<std::string, int> kDlrmOps{{"embedding_bag", 1}, {"dot_interaction", 1}, {"concat", 2}, {"relu", 0}, {"sigmoid", 0}};
const std::map<std::string, int> kDeepFmOps{{"embedding_bag", 2}, {"fm_interaction", 1}, {"linear", 3}, {"reduce_sum", 1}, {"sigmoid", 1}, {"relu", 0}};

std::map<std::string, int> with_linear(std::map<std::string, int> ops, int linear) {
  ops["linear"] = linear;
  return ops;
}

INSTANTIATE_TEST_SUITE_P(
    Exports, OnnxFixture,
    ::testing::Values(Fixture{"dlrm_avazu_torchscript", with_linear(kDlrmOps, 5)}, Fixture{"dlrm_avazu_dynamo", with_linear(kDlrmOps, 5)},
                      Fixture{"dlrm_kaggle_small_torchscript", with_linear(kDlrmOps, 4)},
                      Fixture{"dlrm_kaggle_small_dynamo", with_linear(kDlrmOps, 4)}, Fixture{"deepfm_avazu_torchscript", kDeepFmOps},
                      Fixture{"deepfm_avazu_dynamo", kDeepFmOps},
                      Fixture{"mean_bags_torchscript", {{"embedding_bag", 1}, {"reshape", 1}}},
                      Fixture{"mean_bags_dynamo", {{"embedding_bag", 1}, {"reshape", 1}}},
                      // nn.Embedding + mean over fixed-size bags: Gather + ReduceMean, no loop.
                      Fixture{"embedding_mean_torchscript", {{"gather", 1}, {"reduce_sum", 1}, {"mul", 1}, {"linear", 1}, {"sigmoid", 0}}},
                      Fixture{"embedding_mean_dynamo", {{"gather", 1}, {"reduce_sum", 1}, {"mul", 1}, {"linear", 1}, {"sigmoid", 0}}}),
    fixture_name);

std::string load_error(const std::string& path) {
  try {
    load_any_model(path);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// ---- the gallery: models written the way their papers' PyTorch code writes them -------------------
// (tools/onnx_fixtures/gallery.py; tests/onnx/gallery/README.md lists their inputs and ONNX ops.)
const std::string kGallery = kFixtures + "/../gallery";

struct GalleryModel {
  std::string file;                 // <model>_<exporter>
  std::map<std::string, int> ops;   // ops whose count is asserted
};
void PrintTo(const GalleryModel& m, std::ostream* os) { *os << m.file; }

class Gallery : public ::testing::TestWithParam<GalleryModel> {
 protected:
  std::string model() const { return GetParam().file.substr(0, GetParam().file.rfind('_')); }
  std::string exporter() const { return GetParam().file.substr(GetParam().file.rfind('_') + 1); }
  std::map<std::string, data::NpyArray> arrays() const { return data::read_npz(kGallery + "/" + model() + ".npz"); }
};

TEST_P(Gallery, ImportsIntoExpectedOps) {
  onnx::RewriteReport report;
  const Graph graph = onnx::rewrite_to_cagr(onnx::read_onnx(kGallery + "/" + GetParam().file + ".onnx"), GetParam().file, report);
  const auto counts = op_counts(graph);
  for (const auto& [op, n] : GetParam().ops) EXPECT_EQ(counts.count(op) ? counts.at(op) : 0, n) << op << "\n" << report.to_string();
}

TEST_P(Gallery, ReferenceOpsMatchPyTorch) {
  const Graph graph = load_any_model(kGallery + "/" + GetParam().file + ".onnx");
  const auto a = arrays();
  const auto got = testing::run_reference(graph, inputs_of(graph, a));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LT(max_relative_error(got[0], tensor_of(a.at("expected_torch"))), 1e-5);
  // Absent where onnxruntime's result on the file is not PyTorch's (gallery.py's notes say why).
  if (a.count("expected_ort_" + exporter())) {
    EXPECT_LT(max_relative_error(got[0], tensor_of(a.at("expected_ort_" + exporter()))), 1e-5);
  }
}

// Every plugin built here, each beside the CPU plugin, which runs the general tensor ops that the
// other plugins refuse (placement puts each node where it runs).
TEST_P(Gallery, EveryPluginMatchesPyTorch) {
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty()) << "the CPU plugin must load from " << CAGR_TEST_PLUGIN_DIR;
  const Graph graph = load_any_model(kGallery + "/" + GetParam().file + ".onnx");
  const auto a = arrays();
  const auto inputs = inputs_of(graph, a);
  for (const Target& target : testing::built_targets()) {
    SCOPED_TRACE(target.label() + " (" + target.info.name + ")");
    std::vector<Target> targets{target};
    if (target.plugin->name() != "cpu") targets.push_back(cpu[0]);
    const auto got = run_placed(graph, targets, inputs);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_LT(max_relative_error(got[0], tensor_of(a.at("expected_torch"))), 1e-5);
  }
}

// The model as a pipeline (docs/PIPELINE_SCHEDULE.md): its lookups on the CPU plugin, the rest on
// another plugin's device (OpenCL on PoCL here), the 13 samples streamed through in sub-batches. The
// exports move the batch off the first axis (ids turned table-major, [B, S, D] folded into rows),
// which the splitter follows; each sub-batch count gives the unpipelined split run's outputs (to 1e-6). The
// DLRM reference's 2-D offsets ([T, B] into [T, L] ids) cannot be cut and are refused by name.
TEST_P(Gallery, PipelinesOverTwoDevicesWithTheSameOutputs) {
  const std::vector<Target> cpu = testing::built_targets("cpu");
  std::vector<Target> others;
  for (const Target& t : testing::built_targets())
    if (t.plugin->name() != "cpu") others.push_back(t);
  if (cpu.empty() || others.empty()) GTEST_SKIP() << "needs the CPU plugin and a device of another plugin from " << CAGR_TEST_PLUGIN_DIR;
  const Graph graph = load_any_model(kGallery + "/" + GetParam().file + ".onnx");
  const auto inputs = inputs_of(graph, arrays());
  std::vector<Dims> dims;
  for (const auto& t : inputs) dims.push_back(t.dims);
  EmbeddingSplitPlacement split(0, 1);
  Executor whole(graph, {cpu[0], others[0]}, dims, split);
  const std::vector<HostTensor> want = whole.run(inputs);
  auto runner = [&] {
    return std::make_unique<PipelineRunner>(whole.graph(), whole.placement(), whole.targets(), cut_stages(whole.graph(), whole.placement()),
                                            inputs, 3);
  };
  if (GetParam().ops.count("table_offsets")) {
    try {
      runner();
      ADD_FAILURE() << "2-D offsets were cut into sub-batches";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("(table_offsets) reads per-table offsets [T, B]"), std::string::npos) << e.what();
    }
    return;
  }
  const auto pipe = runner();
  for (int sub_batches : {3, 2, 13})
    for (bool overlap : {true, false}) {
      const std::vector<HostTensor> got = pipe->run(inputs, sub_batches, overlap);
      ASSERT_EQ(got.size(), want.size());
      for (size_t o = 0; o < got.size(); ++o) {
        EXPECT_EQ(got[o].dims, want[o].dims);
        EXPECT_LT(max_relative_error(got[o], want[o]), 1e-6) << sub_batches << " sub-batches, overlap " << overlap;
      }
    }
}

// A DLRM written the usual way compiles to the zoo DLRM's fused ops on the CPU plugin: one
// embedding_bag, the interaction fused into dlrm_interaction, the linears; besides them only the
// ids' transpose to table-major and their offsets.
TEST(Gallery, UsualDlrmCompilesToTheZooDlrmsOps) {
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty());
  for (const char* exporter : {"torchscript", "dynamo"}) {
    const Graph graph = load_any_model(kGallery + "/dlrm_embedding_" + exporter + ".onnx");
    const auto inputs = inputs_of(graph, data::read_npz(kGallery + "/dlrm_embedding.npz"));
    std::map<std::string, int> ops = op_counts(placed(graph, cpu, inputs)->graph());
    EXPECT_EQ(ops["embedding_bag"], 1) << exporter;
    EXPECT_EQ(ops["dlrm_interaction"], 1) << exporter;
    EXPECT_EQ(ops["linear"], 4) << exporter;
    for (const char* op : {"embedding_bag", "dlrm_interaction", "linear", "transpose", "reshape", "fixed_bag_offsets"}) ops.erase(op);
    EXPECT_TRUE(ops.empty()) << exporter << ": " << ops.begin()->first;
  }
}

// Both exports of gallery model `model` compiled on the CPU plugin hold `cross_layers` cross_layer
// nodes, no mul or add left, and `linears` linears, and match PyTorch.
void expect_cross_layers(const std::string& model, int cross_layers, int linears) {
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty());
  for (const char* exporter : {"torchscript", "dynamo"}) {
    const Graph graph = load_any_model(kGallery + "/" + model + "_" + exporter + ".onnx");
    const auto a = data::read_npz(kGallery + "/" + model + ".npz");
    const auto inputs = inputs_of(graph, a);
    const std::unique_ptr<Executor> exec = placed(graph, cpu, inputs);
    std::map<std::string, int> ops = op_counts(exec->graph());
    EXPECT_EQ(ops["cross_layer"], cross_layers) << exporter;
    EXPECT_EQ(ops["mul"] + ops["add"], 0) << exporter;
    EXPECT_EQ(ops["linear"], linears) << exporter;
    const auto got = exec->run(inputs);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_LT(max_relative_error(got[0], tensor_of(a.at("expected_torch"))), 1e-5) << exporter;
  }
}

// DCN-v2's cross layers, x0 * layer(x) + x, import as linear + mul + add (Gemm, Mul, Add) and
// compile to one cross_layer each on the CPU plugin; the deep MLP's and the output's linears stay.
TEST(Gallery, DcnV2CrossLayersCompileToCrossLayer) { expect_cross_layers("dcn_v2", 2, 3); }

// DLRM-v2's low-rank cross layers (torchrec's LowRankCrossNet: x0 * W(V x) + x, V without bias)
// compile to cross_layer on the CPU plugin, as the zoo's dlrm_v2 does: V stays a linear, W and the
// mul and add become the cross layer (the 3 V linears, 2 bottom and 3 top linears stay).
TEST(Gallery, DlrmV2LowRankCrossLayersCompileToCrossLayer) { expect_cross_layers("dlrm_v2", 3, 8); }

// xDeepFM's CIN: the einsum's output order [B, H, M, D], reshaped to [B, H*M, D], is moved back to
// channels-last by the pointwise conv: transpose, reshape, transpose that move no element, one
// reshape per layer (the outputs stay PyTorch's: the Gallery cases above).
TEST(Gallery, XDeepFmTransposesThatMoveNothingBecomeAReshape) {
  for (const char* exporter : {"torchscript", "dynamo"}) {
    onnx::RewriteReport report;
    const Graph graph = onnx::rewrite_to_cagr(onnx::read_onnx(kGallery + "/xdeepfm_" + exporter + ".onnx"), "xdeepfm", report);
    EXPECT_EQ(report.counts["transpose + reshape + transpose that move nothing: one reshape"], 2) << exporter << "\n" << report.to_string();
    EXPECT_EQ(op_counts(graph)["transpose"], 5) << exporter << ": the ids to table-major, x0 once for both layers' einsums (the "
                                                               "repeats merged), the second layer's other operand, and each layer's conv "
                                                               "output (channels first, as Conv1d gives it); none after the product";
    EXPECT_GE(report.counts["repeated node merged"], 2) << exporter << "\n" << report.to_string();
  }
}

// DIN's attention unit, an MLP over concat(q, k, q - k, q * k) of dim-8 embeddings into 16 units
// (gallery.py's test size): the rewriter folds the q - k columns of that layer's weights into q's
// and k's, so it reads 3 x 8 columns, not 4 x 8, and nothing computes q - k; the outputs stay
// PyTorch's (the Gallery cases above).
TEST(Gallery, DinAttentionFoldsItsDifferenceIntoTheWeights) {
  for (const char* exporter : {"torchscript", "dynamo"}) {
    onnx::RewriteReport report;
    const Graph graph = onnx::rewrite_to_cagr(onnx::read_onnx(kGallery + "/din_" + exporter + ".onnx"), "din", report);
    EXPECT_EQ(report.counts["linear over a concat: a Sub/Add of two of its parts folded into the weights"], 1) << exporter;
    std::vector<Dims> attention;
    for (const Node& n : graph.nodes()) {
      if (n.op == "elementwise") {
        EXPECT_NE(std::get<std::string>(n.attrs.at("fn")), "sub") << exporter << ": " << n.name;
      }
      // The attention's layers read [B x S, K] rows: a reshape of a [B, S, K] tensor.
      const int rows = n.op == "linear" ? graph.producer(n.inputs[0]) : -1;
      if (rows >= 0 && graph.nodes()[static_cast<size_t>(rows)].op == "reshape" && graph.tensor(n.inputs[1]).dims[0] == 16)
        attention.push_back(graph.tensor(n.inputs[1]).dims);
    }
    EXPECT_EQ(attention, (std::vector<Dims>{{16, 24}})) << exporter << ": the attention's first layer, [16, 3 x 8]";
  }
}

// DLRM with nn.Embedding per table: the 26 lookups become one embedding_bag (the zoo's op).
const std::map<std::string, int> kGalleryDlrm{{"embedding_bag", 1}, {"fixed_bag_offsets", 1}, {"gather", 0}, {"take", 0}, {"linear", 4}};
// DeepFM: first-order and second-order lookups, one embedding_bag each; the FM term as one op.
const std::map<std::string, int> kGalleryDeepFm{{"embedding_bag", 2}, {"gather", 0}, {"take", 0}, {"fm_interaction", 1}};

const std::map<std::string, int> kGalleryBagPooling{{"embedding_bag", 2}, {"table_offsets", 1}, {"linear", 2}};
const std::map<std::string, int> kGalleryWeighted{{"embedding_bag", 1}, {"table_offsets", 1}, {"take", 0}, {"slice", 0}, {"linear", 4}};

// What the bags of bag_pooling and bag_padding import as: modes, per-sample weights, padding rows.
TEST(Gallery, BagsKeepTheirModeWeightsAndPaddingRows) {
  auto bags = [](const std::string& file) {
    std::vector<std::string> found;
    const Graph graph = load_any_model(kGallery + "/" + file + ".onnx");
    for (const Node& n : graph.nodes())
      if (n.op == "embedding_bag")
        found.push_back(n.attr_string("mode", "sum") + (n.attr_int("weighted", 0) ? " weighted" : "") +
                        (n.attr_int("padded", 0) ? " padded" : "") + " T=" + std::to_string(n.inputs.size() - 2 - n.attr_int("weighted", 0) - n.attr_int("padded", 0)));
    std::sort(found.begin(), found.end());
    return found;
  };
  for (const char* exporter : {"torchscript", "dynamo"})
    EXPECT_EQ(bags(std::string("bag_pooling_") + exporter), (std::vector<std::string>{"max T=3", "sum weighted T=1"})) << exporter;
  EXPECT_EQ(bags("bag_padding_dynamo"), (std::vector<std::string>{"max padded T=1", "mean padded T=1", "sum padded T=2"}));
  // 26 weighted tables whose weights lS_w [T, L] line up with lS_i: one weighted embedding_bag.
  for (const char* exporter : {"torchscript", "dynamo"})
    EXPECT_EQ(bags(std::string("dlrm_weighted_") + exporter), (std::vector<std::string>{"sum weighted T=26"})) << exporter;
}

// Weighted bags merge only where bag t's weights are row t of lS_w: with tables 0 and 1 reading
// each other's weight rows (their Gather(lS_w, k) indices swapped in the file's graph), lS_w
// flattened would pair table 0's ids with table 0's weights, so the bags must stay apart, and the
// model then computes what the original computes on lS_w with rows 0 and 1 swapped.
TEST(Gallery, WeightedBagsMergeOnlyWhereTheirWeightRowsLineUp) {
  const auto a = data::read_npz(kGallery + "/dlrm_weighted.npz");
  std::map<std::string, data::NpyArray> swapped_rows = a;
  std::vector<std::byte>& w = swapped_rows.at("lS_w").data;
  const size_t row_bytes = w.size() / static_cast<size_t>(a.at("lS_w").shape[0]);
  std::swap_ranges(w.begin(), w.begin() + static_cast<long>(row_bytes), w.begin() + static_cast<long>(row_bytes));
  for (const char* exporter : {"torchscript", "dynamo"}) {
    SCOPED_TRACE(exporter);
    const std::string path = kGallery + "/dlrm_weighted_" + std::string(exporter) + ".onnx";
    onnx::OnnxGraph g = onnx::read_onnx(path);
    std::map<double, std::string*> row_index;  // k -> the index input of Gather(lS_w, k)
    for (onnx::OnnxNode& n : g.nodes)
      if (n.op == "Gather" && n.inputs.size() == 2 && n.inputs[0] == "lS_w" && g.constants.count(n.inputs[1]))
        row_index[onnx::constant_values(g.constants.at(n.inputs[1]))[0]] = &n.inputs[1];
    ASSERT_EQ(row_index.size(), 26u);
    std::swap(*row_index.at(0), *row_index.at(1));
    onnx::RewriteReport report;
    const Graph crossed = onnx::rewrite_to_cagr(std::move(g), "crossed", report);
    EXPECT_EQ(op_counts(crossed)["embedding_bag"], 26) << report.to_string();
    const Graph original = load_any_model(path);
    const auto got = testing::run_reference(crossed, inputs_of(crossed, a));
    const auto want = testing::run_reference(original, inputs_of(original, swapped_rows));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_LT(max_relative_error(got[0], want[0]), 1e-6);
    EXPECT_GT(max_relative_error(got[0], tensor_of(a.at("expected_torch"))), 1e-4);  // the swap mattered
  }
}

// The bag models on each plugin alone (not beside the CPU plugin, whose cost may win the bags), so
// that every plugin's embedding_bag runs max, weights and padding rows: OpenCL (PoCL) here.
TEST(Gallery, BagModelsRunOnEachPluginAlone) {
  ASSERT_FALSE(testing::built_targets("cpu").empty());
  for (const std::string file : {"bag_pooling_torchscript", "bag_pooling_dynamo", "bag_padding_dynamo", "dlrm_weighted_torchscript", "dlrm_weighted_dynamo"}) {
    const Graph graph = load_any_model(kGallery + "/" + file + ".onnx");
    const auto a = data::read_npz(kGallery + "/" + file.substr(0, file.rfind('_')) + ".npz");
    for (const Target& target : testing::built_targets()) {
      SCOPED_TRACE(file + " on " + target.label() + " (" + target.info.name + ")");
      const auto got = run_placed(graph, {target}, inputs_of(graph, a));
      ASSERT_EQ(got.size(), 1u);
      EXPECT_LT(max_relative_error(got[0], tensor_of(a.at("expected_torch"))), 1e-5);
    }
  }
}

const std::map<std::string, int> kGalleryAutoInt{{"embedding_bag", 1}, {"gather", 0}, {"softmax", 1}, {"matmul", 2}};
const std::map<std::string, int> kGalleryXDeepFm{{"embedding_bag", 1}, {"matmul", 0}, {"linear", 6}};
// Both exports take the field pairs directly (the dynamo export's transposes around its GatherNDs
// cancelled); the one transpose left turns the ids table-major.
const std::map<std::string, int> kGalleryDlrmV2{{"embedding_bag", 26}, {"fixed_bag_offsets", 26}, {"slice", 26}, {"linear", 11}};
const std::map<std::string, int> kGalleryFiBiNet{{"embedding_bag", 1}, {"take", 2}, {"transpose", 1}, {"linear", 5}};

INSTANTIATE_TEST_SUITE_P(
    Models, Gallery,
    ::testing::Values(GalleryModel{"dlrm_embedding_torchscript", kGalleryDlrm}, GalleryModel{"dlrm_embedding_dynamo", kGalleryDlrm},
                      GalleryModel{"deepfm_torchscript", kGalleryDeepFm}, GalleryModel{"deepfm_dynamo", kGalleryDeepFm},
                      // The deep part's lookups are concatenated, the wide part's summed: one embedding_bag each.
                      GalleryModel{"wide_deep_torchscript", {{"embedding_bag", 2}, {"gather", 0}, {"reduce_sum", 1}, {"linear", 4}}},
                      GalleryModel{"wide_deep_dynamo", {{"embedding_bag", 2}, {"gather", 0}, {"reduce_sum", 1}, {"linear", 4}}},
                      GalleryModel{"dcn_v2_torchscript", {{"embedding_bag", 1}, {"linear", 5}}},
                      GalleryModel{"dcn_v2_dynamo", {{"embedding_bag", 1}, {"linear", 5}}},
                      // The attention MLP over [B, S, K]: linears over its rows, the activations fused.
                      GalleryModel{"din_torchscript", {{"matmul", 0}, {"linear", 5}, {"relu", 0}, {"sigmoid", 0}}},
                      GalleryModel{"din_dynamo", {{"matmul", 0}, {"linear", 5}, {"relu", 0}, {"sigmoid", 0}}},
                      // The DLRM reference's lS_o [T, B] / lS_i [T, L]: one embedding_bag, offsets by table_offsets.
                      GalleryModel{"dlrm_bag2d_torchscript", {{"embedding_bag", 1}, {"table_offsets", 1}, {"linear", 4}}},
                      GalleryModel{"dlrm_bag2d_dynamo", {{"embedding_bag", 1}, {"table_offsets", 1}, {"linear", 4}}},
                      // F.embedding_bag on a [B, P] history (offsets from a Range): fixed-size bags.
                      GalleryModel{"two_tower_torchscript", {{"embedding_bag", 1}, {"fixed_bag_offsets", 1}}},
                      GalleryModel{"two_tower_dynamo", {{"embedding_bag", 1}, {"fixed_bag_offsets", 1}}},
                      // Three max-pooled bags on [T, B + 1] offsets (include_last_offset, some bags
                      // empty) merged into one embedding_bag; a weighted bag on its own.
                      GalleryModel{"bag_pooling_torchscript", kGalleryBagPooling}, GalleryModel{"bag_pooling_dynamo", kGalleryBagPooling},
                      // padding_idx (dynamo only): two padded tables on [T, B] offsets merged, a padded
                      // [B, 6] history pooled by mean and by max (one fixed_bag_offsets: the repeat merged).
                      GalleryModel{"bag_padding_dynamo", {{"embedding_bag", 3}, {"table_offsets", 1}, {"fixed_bag_offsets", 1}}},
                      // dlrm_bag2d with per_sample_weights lS_w [T, L]: still one embedding_bag, whose
                      // weights are lS_w flattened as lS_i is (table-major); no per-table slices left.
                      GalleryModel{"dlrm_weighted_torchscript", kGalleryWeighted}, GalleryModel{"dlrm_weighted_dynamo", kGalleryWeighted},
                      // nn.MultiheadAttention over the fields (its exports' shape arithmetic holds a Mod):
                      // the field lookups merged, the heads' scores and values two matmuls, one softmax.
                      GalleryModel{"autoint_torchscript", kGalleryAutoInt}, GalleryModel{"autoint_dynamo", kGalleryAutoInt},
                      // The CIN's einsum outer products as broadcasting muls (no matmul), its Conv1d(k=1) as
                      // linears over the channels.
                      GalleryModel{"xdeepfm_torchscript", kGalleryXDeepFm}, GalleryModel{"xdeepfm_dynamo", kGalleryXDeepFm},
                      // The field pairs' lookups (Gather; GatherND in the dynamo export) as takes.
                      GalleryModel{"fibinet_torchscript", kGalleryFiBiNet}, GalleryModel{"fibinet_dynamo", kGalleryFiBiNet},
                      // MLPerf's DLRM-v2: each table's multi-hot bag a slice of columns of one [B, 74]
                      // id matrix (fixed-size bags of 1-5 ids); the low-rank cross layers' V and W linears.
                      GalleryModel{"dlrm_v2_torchscript", kGalleryDlrmV2}, GalleryModel{"dlrm_v2_dynamo", kGalleryDlrmV2}),
    [](const auto& info) { return info.param.file; });

// Both exporters' mean-pooling loops (the dynamo body holds ReduceSum, Div and ReduceMean) give
// mode "mean"; the values are checked by the fixture tests above.
TEST(OnnxImport, MeanPoolingKeepsItsMode) {
  for (const char* exporter : {"torchscript", "dynamo"}) {
    const Graph graph = load_any_model(kFixtures + "/mean_bags_" + exporter + ".onnx");
    for (const Node& n : graph.nodes()) {
      if (n.op == "embedding_bag") {
        EXPECT_EQ(n.attr_string("mode", "sum"), "mean") << exporter;
      }
    }
  }
}

// Fresh random inputs of odd batch sizes: the CPU plugin against the reference ops on the imported
// graph (the fixtures hold one batch only).
TEST(OnnxImport, CpuPluginMatchesReferenceAtOtherBatchSizes) {
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty());
  const Graph graph = load_any_model(kFixtures + "/dlrm_kaggle_small_dynamo.onnx");
  int64_t tables = 0;
  std::vector<int64_t> rows;
  for (const Node& n : graph.nodes())
    if (n.op == "embedding_bag")
      for (size_t i = 2; i < n.inputs.size(); ++i) rows.push_back(graph.tensor(n.inputs[i]).dims[0]);
  tables = static_cast<int64_t>(rows.size());
  std::mt19937_64 rng(7);
  CostHintPlacement policy;
  std::unique_ptr<Executor> exec;
  for (int64_t batch : {1, 5, 77}) {
    HostTensor dense(CAGR_DTYPE_F32, {batch, 13});
    for (int64_t i = 0; i < dense.numel(); ++i) dense.as<float>()[i] = std::uniform_real_distribution<float>(0, 1)(rng);
    std::vector<int64_t> indices, offsets{0};
    for (int64_t t = 0; t < tables; ++t)
      for (int64_t b = 0; b < batch; ++b) {
        for (uint64_t k = rng() % 3; k > 0; --k) indices.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(rows[static_cast<size_t>(t)])));
        offsets.push_back(static_cast<int64_t>(indices.size()));
      }
    const std::vector<HostTensor> inputs{dense, HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(indices.size())}, indices),
                                         HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(offsets.size())}, offsets)};
    if (!exec) exec = std::make_unique<Executor>(graph, cpu, std::vector<Dims>{inputs[0].dims, inputs[1].dims, inputs[2].dims}, policy);
    EXPECT_LT(max_relative_error(exec->run(inputs)[0], testing::run_reference(graph, inputs)[0]), 1e-5) << "batch " << batch;
  }
}

TEST(OnnxImport, TruncatedFileGivesClearError) {
  std::ifstream in(kFixtures + "/dlrm_avazu_torchscript.onnx", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string path = ::testing::TempDir() + "/truncated.onnx";
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const std::string error = load_error(path);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("does not parse"), std::string::npos) << error;
}

// Damaged files (bytes replaced, runs cut or doubled) give an import error or a graph, never a
// crash: shapes, axes and indices read from the file are checked before use (issue 23's report: a
// one-byte change to this fixture made an Unsqueeze axis index out of range). Seeded; ASan and
// UBSan check the same under the sanitizer build.
TEST(OnnxImport, DamagedFilesGiveErrorsNotCrashes) {
  std::string one_byte = testing::slurp(kFixtures + "/dlrm_avazu_torchscript.onnx");
  ASSERT_GT(one_byte.size(), 22120u);
  one_byte[22120] = static_cast<char>(0x94);
  testing::spit(::testing::TempDir() + "/one_byte.onnx", one_byte);
  EXPECT_NE(load_error(::testing::TempDir() + "/one_byte.onnx"), "");
  std::mt19937_64 rng(2026);
  int refused = 0, imported = 0;
  for (const std::string& file : {kFixtures + "/dlrm_avazu_torchscript.onnx", kFixtures + "/dlrm_kaggle_small_dynamo.onnx",
                                 kGallery + "/dlrm_embedding_torchscript.onnx", kGallery + "/din_dynamo.onnx",
                                 kGallery + "/dlrm_bag2d_torchscript.onnx"}) {
    const std::string bytes = testing::slurp(file);
    for (int i = 0; i < 60; ++i) {
      std::string text = bytes;
      for (uint64_t k = 0; k < 1 + rng() % 3; ++k) {
        const size_t at = rng() % text.size();
        text[at] = static_cast<char>(rng() % 256);
      }
      if (i % 10 == 0) text = testing::damage(text, rng, "\x01\x08\x10\x12\x1a\x22\x7f\xff", 64);
      testing::spit(::testing::TempDir() + "/damaged.onnx", text);
      (load_error(::testing::TempDir() + "/damaged.onnx").empty() ? imported : refused)++;
    }
  }
  EXPECT_GT(refused, 0);
  std::cout << refused << " damaged files refused, " << imported << " imported" << std::endl;
}

// The import error of a fuzz_onnx finding kept in tests/fuzz/corpus/onnx; it must name the file.
std::string corpus_error(const std::string& file) {
  const std::string path = kFixtures + "/../../fuzz/corpus/onnx/" + file;
  const std::string error = load_error(path);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  return error;
}

// fuzz_onnx's input whose graph lists the input 'offsets' and the initializer 'table.weight' twice
// (and, after a crossover, holds every node twice): it reached Graph::add_tensor after the rewrite,
// whose std::invalid_argument ended the host. The reader refuses a name's second definition,
// naming the file and the name.
TEST(OnnxImport, TensorDefinedTwiceIsRefusedNamingIt) {
  const std::string error = corpus_error("input_listed_twice.onnx");
  EXPECT_NE(error.find("defines tensor '"), std::string::npos) << error;
  EXPECT_NE(error.find("which the graph already defines"), std::string::npos) << error;
}

// fuzz_onnx (on main, after the merge): a Slice whose axes list is longer than its starts was
// evaluated reading past the starts (UBSan). Both the evaluator and the rewriter now require one
// entry per sliced axis; this input then fails later with an import error naming the file.
TEST(OnnxImport, SliceWithMoreAxesThanStartsIsAnErrorNotACrash) { corpus_error("slice_axes_longer_than_starts.onnx"); }

// fuzz_onnx's input with a Mul of one input where the FM-interaction matcher looks (0.5 * ...): the
// matcher indexed its second input (ASan: heap-buffer-overflow, so the sanitizer build is the one
// that fails without the check). Such a node is no FM term; the file gets an import error.
TEST(OnnxImport, MulShortOfInputsIsNoFmTerm) {
  const std::string error = corpus_error("mul_of_one_input.onnx");
  // Since the reader checks every listed op's input count (check_arity), it is refused there.
  EXPECT_NE(error.find("(Mul): Mul takes 2 input(s), this one has 1"), std::string::npos) << error;
}

// fuzz_onnx's input whose external-data length is not a number: std::stoll's std::invalid_argument
// escaped the import. It is refused naming the initializer, the key and the value; so is a number
// with trailing bytes, which stoll read as its leading digits.
TEST(OnnxImport, ExternalDataLengthMustBeANumber) {
  const std::string error = corpus_error("external_length_not_a_number.onnx");
  EXPECT_NE(error.find("initializer 'bottom.2.weight': external data length '"), std::string::npos) << error;
  EXPECT_NE(error.find("' is not a non-negative number"), std::string::npos) << error;
}

// fuzz_onnx's input with an initializer of ten dimensions whose product overflows int64 (UBSan:
// signed overflow counting its elements). It is refused naming the tensor and its shape so far.
TEST(OnnxImport, InitializerShapeTooLargeToCountIsRefused) {
  const std::string error = corpus_error("initializer_shape_overflowing.onnx");
  EXPECT_NE(error.find("tensor 'out.weight': shape 1,8,64,"), std::string::npos) << error;
  EXPECT_NE(error.find("holds more bytes than 64 bits count"), std::string::npos) << error;
}

// fuzz_onnx's input with a Gather of one input: the lowering read its indices past the end (ASan).
TEST(OnnxImport, GatherShortOfInputsIsRefusedNamingIt) {
  const std::string error = corpus_error("gather_of_one_input.onnx");
  EXPECT_NE(error.find("node '/table/Gather' (Gather): Gather takes 2 input(s), this one has 1"), std::string::npos) << error;
}

// fuzz_onnx's input with a ReduceL2 of no inputs: its lowering to a sum of squares read input 0 of
// an empty list (UBSan: reference binding to null). The arity check now lists the reductions the
// rewriter lowers (ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSumExp), GatherND and CastLike.
TEST(OnnxImport, ReduceL2ShortOfInputsIsRefusedNamingIt) {
  const std::string error = corpus_error("reduce_l2_of_no_input.onnx");
  EXPECT_NE(error.find("(ReduceL2): ReduceL2 takes 1 to 2 input(s), this one has 0"), std::string::npos) << error;
}

TEST(OnnxImport, MissingExternalDataGivesClearError) {
  const std::string dir = ::testing::TempDir() + "/no_data";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kFixtures + "/dlrm_avazu_dynamo.onnx", dir + "/dlrm_avazu_dynamo.onnx", std::filesystem::copy_options::overwrite_existing);
  const std::string error = load_error(dir + "/dlrm_avazu_dynamo.onnx");
  EXPECT_NE(error.find("external data file"), std::string::npos) << error;
}

TEST(OnnxImport, UnknownOpIsNamedWithItsNode) {
  const std::string error = load_error(kFixtures + "/unknown_op.onnx");
  EXPECT_NE(error.find("ONNX op 'Erf'"), std::string::npos) << error;
  EXPECT_NE(error.find("node 'gelu_erf'"), std::string::npos) << error;
  EXPECT_NE(error.find("abi/OPS.md"), std::string::npos) << error;
}

// Einsum lowered onto transpose, reshape, reduce_sum and matmul (make_fixtures.py's write_einsums:
// a batched matmul, a transpose, a sum, a contraction, xDeepFM's outer product, an implicit-mode
// equation), at a batch the file does not fix: the reference ops and the CPU plugin give numpy's
// einsum.
TEST(OnnxImport, EinsumsGiveNumpysResults) {
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty());
  const Graph graph = load_any_model(kFixtures + "/einsums.onnx");
  const auto a = data::read_npz(kFixtures + "/einsums.npz");
  const auto inputs = inputs_of(graph, a);
  const auto reference = testing::run_reference(graph, inputs);
  const auto placed = run_placed(graph, cpu, inputs);
  ASSERT_EQ(graph.outputs().size(), 6u);
  for (size_t o = 0; o < graph.outputs().size(); ++o) {
    const std::string name = graph.tensor(graph.outputs()[o]).name;
    SCOPED_TRACE(name);
    const HostTensor want = tensor_of(a.at("expected_" + name));
    EXPECT_LT(max_relative_error(reference[o], want), 1e-5);
    EXPECT_LT(max_relative_error(placed[o], want), 1e-5);
  }
}

// What the importer does not lower is refused naming the node and what it has: an Einsum with an
// ellipsis, a 3x3 Conv (only pointwise ones become linears), a diagonal, a wrong label count.
TEST(OnnxImport, EinsumAndConvBeyondWhatIsLoweredAreRefusedNamingWhy) {
  const std::string ellipsis = load_error(kFixtures + "/einsum_ellipsis.onnx");
  EXPECT_NE(ellipsis.find("node 'ellipsis' (Einsum)"), std::string::npos) << ellipsis;
  EXPECT_NE(ellipsis.find("an ellipsis"), std::string::npos) << ellipsis;
  const std::string conv = load_error(kFixtures + "/conv_3x3.onnx");
  EXPECT_NE(conv.find("node 'conv3x3' (Conv)"), std::string::npos) << conv;
  EXPECT_NE(conv.find("pointwise"), std::string::npos) << conv;
  auto parse_error = [](const std::string& equation, const std::vector<size_t>& ranks) {
    try {
      onnx::parse_einsum(equation, ranks);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(parse_error("bii->bi", {3}).find("appears twice in operand 0"), std::string::npos);
  EXPECT_NE(parse_error("bij,bjk->bik", {3, 2}).find("operand 1 has rank 2 but 3 label(s)"), std::string::npos);
  EXPECT_NE(parse_error("ij->jq", {2}).find("output label 'q' is in no operand"), std::string::npos);
  EXPECT_NE(parse_error("ij->j->i", {2}).find("more than one '->'"), std::string::npos);
  EXPECT_EQ(onnx::parse_einsum("ba,ac", {2, 2}).output, "bc") << "implicit mode: the labels met once, sorted";
}

// nn.EmbeddingBag(indices, offsets) with include_last_offset=False: the exporter appends
// len(indices) in the graph; the import computes embedding_bag's offsets with table_offsets, which
// refuses offsets that do not start at 0 (nn.EmbeddingBag's own rule).
TEST(OnnxImport, BagWithoutLastOffsetImportsAndChecksItsOffsets) {
  const std::vector<Target> cpu = testing::built_targets("cpu");
  ASSERT_FALSE(cpu.empty());
  const Graph graph = load_any_model(kFixtures + "/bag_without_last_offset.onnx");
  const auto run = [&](std::vector<int64_t> offsets) {
    const std::vector<HostTensor> inputs{HostTensor::from(CAGR_DTYPE_I64, {5}, std::vector<int64_t>{1, 2, 3, 9, 0}),
                                         HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(offsets.size())}, offsets)};
    CostHintPlacement policy;
    Executor exec(graph, cpu, {inputs[0].dims, inputs[1].dims}, policy);
    EXPECT_LT(max_relative_error(exec.run(inputs)[0], testing::run_reference(graph, inputs)[0]), 1e-6);
  };
  run({0, 2, 2, 4});  // an empty bag among them
  try {
    run({1, 2, 4});
    ADD_FAILURE() << "offsets not starting at 0 were accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("table_offsets: offset 1 at position 0"), std::string::npos) << e.what();
  }
}

TEST(OnnxImport, ModelXmlStillLoadsThroughTheSameEntry) {
  EXPECT_NE(load_error(kFixtures + "/missing_model.xml").find("missing_model.xml"), std::string::npos);
}

}  // namespace
}  // namespace cagr

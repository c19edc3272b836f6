// Shape inference and graph checks: shapes per OPS.md, unknown dims, and errors that name the node.
#include <gtest/gtest.h>

#include <cmath>

#include "graph_builder.hpp"
#include "shape_inference.hpp"

namespace cagr {
namespace {

Node node(const std::string& name, const std::string& op, std::map<std::string, AttrValue> attrs = {}) {
  Node n;
  n.name = name;
  n.op = op;
  n.attrs = std::move(attrs);
  return n;
}

std::vector<std::byte> zeros(size_t floats) { return std::vector<std::byte>(floats * 4); }

// The message infer_shapes throws for `g` at `dims` ("" when none).
std::string inference_error(const Graph& g, const std::vector<Dims>& dims) {
  try {
    infer_shapes(g, dims);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ShapeInference, DlrmLikeGraphWithUnknownBatch) {
  Graph g;
  g.add_input("dense", CAGR_DTYPE_F32, {kDynamic, 3});
  g.add_input("idx", CAGR_DTYPE_I64, {kDynamic});
  g.add_input("off", CAGR_DTYPE_I32, {kDynamic});
  g.add_constant("w", CAGR_DTYPE_F32, {5, 3}, zeros(15));
  g.add_constant("t0", CAGR_DTYPE_F32, {10, 5}, zeros(50));
  g.add_constant("t1", CAGR_DTYPE_F32, {7, 5}, zeros(35));
  g.add_node(node("fc", "linear", {{"activation", std::string("relu")}}), {"dense", "w"}, {"h"});
  g.add_node(node("emb", "embedding_bag"), {"idx", "off", "t0", "t1"}, {"e"});
  g.add_node(node("r", "reshape", {{"shape", std::vector<int64_t>{0, 1, 5}}}), {"h"}, {"h3"});
  g.add_node(node("cat", "concat", {{"axis", int64_t{1}}}), {"h3", "e"}, {"f"});
  g.add_node(node("dot", "dot_interaction"), {"f"}, {"d"});
  g.add_node(node("top", "top_k", {{"k", int64_t{2}}}), {"d"}, {"v", "i"});
  g.mark_output("v");

  const auto unknown = infer_shapes(g, {{kDynamic, 3}, {kDynamic}, {kDynamic}});
  EXPECT_EQ(unknown[static_cast<size_t>(g.tensor_id("f"))].dims, (Dims{kDynamic, 3, 5}));
  EXPECT_EQ(unknown[static_cast<size_t>(g.tensor_id("d"))].dims, (Dims{kDynamic, 3}));

  const auto known = infer_shapes(g, {{4, 3}, {8}, {9}});
  EXPECT_EQ(known[static_cast<size_t>(g.tensor_id("e"))].dims, (Dims{4, 2, 5}));
  EXPECT_EQ(known[static_cast<size_t>(g.tensor_id("f"))].dims, (Dims{4, 3, 5}));
  EXPECT_EQ(known[static_cast<size_t>(g.tensor_id("i"))].dtype, CAGR_DTYPE_I64);
  EXPECT_EQ(known[static_cast<size_t>(g.tensor_id("v"))].dims, (Dims{4, 2}));
}

TEST(ShapeInference, OffsetsThatDoNotFitTheTablesAreRejected) {
  Graph g;
  g.add_input("idx", CAGR_DTYPE_I64, {kDynamic});
  g.add_input("off", CAGR_DTYPE_I64, {kDynamic});
  g.add_constant("t0", CAGR_DTYPE_F32, {10, 4}, zeros(40));
  g.add_constant("t1", CAGR_DTYPE_F32, {10, 4}, zeros(40));
  g.add_node(node("emb", "embedding_bag"), {"idx", "off", "t0", "t1"}, {"e"});
  g.mark_output("e");
  try {
    infer_shapes(g, {{5}, {6}});  // 6 - 1 = 5 is not a multiple of 2 tables
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("node 'emb' (embedding_bag)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("offsets has 6 entries"), std::string::npos) << e.what();
  }
}

// Per-sample weights and padding rows follow the tables and are not tables themselves.
// u8 row-wise tables are [R, D + 8] (OPS.md): the pooled D is 8 less; fewer than 8 columns is an error.
TEST(ShapeInference, U8TablesPoolTheirCodesOnly) {
  for (const int64_t columns : {int64_t{24}, int64_t{7}}) {
    Graph g;
    g.add_input("idx", CAGR_DTYPE_I64, {kDynamic});
    g.add_input("off", CAGR_DTYPE_I64, {kDynamic});
    g.add_constant("t0", CAGR_DTYPE_U8, {10, columns}, std::vector<std::byte>(static_cast<size_t>(10 * columns)));
    g.add_node(node("emb", "embedding_bag"), {"idx", "off", "t0"}, {"e"});
    g.mark_output("e");
    if (columns == 24) {
      EXPECT_EQ(infer_shapes(g, {{6}, {4}})[static_cast<size_t>(g.tensor_id("e"))].dims, (Dims{3, 1, 16}));
    } else {
      EXPECT_NE(inference_error(g, {{6}, {4}}).find("a u8 table is [R, D + 8] (D codes, f32 scale, f32 bias), has 7 columns"),
                std::string::npos)
          << inference_error(g, {{6}, {4}});
    }
  }
}

TEST(ShapeInference, WeightedAndPaddedBagsPoolTheirTablesOnly) {
  auto graph = [](int64_t padding_count, const std::string& mode) {
    Graph g;
    g.add_input("idx", CAGR_DTYPE_I64, {kDynamic});
    g.add_input("off", CAGR_DTYPE_I64, {kDynamic});
    g.add_input("w", CAGR_DTYPE_F32, {kDynamic});
    g.add_constant("t0", CAGR_DTYPE_F32, {10, 4}, zeros(40));
    g.add_constant("t1", CAGR_DTYPE_F32, {7, 4}, zeros(28));
    g.add_constant("pad", CAGR_DTYPE_I64, {padding_count}, zeros(2 * static_cast<size_t>(padding_count)));
    g.add_node(node("emb", "embedding_bag", {{"mode", mode}, {"weighted", int64_t{1}}, {"padded", int64_t{1}}}),
               {"idx", "off", "t0", "t1", "w", "pad"}, {"e"});
    g.mark_output("e");
    return g;
  };
  const Graph good = graph(2, "sum");
  EXPECT_EQ(infer_shapes(good, {{9}, {7}, {9}})[static_cast<size_t>(good.tensor_id("e"))].dims, (Dims{3, 2, 4}));
  EXPECT_NE(inference_error(good, {{9}, {7}, {8}}).find("per-sample weights and indices differ in length"), std::string::npos);
  EXPECT_NE(inference_error(graph(3, "sum"), {{9}, {7}, {9}}).find("padding rows and tables differ"), std::string::npos);
  EXPECT_NE(inference_error(graph(2, "mean"), {{9}, {7}, {9}}).find("need mode 'sum'"), std::string::npos);
}

// dlrm_embedding_interaction: dlrm_interaction's output for the pooled embeddings of its lookup.
TEST(ShapeInference, DlrmEmbeddingInteractionIsTheInteractionOfItsLookup) {
  auto graph = [](int64_t table_dim, int64_t pad_to) {
    Graph g;
    g.add_input("dense", CAGR_DTYPE_F32, {kDynamic, 4});
    g.add_input("idx", CAGR_DTYPE_I32, {kDynamic});
    g.add_input("off", CAGR_DTYPE_I64, {kDynamic});
    g.add_constant("t0", CAGR_DTYPE_F32, {10, 4}, zeros(40));
    g.add_constant("t1", CAGR_DTYPE_F32, {7, table_dim}, zeros(static_cast<size_t>(7 * table_dim)));
    g.add_node(node("fused", "dlrm_embedding_interaction", {{"pad_to", pad_to}}), {"dense", "idx", "off", "t0", "t1"},
               {"y"});
    g.mark_output("y");
    return g;
  };
  const Graph g = graph(4, 1);
  // 3 features: D + 3 dots, for an unknown and a known batch; offsets [T*B + 1].
  EXPECT_EQ(infer_shapes(g, {{kDynamic, 4}, {kDynamic}, {kDynamic}})[static_cast<size_t>(g.tensor_id("y"))].dims,
            (Dims{kDynamic, 7}));
  EXPECT_EQ(infer_shapes(g, {{5, 4}, {12}, {11}})[static_cast<size_t>(g.tensor_id("y"))].dims, (Dims{5, 7}));
  const Graph padded = graph(4, 4);
  EXPECT_EQ(infer_shapes(padded, {{5, 4}, {12}, {11}})[static_cast<size_t>(padded.tensor_id("y"))].dims, (Dims{5, 8}));

  EXPECT_NE(inference_error(g, {{6, 4}, {12}, {11}}).find("bags per table (B) differ: 6 vs 5"), std::string::npos);
  EXPECT_NE(inference_error(g, {{5, 4}, {12}, {10}}).find("offsets has 10 entries"), std::string::npos);
  EXPECT_NE(inference_error(graph(3, 1), {{5, 4}, {12}, {11}}).find("tables differ in embedding dimension"), std::string::npos);
}

// mlp: [M, N of the last layer]; each layer's K is the previous layer's N, one activation per layer.
TEST(ShapeInference, MlpOutputIsItsLastLayersWidth) {
  auto graph = [](int64_t k1, const std::string& activations) {
    Graph g;
    g.add_input("x", CAGR_DTYPE_F32, {kDynamic, 6});
    g.add_constant("w0", CAGR_DTYPE_F32, {9, 6}, zeros(54));
    g.add_constant("b0", CAGR_DTYPE_F32, {9}, zeros(9));
    g.add_constant("w1", CAGR_DTYPE_F32, {4, k1}, zeros(static_cast<size_t>(4 * k1)));
    g.add_constant("b1", CAGR_DTYPE_F32, {4}, zeros(4));
    g.add_node(node("mlp", "mlp", {{"activations", activations}}), {"x", "w0", "b0", "w1", "b1"}, {"y"});
    g.mark_output("y");
    return g;
  };
  const Graph g = graph(9, "relu,sigmoid");
  const size_t y = static_cast<size_t>(g.tensor_id("y"));
  EXPECT_EQ(infer_shapes(g, {{kDynamic, 6}})[y].dims, (Dims{kDynamic, 4}));
  EXPECT_EQ(infer_shapes(g, {{37, 6}})[y].dims, (Dims{37, 4}));
  EXPECT_NE(inference_error(graph(8, "relu,sigmoid"), {{37, 6}})
                .find("node 'mlp' (mlp): input 'w1': its columns (K) and the previous layer's width differ: 9 vs 8"),
            std::string::npos);
  EXPECT_NE(inference_error(graph(9, "relu"), {{37, 6}}).find("attribute 'activations' names 1 activations for 2 layers"),
            std::string::npos);
  EXPECT_NE(inference_error(graph(9, "relu,tanh"), {{37, 6}}).find("is 'tanh'"), std::string::npos);
}

TEST(ShapeInference, MismatchedLinearNamesNodeAndSizes) {
  Graph g;
  g.add_input("x", CAGR_DTYPE_F32, {kDynamic, 4});
  g.add_constant("w", CAGR_DTYPE_F32, {2, 5}, zeros(10));
  Node n = node("fc1", "linear");
  n.source_line = 42;
  g.add_node(std::move(n), {"x", "w"}, {"y"});
  g.mark_output("y");
  try {
    infer_and_annotate(g);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("node 'fc1' (linear, model.xml line 42)"), std::string::npos) << m;
    EXPECT_NE(m.find("4 vs 5"), std::string::npos) << m;
  }
}

TEST(ShapeInference, UnknownOpAndBadAttributes) {
  Graph g;
  g.add_input("x", CAGR_DTYPE_F32, {2, 4});
  g.add_node(node("a", "no_such_op"), {"x"}, {"y"});
  g.mark_output("y");
  EXPECT_THROW(infer_and_annotate(g), std::invalid_argument);

  Graph h;
  h.add_input("x", CAGR_DTYPE_F32, {2, 4});
  h.add_node(node("k", "top_k", {{"k", int64_t{5}}}), {"x"}, {"v", "i"});
  h.mark_output("v");
  EXPECT_THROW(infer_and_annotate(h), std::invalid_argument);  // k > row length
}

TEST(ShapeInference, ReshapeReduceGatherAndBroadcast) {
  Graph g;
  g.add_input("x", CAGR_DTYPE_F32, {6, 4});
  g.add_input("ids", CAGR_DTYPE_I32, {3, 2});
  g.add_constant("row", CAGR_DTYPE_F32, {4}, zeros(4));
  g.add_node(node("r", "reshape", {{"shape", std::vector<int64_t>{-1, 2, 4}}}), {"x"}, {"r3"});
  g.add_node(node("s", "reduce_sum", {{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t{0}}}), {"r3"}, {"s2"});
  g.add_node(node("gth", "gather"), {"x", "ids"}, {"g"});
  g.add_node(node("add", "add"), {"x", "row"}, {"a"});
  g.add_node(node("fm", "fm_interaction"), {"r3"}, {"fmo"});
  g.mark_output("s2");
  const auto s = infer_shapes(g, {{6, 4}, {3, 2}});
  EXPECT_EQ(s[static_cast<size_t>(g.tensor_id("r3"))].dims, (Dims{3, 2, 4}));
  EXPECT_EQ(s[static_cast<size_t>(g.tensor_id("s2"))].dims, (Dims{3, 2}));
  EXPECT_EQ(s[static_cast<size_t>(g.tensor_id("g"))].dims, (Dims{3, 2, 4}));
  EXPECT_EQ(s[static_cast<size_t>(g.tensor_id("a"))].dims, (Dims{6, 4}));
  EXPECT_EQ(s[static_cast<size_t>(g.tensor_id("fmo"))].dims, (Dims{3, 1}));
}

TEST(Graph, CyclesDuplicatesAndDanglingNamesAreErrors) {
  Graph g;
  g.add_input("x", CAGR_DTYPE_F32, {2});
  EXPECT_THROW(g.add_input("x", CAGR_DTYPE_F32, {2}), std::invalid_argument);
  EXPECT_THROW(g.add_node(node("n", "relu"), {"nope"}, {"y"}), std::out_of_range);
  EXPECT_THROW(g.add_constant("c", CAGR_DTYPE_F32, {3}, zeros(2)), std::invalid_argument);
}

TEST(GraphBuilder, WeightsAreDeterministicBySeed) {
  auto make = [](uint64_t seed) {
    GraphBuilder b("m", seed);
    b.input("x", CAGR_DTYPE_F32, {kDynamic, 3});
    b.output(b.linear("fc", "x", 3, 2, "none"));
    return b.finish();
  };
  const Graph a = make(7), b = make(7), c = make(8);
  const auto& wa = *a.tensor(a.tensor_id("fc.weight")).data;
  EXPECT_EQ(wa, *b.tensor(b.tensor_id("fc.weight")).data);
  EXPECT_NE(wa, *c.tensor(c.tensor_id("fc.weight")).data);
  const float* w = reinterpret_cast<const float*>(wa.data());
  for (int i = 0; i < 6; ++i) EXPECT_LT(std::abs(w[i]), 1.0f / std::sqrt(3.0f));
}

}  // namespace
}  // namespace cagr

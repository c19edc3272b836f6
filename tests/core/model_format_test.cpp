// model.xml + model.bin: a round trip keeps everything, and each kind of malformed file gives an
// error naming the file, line and element.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph_builder.hpp"
#include "model_format.hpp"
#include "op_attributes.hpp"
#include "op_contract.hpp"
#include "random_damage.hpp"

namespace cagr {
namespace {

class ModelFormat : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cagr_model_test_" + std::to_string(::getpid()) + "_" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& xml, size_t bin_bytes = 0) {
    std::ofstream(dir_ / "model.xml") << xml;
    std::ofstream bin(dir_ / "model.bin", std::ios::binary);
    const std::vector<char> zeros(bin_bytes, 0);
    bin.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    return (dir_ / "model.xml").string();
  }

  // Loads `xml` and returns the error message (fails the test if loading succeeds).
  std::string error_of(const std::string& xml, size_t bin_bytes = 64) {
    const std::string path = write(xml, bin_bytes);
    try {
      load_model(path);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "loading succeeded:\n" << xml;
    return "";
  }

  std::filesystem::path dir_;
};

TEST_F(ModelFormat, RoundTripKeepsGraphAndWeights) {
  GraphBuilder b("rt", 3);
  b.input("x", CAGR_DTYPE_F32, {kDynamic, 5});
  b.input("idx", CAGR_DTYPE_I64, {kDynamic});
  b.input("off", CAGR_DTYPE_I64, {kDynamic});
  const std::string h = b.mlp("mlp", "x", {5, 7, 4}, "sigmoid");
  const std::string e = b.embedding_bag("emb", "idx", "off", {11, 3}, 4, "mean");
  const std::string h3 = b.op("h3", "reshape", {h}, {{"shape", std::vector<int64_t>{0, 1, 4}}});
  const std::string f = b.op("cat", "concat", {h3, e}, {{"axis", int64_t{1}}});
  b.output(b.op("fm", "fm_interaction", {f}));
  const Graph original = b.finish();
  const std::string path = (dir_ / "model.xml").string();
  save_model(original, path);
  const Graph loaded = load_model(path);

  ASSERT_EQ(loaded.nodes().size(), original.nodes().size());
  ASSERT_EQ(loaded.num_tensors(), original.num_tensors());
  for (size_t n = 0; n < original.nodes().size(); ++n) {
    EXPECT_EQ(loaded.nodes()[n].op, original.nodes()[n].op);
    EXPECT_EQ(loaded.nodes()[n].attrs, original.nodes()[n].attrs);
  }
  for (size_t t = 0; t < original.num_tensors(); ++t) {
    const TensorInfo& a = original.tensor(static_cast<int>(t));
    const TensorInfo& l = loaded.tensor(loaded.tensor_id(a.name));
    EXPECT_EQ(l.dims, a.dims) << a.name;
    EXPECT_EQ(l.dtype, a.dtype) << a.name;
    if (a.is_constant()) {
      ASSERT_TRUE(l.is_constant());
      EXPECT_EQ(*l.data, *a.data) << a.name;
    }
  }
  EXPECT_EQ(loaded.tensor(loaded.outputs().at(0)).name, "fm");
}

TEST_F(ModelFormat, NotXmlNamesTheLine) {
  const std::string m = error_of("<model name='x'>\n<input name='a' dtype='f32' shape='2'\n</model>");
  EXPECT_NE(m.find("model.xml:"), std::string::npos) << m;
}

TEST_F(ModelFormat, UnknownElement) {
  const std::string m = error_of("<model>\n<input name='a' dtype='f32' shape='2'/>\n<layer name='b'/>\n<output name='a'/>\n</model>");
  EXPECT_NE(m.find("model.xml:3: <layer>: unknown element"), std::string::npos) << m;
}

TEST_F(ModelFormat, MissingAttribute) {
  const std::string m = error_of("<model>\n<input name='a' shape='2'/>\n</model>");
  EXPECT_NE(m.find("model.xml:2: <input>: missing attribute 'dtype'"), std::string::npos) << m;
}

TEST_F(ModelFormat, BadDtypeAndShape) {
  EXPECT_NE(error_of("<model>\n<input name='a' dtype='f33' shape='2'/>\n</model>").find("unknown dtype 'f33'"), std::string::npos);
  EXPECT_NE(error_of("<model>\n<input name='a' dtype='f32' shape='2,x'/>\n</model>").find("bad dimension 'x'"), std::string::npos);
}

TEST_F(ModelFormat, ConstantBeyondTheWeightsFile) {
  const std::string m = error_of(
      "<model weights='model.bin'>\n<constant name='w' dtype='f32' shape='4,4' offset='0'/>\n</model>", 32);
  EXPECT_NE(m.find("model.xml:2: <constant>"), std::string::npos) << m;
  EXPECT_NE(m.find("beyond the end of the weights file (32 bytes)"), std::string::npos) << m;
}

TEST_F(ModelFormat, ReferenceToAnUndefinedTensor) {
  const std::string m = error_of(
      "<model>\n<input name='x' dtype='f32' shape='?,2'/>\n<node name='r' op='relu' inputs='y' outputs='z'/>\n<output name='z'/>\n</model>");
  EXPECT_NE(m.find("model.xml:3: <node>: no tensor named 'y'"), std::string::npos) << m;
}

TEST_F(ModelFormat, ShapeErrorNamesNodeAndLine) {
  const std::string m = error_of(
      "<model weights='model.bin'>\n<input name='x' dtype='f32' shape='?,3'/>\n"
      "<constant name='w' dtype='f32' shape='2,4' offset='0'/>\n"
      "<node name='fc' op='linear' inputs='x,w' outputs='y'/>\n<output name='y'/>\n</model>");
  EXPECT_NE(m.find("node 'fc' (linear, model.xml line 4)"), std::string::npos) << m;
}

TEST_F(ModelFormat, UnknownOpAndNoOutput) {
  EXPECT_NE(error_of("<model>\n<input name='x' dtype='f32' shape='2'/>\n<node name='s' op='no_such_op' inputs='x' outputs='y'/>\n"
                     "<output name='y'/>\n</model>")
                .find("unknown op 'no_such_op'"),
            std::string::npos);
  EXPECT_NE(error_of("<model>\n<input name='x' dtype='f32' shape='2'/>\n</model>").find("has no <output>"), std::string::npos);
}

TEST_F(ModelFormat, NewerFormatVersionIsRefused) {
  const std::string m = error_of("<model format_version='9'>\n</model>");
  EXPECT_NE(m.find("format_version 9 is newer"), std::string::npos) << m;
}

// Strict files (issue 23): what a reader that ignores the unexpected would silently get wrong.
TEST_F(ModelFormat, MisspeltOpAttributeIsRefusedNotIgnored) {
  const std::string m = error_of(
      "<model weights='model.bin'>\n<input name='x' dtype='f32' shape='?,2'/>\n"
      "<constant name='w' dtype='f32' shape='2,2' offset='0'/>\n"
      "<node name='fc' op='linear' inputs='x,w' outputs='y'>\n  <attr name='activaton' string='relu'/>\n</node>\n"
      "<output name='y'/>\n</model>");
  EXPECT_NE(m.find("model.xml:5: <attr>: op linear has no attribute 'activaton' (it takes activation)"), std::string::npos) << m;
}

TEST_F(ModelFormat, UnknownXmlAttributeIsRefused) {
  const std::string m = error_of(
      "<model>\n<input name='x' dtype='f32' shape='?,2'/>\n"
      "<node name='r' op='relu' inputs='x' outputs='y' activaton='relu'/>\n<output name='y'/>\n</model>");
  EXPECT_NE(m.find("model.xml:3: <node>: unknown attribute 'activaton' (expected name, op, inputs, outputs)"), std::string::npos) << m;
  EXPECT_NE(error_of("<model nmae='x'>\n</model>").find("model.xml:1: <model>: unknown attribute 'nmae'"), std::string::npos);
}

TEST_F(ModelFormat, StrayTextAndChildElementsAreRefused) {
  EXPECT_NE(error_of("<model>\n<input name='x' dtype='f32' shape='2'/>\nzz\n<output name='x'/>\n</model>").find("unexpected text 'zz'"),
            std::string::npos);
  EXPECT_NE(error_of("<model>\n<input name='x' dtype='f32' shape='2'>\n<attr name='a' int='1'/></input>\n<output name='x'/>\n</model>")
                .find("model.xml:3: <attr>: unexpected element inside <input>"),
            std::string::npos);
}

TEST_F(ModelFormat, TrailingGarbageInNumbersIsRefused) {
  const std::string m = error_of(
      "<model weights='model.bin'>\n<constant name='w' dtype='f32' shape='2' offset='0x'/>\n"
      "<output name='w'/>\n</model>");
  EXPECT_NE(m.find("model.xml:2: <constant>: attribute 'offset' = '0x': expected a non-negative decimal integer"), std::string::npos) << m;
  EXPECT_NE(error_of("<model format_version='1x'>\n</model>").find("attribute 'format_version' = '1x'"), std::string::npos);
  EXPECT_NE(error_of("<model>\n<input name='x' dtype='f32' shape='?,2'/>\n<node name='c' op='concat' inputs='x,x' outputs='y'>"
                     "<attr name='axis' int='1,0'/></node>\n<output name='y'/>\n</model>")
                .find("int= takes one number, got 2"),
            std::string::npos);
  EXPECT_NE(error_of("<model>\n<input name='x' dtype='f32' shape='?,2'/>\n<node name='c' op='concat' inputs='x,x' outputs='y'>"
                     "<attr name='axis' int='1' float='1'/></node>\n<output name='y'/>\n</model>")
                .find("exactly one of int="),
            std::string::npos);
}

// A shape whose byte count overflows 64 bits must not wrap around to a size the file holds (here
// 2^32 x 2^32 f32 wraps to 0 bytes).
TEST_F(ModelFormat, ConstantTooLargeToCountIsRefused) {
  const std::string m = error_of(
      "<model weights='model.bin'>\n<constant name='w' dtype='f32' shape='4294967296,4294967296' offset='0'/>\n"
      "<output name='w'/>\n</model>");
  EXPECT_NE(m.find("model.xml:2: <constant>: shape [4294967296,4294967296] holds more than 2^63 bytes"), std::string::npos) << m;
}

// The writer records each constant's CRC-32 and the weights file's size; the reader checks both
// and names the constant, its bytes and both checksums.
TEST_F(ModelFormat, DamagedWeightsFailTheirChecksum) {
  GraphBuilder b("ck", 3);
  b.input("x", CAGR_DTYPE_F32, {kDynamic, 5});
  b.output(b.mlp("mlp", "x", {5, 7, 4}, "relu"));
  const std::string path = (dir_ / "model.xml").string();
  save_model(b.finish(), path);
  const std::string xml = testing::slurp(path);
  EXPECT_NE(xml.find("checksum=\"crc32:"), std::string::npos) << xml;
  EXPECT_NE(xml.find("weights_bytes="), std::string::npos) << xml;
  std::string bin = testing::slurp(dir_ / "model.bin");

  std::string flipped = bin;
  flipped[3] = static_cast<char>(flipped[3] ^ 0x10);  // inside the first constant
  testing::spit(dir_ / "model.bin", flipped);
  try {
    load_model(path);
    ADD_FAILURE() << "a flipped weight bit loaded";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model.xml:3: <constant>: constant 'mlp.0.weight': bytes 0..140 of model.bin have checksum crc32:"),
              std::string::npos) << m;
    EXPECT_NE(m.find(", expected crc32:"), std::string::npos) << m;
  }

  testing::spit(dir_ / "model.bin", bin + "x");
  try {
    load_model(path);
    ADD_FAILURE() << "an extended weights file loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("model.bin has " + std::to_string(bin.size() + 1) + " bytes, expected " +
                                         std::to_string(bin.size()) + " (weights_bytes)"),
              std::string::npos) << e.what();
  }
}

// Files written before checksums (no checksum=, no weights_bytes=) still load.
TEST_F(ModelFormat, FilesWithoutChecksumsStillLoad) {
  const std::string path = write(
      "<model weights='model.bin' format_version='1'>\n<input name='x' dtype='f32' shape='?,2'/>\n"
      "<constant name='w' dtype='f32' shape='3,2' offset='0'/>\n"
      "<node name='fc' op='linear' inputs='x,w' outputs='y'><attr name='activation' string='relu'/></node>\n"
      "<output name='y'/>\n</model>",
      64);
  const Graph g = load_model(path);
  EXPECT_EQ(g.nodes().size(), 1u);
}

// Every op of OPS.md has its attribute list, so no model using an op is refused for lack of one.
TEST(OpAttributes, EveryOpOfTheOperatorSetHasItsList) {
  for (const std::string& op : contract::op_types()) EXPECT_NE(attributes_of_op(op), nullptr) << op;
  EXPECT_EQ(attributes_of_op("no_such_op"), nullptr);
}

}  // namespace
}  // namespace cagr

// model.xml + model.bin: a round trip keeps everything, and each kind of malformed file gives an
// error naming the file, line and element.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph_builder.hpp"
#include "model_format.hpp"

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

}  // namespace
}  // namespace cagr

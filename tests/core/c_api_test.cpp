// The C API as an application uses it, including its error paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "cagr.h"
#include "model_format.hpp"
#include "model_zoo.hpp"

namespace {

std::string sample_model_path() {
  static const std::string path = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("cagr_c_api_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string p = (dir / "model.xml").string();
    cagr::save_model(cagr::zoo::find_model("dlrm_avazu_sample").build(5), p);
    return p;
  }();
  return path;
}

cagr_runtime* cpu_runtime() {
  static const std::string plugin = std::string(CAGR_TEST_PLUGIN_DIR) + "/libcagr_cpu.so";
  cagr_runtime_options o{};
  o.struct_size = sizeof o;
  o.plugins = plugin.c_str();
  o.probe_in_child = 0;
  cagr_runtime* rt = nullptr;
  EXPECT_EQ(cagr_runtime_create(&o, &rt), CAGR_API_OK) << cagr_last_error();
  return rt;
}

// A batch of the sample DLRM's inputs (2 dense features, 22 bags of one id per sample) that owns
// its data, as the cagr_tensor array cagr_session_run takes.
class SampleBatch {
 public:
  explicit SampleBatch(int64_t batch) : dims_{batch, 2, batch * kTables, batch * kTables + 1} {
    for (int64_t i = 0; i < batch * 2; ++i) dense_.push_back(0.1f * static_cast<float>(i % 7 + 1));
    offsets_.push_back(0);
    for (int64_t i = 0; i < batch * kTables; ++i) {
      indices_.push_back(i % 5);
      offsets_.push_back(i + 1);
    }
    tensors_[0] = {sizeof(cagr_tensor), "dense", CAGR_F32, 2, &dims_[0], dense_.data()};
    tensors_[1] = {sizeof(cagr_tensor), "indices", CAGR_I64, 1, &dims_[2], indices_.data()};
    tensors_[2] = {sizeof(cagr_tensor), "offsets", CAGR_I64, 1, &dims_[3], offsets_.data()};
  }
  SampleBatch(const SampleBatch&) = delete;  // the tensors point into this object
  SampleBatch& operator=(const SampleBatch&) = delete;
  const cagr_tensor* tensors() const { return tensors_; }

 private:
  static constexpr int64_t kTables = 22;
  int64_t dims_[4];
  std::vector<float> dense_;
  std::vector<int64_t> indices_, offsets_;
  cagr_tensor tensors_[3];
};

// A saved plan's text.
std::string text_of(const std::string& path) {
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// The error of a session `options` must refuse: INVALID_ARGUMENT, and cagr_last_error()'s text.
std::string refusal_of(cagr_model* model, const cagr_session_options& options) {
  cagr_session* s = nullptr;
  EXPECT_EQ(cagr_session_create(model, &options, &s), CAGR_API_INVALID_ARGUMENT);
  if (s != nullptr) cagr_session_destroy(s);
  return cagr_last_error();
}

// The sample DLRM's probabilities from a session made with `options` over `inputs` (a
// SampleBatch's); with `save_plan_to`, the session's plan is saved there too. Failures are test failures.
std::vector<float> predict(cagr_model* model, const cagr_session_options& options, const cagr_tensor* inputs,
                           const char* save_plan_to) {
  cagr_session* s = nullptr;
  std::vector<float> values;
  EXPECT_EQ(cagr_session_create(model, &options, &s), CAGR_API_OK) << cagr_last_error();
  if (s == nullptr) return values;
  EXPECT_EQ(cagr_session_run(s, 3, inputs), CAGR_API_OK) << cagr_last_error();
  cagr_tensor out{};
  out.struct_size = sizeof out;
  EXPECT_EQ(cagr_session_output(s, "prob", &out), CAGR_API_OK) << cagr_last_error();
  values.assign(static_cast<const float*>(out.data), static_cast<const float*>(out.data) + out.dims[0]);
  if (save_plan_to != nullptr) {
    EXPECT_EQ(cagr_session_save_plan(s, save_plan_to), CAGR_API_OK) << cagr_last_error();
  }
  EXPECT_STREQ(cagr_session_plan_warnings(s), "");
  cagr_session_destroy(s);
  return values;
}

TEST(CApi, LoadRunAndReadOutputs) {
  cagr_runtime* rt = cpu_runtime();
  ASSERT_NE(rt, nullptr);
  EXPECT_NE(std::string(cagr_runtime_describe(rt)).find("cpu"), std::string::npos);
  cagr_model* model = nullptr;
  ASSERT_EQ(cagr_model_load(rt, sample_model_path().c_str(), &model), CAGR_API_OK) << cagr_last_error();
  ASSERT_EQ(cagr_model_input_count(model), 3u);
  EXPECT_STREQ(cagr_model_output_name(model, 0), "prob");
  cagr_session* s = nullptr;
  ASSERT_EQ(cagr_session_create(model, nullptr, &s), CAGR_API_OK) << cagr_last_error();
  // The runtime and model may go before the session.
  cagr_model_destroy(model);
  cagr_runtime_destroy(rt);

  const int64_t batch = 2, tables = 22;
  std::vector<float> dense{0.1f, 0.2f, 0.1f, 0.2f};
  std::vector<int64_t> indices(static_cast<size_t>(batch * tables), 1), offsets;
  for (int64_t i = 0; i <= batch * tables; ++i) offsets.push_back(i);
  const int64_t dense_dims[] = {batch, 2}, idx_dims[] = {batch * tables}, off_dims[] = {batch * tables + 1};
  const cagr_tensor inputs[] = {
      {sizeof(cagr_tensor), "offsets", CAGR_I64, 1, off_dims, offsets.data()},
      {sizeof(cagr_tensor), "dense", CAGR_F32, 2, dense_dims, dense.data()},
      {sizeof(cagr_tensor), "indices", CAGR_I64, 1, idx_dims, indices.data()},
  };
  ASSERT_EQ(cagr_session_run(s, 3, inputs), CAGR_API_OK) << cagr_last_error();
  cagr_tensor out{};
  out.struct_size = sizeof out;
  ASSERT_EQ(cagr_session_output(s, "prob", &out), CAGR_API_OK) << cagr_last_error();
  ASSERT_EQ(out.rank, 2);
  EXPECT_EQ(out.dims[0], batch);
  const float* p = static_cast<const float*>(out.data);
  EXPECT_GT(p[0], 0.0f);
  EXPECT_LT(p[0], 1.0f);
  EXPECT_FLOAT_EQ(p[0], p[1]) << "identical rows give identical predictions";
  EXPECT_NE(std::string(cagr_session_plan(s)).find("dlrm_interaction"), std::string::npos) << "the interaction chain, fused";

  EXPECT_EQ(cagr_session_output(s, "nope", &out), CAGR_API_INVALID_ARGUMENT);
  EXPECT_NE(std::string(cagr_last_error()).find("no output named 'nope'"), std::string::npos);
  EXPECT_EQ(cagr_session_run(s, 2, inputs), CAGR_API_INVALID_ARGUMENT);
  EXPECT_NE(std::string(cagr_last_error()).find("input 'indices' not given"), std::string::npos) << cagr_last_error();
  indices[3] = -5;
  EXPECT_EQ(cagr_session_run(s, 3, inputs), CAGR_API_INVALID_ARGUMENT);
  EXPECT_NE(std::string(cagr_last_error()).find("-5"), std::string::npos) << cagr_last_error();
  cagr_session_destroy(s);
}

// A session saves its plan; another session made with plan_path follows it and predicts the same;
// a missing plan file is a clear error.
TEST(CApi, SessionsSaveAndLoadPlans) {
  cagr_runtime* rt = cpu_runtime();
  ASSERT_NE(rt, nullptr);
  cagr_model* model = nullptr;
  ASSERT_EQ(cagr_model_load(rt, sample_model_path().c_str(), &model), CAGR_API_OK) << cagr_last_error();
  const SampleBatch batch(3);
  const cagr_tensor* inputs = batch.tensors();
  const std::string plan = ::testing::TempDir() + "/c_api.plan.xml";
  auto predict_with = [&](const char* plan_path, const char* save_to, const char* optimizer = nullptr) {
    cagr_session_options so{};
    so.struct_size = sizeof so;
    so.plan_path = plan_path;
    so.optimizer = optimizer;
    return predict(model, so, inputs, save_to);
  };
  const std::vector<float> first = predict_with(nullptr, plan.c_str());
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(predict_with(plan.c_str(), nullptr), first);
  cagr_session_options so{};
  so.struct_size = sizeof so;
  so.plan_path = "/nonexistent/plan.xml";
  EXPECT_NE(refusal_of(model, so).find("no such plan file"), std::string::npos) << cagr_last_error();

  // Every optimizer decides a plan that predicts the same, and the saved plan says which decided it.
  for (const char* mode : {"none", "hints", "policy", "tune"}) {
    SCOPED_TRACE(mode);
    const std::vector<float> got = predict_with(nullptr, plan.c_str(), mode);
    ASSERT_EQ(got.size(), first.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], first[i], 1e-5 * std::max(1.0f, std::abs(first[i])));
    const std::string text = text_of(plan);
    EXPECT_NE(text.find("decided_by=\"" + std::string(mode) + "\""), std::string::npos) << text.substr(0, 200);
  }
  so.plan_path = nullptr;
  so.optimizer = "fastest";
  EXPECT_NE(refusal_of(model, so).find("the optimizers are none"), std::string::npos) << cagr_last_error();
  so.optimizer = "policy";
  so.policy_path = "/nonexistent/policy.xml";
  EXPECT_NE(refusal_of(model, so).find("no such policy file"), std::string::npos) << cagr_last_error();
  cagr_model_destroy(model);
  cagr_runtime_destroy(rt);
}

// cagr_session_options.math_precision: a bf16 (int8) session predicts what an f32 one does to
// bf16's (int8's) precision, its saved plan keeps the allowance, and an unknown precision is
// refused by name.
TEST(CApi, MathPrecisionIsASessionOption) {
  cagr_runtime* rt = cpu_runtime();
  cagr_model* model = nullptr;
  ASSERT_EQ(cagr_model_load(rt, sample_model_path().c_str(), &model), CAGR_API_OK) << cagr_last_error();
  const SampleBatch batch(5);
  const cagr_tensor* inputs = batch.tensors();
  const std::string plan = ::testing::TempDir() + "/c_api_bf16.plan.xml";
  auto predict_in = [&](const char* precision) {
    cagr_session_options so{};
    so.struct_size = sizeof so;
    so.optimizer = "tune";
    so.math_precision = precision;
    return predict(model, so, inputs, plan.c_str());
  };
  const std::vector<float> f32 = predict_in(nullptr);
  const std::vector<float> bf16 = predict_in("bf16");
  ASSERT_EQ(bf16.size(), f32.size());
  for (size_t i = 0; i < f32.size(); ++i) EXPECT_NEAR(bf16[i], f32[i], 2e-2);
  const std::string text = text_of(plan);
  EXPECT_NE(text.find("math_precision=\"bf16\""), std::string::npos) << text.substr(0, 300);
  // int8 (ABI 1.3): the tuner may run the linears quantised; the probabilities within 1e-2.
  const std::vector<float> int8 = predict_in("int8");
  ASSERT_EQ(int8.size(), f32.size());
  for (size_t i = 0; i < f32.size(); ++i) EXPECT_NEAR(int8[i], f32[i], 1e-2);
  const std::string int8_text = text_of(plan);
  EXPECT_NE(int8_text.find("math_precision=\"int8\""), std::string::npos) << int8_text.substr(0, 300);

  cagr_session_options so{};
  so.struct_size = sizeof so;
  so.math_precision = "fp8";
  const std::string error = refusal_of(model, so);
  EXPECT_NE(error.find("math_precision is 'fp8': expected f32, tf32, bf16 or int8"), std::string::npos) << error;
  cagr_model_destroy(model);
  cagr_runtime_destroy(rt);
}

// Tables stored as u8 (cagr_session_options.table_precision): predictions within 1e-3 of f32's and
// not all equal to them, the choice saved in the plan; an unknown dtype refused naming the option.
TEST(CApi, TablePrecisionIsASessionOption) {
  cagr_runtime* rt = cpu_runtime();
  cagr_model* model = nullptr;
  ASSERT_EQ(cagr_model_load(rt, sample_model_path().c_str(), &model), CAGR_API_OK) << cagr_last_error();
  const SampleBatch batch(5);
  const std::string plan = ::testing::TempDir() + "/c_api_u8.plan.xml";
  auto predict_with = [&](const char* tables) {
    cagr_session_options so{};
    so.struct_size = sizeof so;
    so.table_precision = tables;
    return predict(model, so, batch.tensors(), plan.c_str());
  };
  const std::vector<float> f32 = predict_with(nullptr);
  const std::vector<float> u8 = predict_with("u8");
  ASSERT_EQ(u8.size(), f32.size());
  EXPECT_NE(u8, f32) << "u8 tables changed no prediction: were they converted?";
  for (size_t i = 0; i < f32.size(); ++i) EXPECT_NEAR(u8[i], f32[i], 1e-3);
  const std::string text = text_of(plan);
  EXPECT_NE(text.find("table_dtype=\"u8\""), std::string::npos) << text.substr(0, 300);

  cagr_session_options so{};
  so.struct_size = sizeof so;
  so.table_precision = "int4";
  const std::string error = refusal_of(model, so);
  EXPECT_NE(error.find("cagr_session_options.table_precision is 'int4': expected f32, f16, bf16 or u8"), std::string::npos) << error;
  cagr_model_destroy(model);
  cagr_runtime_destroy(rt);
}

// A session plans again when the batch moves to another range (cagr_session_options.fixed_plan):
// the plan the run used is made at a batch of its range (cagr_session_plan's shapes say which), a
// range met again reuses its plan, and every batch predicts what a session of its own does; with
// u8 tables the second plan reuses the first's converted tables without a warning. fixed_plan
// keeps the first plan for every batch.
TEST(CApi, SessionsPlanAgainPerBatchRange) {
  cagr_runtime* rt = cpu_runtime();
  cagr_model* model = nullptr;
  ASSERT_EQ(cagr_model_load(rt, sample_model_path().c_str(), &model), CAGR_API_OK) << cagr_last_error();
  for (const char* tables : {"f32", "u8"}) {
    for (const int fixed : {0, 1}) {
      SCOPED_TRACE(std::string(tables) + (fixed ? ", fixed plan" : ", a plan per range"));
      cagr_session_options so{};
      so.struct_size = sizeof so;
      so.table_precision = tables;
      so.fixed_plan = fixed;
      cagr_session* s = nullptr;
      ASSERT_EQ(cagr_session_create(model, &so, &s), CAGR_API_OK) << cagr_last_error();
      std::string first_plan;
      for (const int64_t rows : {1, 600, 3, 1, 700}) {
        SCOPED_TRACE("batch " + std::to_string(rows));
        const SampleBatch batch(rows);
        ASSERT_EQ(cagr_session_run(s, 3, batch.tensors()), CAGR_API_OK) << cagr_last_error();
        cagr_tensor out{};
        out.struct_size = sizeof out;
        ASSERT_EQ(cagr_session_output(s, "prob", &out), CAGR_API_OK) << cagr_last_error();
        const std::vector<float> got(static_cast<const float*>(out.data), static_cast<const float*>(out.data) + out.dims[0]);
        cagr_session_options own{};
        own.struct_size = sizeof own;
        own.table_precision = tables;
        const std::vector<float> want = predict(model, own, batch.tensors(), nullptr);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f);
        const std::string plan = cagr_session_plan(s);
        if (first_plan.empty()) first_plan = plan;
        // The plan table's output shapes are the compiled ones: batch 600's plan serves 700.
        const bool planned_at_600 = plan.find("[600,") != std::string::npos;
        EXPECT_EQ(planned_at_600, !fixed && rows >= 600) << plan;
        if (fixed || rows == 1) EXPECT_EQ(plan, first_plan);
        EXPECT_STREQ(cagr_session_plan_warnings(s), "");
      }
      cagr_session_destroy(s);
    }
  }
  cagr_model_destroy(model);
  cagr_runtime_destroy(rt);
}

TEST(CApi, ModelDescribesItsInputsAndOutputs) {
  cagr_runtime* rt = cpu_runtime();
  cagr_model* model = nullptr;
  ASSERT_EQ(cagr_model_load(rt, sample_model_path().c_str(), &model), CAGR_API_OK) << cagr_last_error();
  cagr_tensor info{};
  info.struct_size = sizeof info;
  ASSERT_EQ(cagr_model_input_info(model, 0, &info), CAGR_API_OK) << cagr_last_error();
  EXPECT_STREQ(info.name, cagr_model_input_name(model, 0));
  EXPECT_STREQ(info.name, "dense");
  EXPECT_EQ(info.dtype, CAGR_F32);
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.dims[0], -1) << "the batch is known only at run time";
  EXPECT_EQ(info.dims[1], 2);
  EXPECT_EQ(info.data, nullptr);
  ASSERT_EQ(cagr_model_input_info(model, 1, &info), CAGR_API_OK) << cagr_last_error();
  EXPECT_EQ(info.dtype, CAGR_I64);
  ASSERT_EQ(cagr_model_output_info(model, 0, &info), CAGR_API_OK) << cagr_last_error();
  EXPECT_STREQ(info.name, "prob");
  EXPECT_EQ(info.dtype, CAGR_F32);

  EXPECT_EQ(cagr_model_input_info(model, 3, &info), CAGR_API_INVALID_ARGUMENT);
  EXPECT_NE(std::string(cagr_last_error()).find("index 3 out of range (the model has 3)"), std::string::npos) << cagr_last_error();
  EXPECT_EQ(cagr_model_output_info(nullptr, 0, &info), CAGR_API_INVALID_ARGUMENT);
  cagr_model_destroy(model);
  cagr_runtime_destroy(rt);
}

TEST(CApi, BadModelPathIsAnErrorNotACrash) {
  cagr_runtime* rt = cpu_runtime();
  cagr_model* model = nullptr;
  EXPECT_EQ(cagr_model_load(rt, "/nonexistent/model.xml", &model), CAGR_API_INVALID_ARGUMENT);
  EXPECT_NE(std::string(cagr_last_error()).find("/nonexistent/model.xml"), std::string::npos);
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(cagr_model_load(nullptr, "x", &model), CAGR_API_INVALID_ARGUMENT);
  cagr_runtime_destroy(rt);
}

}  // namespace

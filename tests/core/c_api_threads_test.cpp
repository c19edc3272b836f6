// cagr.h's thread rules, tried: one model shared by 8 threads, each with its own session, 200 passes
// each, every pass predicting what a lone thread predicts; and one session shared by 8 threads (the
// misuse cagr.h forbids), where every call either works or fails with CAGR_API_SESSION_BUSY, never
// crashes or returns another call's half-written outputs. Built on its own so that tools/test.sh
// can also run it under ThreadSanitizer (CAGR_SANITIZE_THREAD).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "cagr.h"
#include "model_format.hpp"
#include "model_zoo.hpp"

namespace {

constexpr int kThreads = 8;
constexpr int kPasses = 200;
constexpr int64_t kTables = 22;  // the zoo's Avazu DLRM

std::string model_path() {
  static const std::string path = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("cagr_c_api_threads_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string p = (dir / "model.xml").string();
    cagr::save_model(cagr::zoo::dlrm("threads", {"avazu", 4, 100, {8, 4}, {8}, "sum"}, 7), p);
    // One OpenMP thread per pass: the sessions' threads are the parallelism here.
    std::ofstream(dir / "plugins.xml") << "<plugins><plugin name='cpu'><option key='threads' value='1'/></plugin></plugins>";
    return p;
  }();
  return path;
}

// A batch of `batch` rows drawn from `seed`, as the C API takes it.
struct Batch {
  int64_t batch;
  std::vector<float> dense;
  std::vector<int64_t> indices, offsets;
  int64_t dense_dims[2], idx_dims[1], off_dims[1];
  cagr_tensor tensors[3];

  Batch(int64_t rows, unsigned seed) : batch(rows) {
    for (int64_t i = 0; i < rows * 2; ++i) dense.push_back(static_cast<float>((seed * 31 + i * 7) % 17) / 17.0f);
    offsets.push_back(0);
    for (int64_t i = 0; i < rows * kTables; ++i) {
      indices.push_back(static_cast<int64_t>((seed * 13 + i * 5) % 2));  // every table has 2 rows or more
      offsets.push_back(i + 1);
    }
    dense_dims[0] = rows;
    dense_dims[1] = 2;
    idx_dims[0] = rows * kTables;
    off_dims[0] = rows * kTables + 1;
    tensors[0] = {sizeof(cagr_tensor), "dense", CAGR_F32, 2, dense_dims, dense.data()};
    tensors[1] = {sizeof(cagr_tensor), "indices", CAGR_I64, 1, idx_dims, indices.data()};
    tensors[2] = {sizeof(cagr_tensor), "offsets", CAGR_I64, 1, off_dims, offsets.data()};
  }
  Batch(const Batch&) = delete;
};

class CApiThreads : public ::testing::Test {
 protected:
  void SetUp() override {
    static const std::string plugin = std::string(CAGR_TEST_PLUGIN_DIR) + "/libcagr_cpu.so";
    const std::string manifest = (std::filesystem::path(model_path()).parent_path() / "plugins.xml").string();
    cagr_runtime_options o{};
    o.struct_size = sizeof o;
    o.plugins = plugin.c_str();
    o.manifest = manifest.c_str();
    o.probe_in_child = 0;
    ASSERT_EQ(cagr_runtime_create(&o, &runtime_), CAGR_API_OK) << cagr_last_error();
    ASSERT_EQ(cagr_model_load(runtime_, model_path().c_str(), &model_), CAGR_API_OK) << cagr_last_error();
  }
  void TearDown() override {
    cagr_model_destroy(model_);
    cagr_runtime_destroy(runtime_);
  }

  // The session's predictions for `batch`, or empty after reporting the failure.
  static std::vector<float> predict(cagr_session* s, const Batch& batch) {
    if (cagr_session_run(s, 3, batch.tensors) != CAGR_API_OK) {
      ADD_FAILURE() << cagr_last_error();
      return {};
    }
    cagr_tensor out{};
    out.struct_size = sizeof out;
    if (cagr_session_output(s, "prob", &out) != CAGR_API_OK) {
      ADD_FAILURE() << cagr_last_error();
      return {};
    }
    const float* p = static_cast<const float*>(out.data);
    return std::vector<float>(p, p + out.dims[0]);
  }

  cagr_runtime* runtime_ = nullptr;
  cagr_model* model_ = nullptr;
};

TEST_F(CApiThreads, EachThreadItsOwnSessionOverOneSharedModel) {
  // What each thread's batch predicts, computed by this thread alone first.
  std::vector<std::unique_ptr<Batch>> batches;
  std::vector<std::vector<float>> expected;
  for (int t = 0; t < kThreads; ++t) {
    batches.push_back(std::make_unique<Batch>(1 + t % 4, static_cast<unsigned>(t)));
    cagr_session* s = nullptr;
    ASSERT_EQ(cagr_session_create(model_, nullptr, &s), CAGR_API_OK) << cagr_last_error();
    expected.push_back(predict(s, *batches.back()));
    cagr_session_destroy(s);
    ASSERT_EQ(expected.back().size(), static_cast<size_t>(1 + t % 4));
  }

  std::atomic<int> wrong{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      cagr_session* s = nullptr;
      if (cagr_session_create(model_, nullptr, &s) != CAGR_API_OK) {
        ++failed;
        return;
      }
      EXPECT_NE(std::string(cagr_runtime_describe(runtime_)).find("cpu"), std::string::npos);  // shared, read
      for (int pass = 0; pass < kPasses; ++pass) {
        const std::vector<float> got = predict(s, *batches[static_cast<size_t>(t)]);
        if (got.empty()) ++failed;
        else if (got != expected[static_cast<size_t>(t)]) ++wrong;
      }
      cagr_session_destroy(s);
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0) << "passes whose predictions differ from a lone thread's";
}

// The misuse: 8 threads run one session. Every call works or is refused as busy, and the session
// still predicts right afterwards.
TEST_F(CApiThreads, OneSessionSharedByThreadsIsRefusedAsBusyNeverACrash) {
  const Batch batch(3, 11);
  cagr_session* s = nullptr;
  ASSERT_EQ(cagr_session_create(model_, nullptr, &s), CAGR_API_OK) << cagr_last_error();
  const std::vector<float> expected = predict(s, batch);
  ASSERT_EQ(expected.size(), 3u);

  std::atomic<int> ok{0}, busy{0}, other{0}, wrong{0};
  std::atomic<bool> busy_message_ok{true};
  auto count = [&](cagr_api_status status) {
    if (status == CAGR_API_OK) ++ok;
    else if (status == CAGR_API_SESSION_BUSY) {
      ++busy;
      if (std::string(cagr_last_error()).find("in use by another thread") == std::string::npos) busy_message_ok = false;
    } else {
      ++other;
    }
    return status == CAGR_API_OK;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int pass = 0; pass < kPasses; ++pass) {
        count(cagr_session_run(s, 3, batch.tensors));
        cagr_tensor out{};
        out.struct_size = sizeof out;
        // Only the call's own answer is checked: another thread's run may rewrite the outputs it
        // points to from here on, as cagr.h says.
        if (count(cagr_session_output(s, "prob", &out)) && (out.rank != 2 || out.dims == nullptr)) ++wrong;
        cagr_session_plan(s);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(busy.load(), 0) << "8 threads x 200 passes on one session never overlapped";
  EXPECT_TRUE(busy_message_ok.load());
  EXPECT_EQ(predict(s, batch), expected) << "the session still works after the misuse";
  cagr_session_destroy(s);
}

}  // namespace

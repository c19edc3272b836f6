// Multi-stage ranking pipelines (pipeline.xml, core/runtime/ranking_pipeline.hpp): a two-stage
// pipeline over the CPU plugin, over OpenCL (PoCL here) and over both gives exactly what running its
// stages one after another gives (stage 1 on all candidates, top-k on the host, stage 2 on the chosen
// candidates' rows, cut out here by the test's own assembly); streamed queries overlap (stage 1 of
// query q+1 while stage 2 ranks query q, read from the recorded timeline); bad descriptions are
// refused with the file, line and what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <unistd.h>

#include "built_plugins.hpp"
#include "candidates.hpp"
#include "model_format.hpp"
#include "model_zoo.hpp"
#include "ranking_pipeline_format.hpp"
#include "planned_executor.hpp"
#include "ranking_pipeline.hpp"
#include "schema.hpp"

namespace cagr {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kTables = 26, kDense = 13, kRows = 1000;  // Criteo's fields, tables capped at 1000 rows

// One candidate's features: its dense row and, per table, a bag of 0 to 3 ids (empty bags included,
// so that cutting bags out must get the offsets right).
struct Candidate {
  std::vector<float> dense;
  std::vector<std::vector<int64_t>> bags;
};

std::vector<Candidate> draw(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Candidate> out(static_cast<size_t>(n));
  for (Candidate& c : out) {
    for (int64_t i = 0; i < kDense; ++i) c.dense.push_back(static_cast<float>(rng() % 1000) / 250.0f);
    c.bags.resize(kTables);
    for (size_t t = 0; t < c.bags.size(); ++t) {
      const auto rows = static_cast<uint64_t>(std::min(data::criteo_kaggle_schema().sparse[t].rows, kRows));
      for (uint64_t i = rng() % 4; i > 0; --i) c.bags[t].push_back(static_cast<int64_t>(rng() % rows));
    }
  }
  return out;
}

// The pipeline's input layout written out from per-candidate features: the oracle for cutting.
std::map<std::string, HostTensor> assemble(const std::vector<Candidate>& candidates) {
  const int64_t n = static_cast<int64_t>(candidates.size());
  std::vector<float> dense;
  std::vector<int64_t> indices, offsets{0};
  for (const Candidate& c : candidates) dense.insert(dense.end(), c.dense.begin(), c.dense.end());
  for (int64_t t = 0; t < kTables; ++t) {
    for (const Candidate& c : candidates) {
      indices.insert(indices.end(), c.bags[static_cast<size_t>(t)].begin(), c.bags[static_cast<size_t>(t)].end());
      offsets.push_back(static_cast<int64_t>(indices.size()));
    }
  }
  return {{"dense", HostTensor::from(CAGR_DTYPE_F32, {n, kDense}, dense)},
          {"indices", HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(indices.size())}, indices)},
          {"offsets", HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(offsets.size())}, offsets)}};
}

std::vector<HostTensor> in_order(const Graph& graph, std::map<std::string, HostTensor> named) {
  std::vector<HostTensor> out;
  for (int id : graph.inputs()) out.push_back(named.at(graph.tensor(id).name));
  return out;
}

// The k best by score, ties by candidate: the host top-k the test runs itself.
std::vector<int64_t> top(const std::vector<float>& scores, int64_t k) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)]; });
  order.resize(static_cast<size_t>(k));
  return order;
}

class RankingPipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("cagr_ranking_" + std::to_string(::getpid())));
    fs::create_directories(*dir_ / "models");
    save_model(zoo::dlrm("light", {"criteo", 4, kRows, {8, 4}, {8}, "sum"}, 1), (*dir_ / "models/light.xml").string());
    save_model(zoo::dlrm("heavy", {"criteo", 16, kRows, {64, 16}, {128, 64}, "sum"}, 2), (*dir_ / "models/heavy.xml").string());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // A pipeline file in the test folder holding `body` inside <pipeline>.
  static std::string write(const std::string& name, const std::string& body) {
    const fs::path path = *dir_ / name;
    std::ofstream(path) << "<pipeline name=\"test\">\n" << body << "</pipeline>\n";
    return path.string();
  }
  static std::string two_stages(const std::string& light_devices, const std::string& heavy_devices, int keep1, int keep2) {
    return "  <candidates>\n    <rows input=\"dense\"/>\n    <bags indices=\"indices\" offsets=\"offsets\"/>\n  </candidates>\n"
           "  <stage name=\"filter\" model=\"models/light.xml\" devices=\"" + light_devices + "\" score=\"prob\" keep=\"" +
           std::to_string(keep1) + "\"/>\n  <stage name=\"ranker\" model=\"models/heavy.xml\" devices=\"" + heavy_devices +
           "\" score=\"prob\" keep=\"" + std::to_string(keep2) + "\"/>\n";
  }

  // The stages one after another by hand, each in an executor of its own.
  static RankedCandidates one_after_another(const std::vector<Candidate>& query, const std::vector<Target>& light_on,
                                            const std::vector<Target>& heavy_on, int64_t keep1, int64_t keep2) {
    const Graph light = load_model((*dir_ / "models/light.xml").string());
    const Graph heavy = load_model((*dir_ / "models/heavy.xml").string());
    const std::vector<HostTensor> all = in_order(light, assemble(query));
    const HostTensor s1 = make_executor(light, light_on, all, std::nullopt, std::nullopt).executor->run(all)[0];
    std::vector<Candidate> chosen;
    for (int64_t c : top(std::vector<float>(s1.as<float>(), s1.as<float>() + s1.numel()), keep1))
      chosen.push_back(query[static_cast<size_t>(c)]);
    const std::vector<int64_t> kept = top(std::vector<float>(s1.as<float>(), s1.as<float>() + s1.numel()), keep1);
    const std::vector<HostTensor> rows = in_order(heavy, assemble(chosen));
    const HostTensor s2 = make_executor(heavy, heavy_on, rows, std::nullopt, std::nullopt).executor->run(rows)[0];
    const std::vector<float> scores(s2.as<float>(), s2.as<float>() + s2.numel());
    RankedCandidates out;
    for (int64_t i : top(scores, keep2)) {
      out.ids.push_back(kept[static_cast<size_t>(i)]);
      out.scores.push_back(scores[static_cast<size_t>(i)]);
    }
    return out;
  }

  // rank() and stream() both give, for each of several queries, what the stages give one after another.
  static void expect_same_as_one_after_another(const std::string& light_device, const std::string& heavy_device) {
    const std::vector<Target> light_on = testing::built_targets(light_device), heavy_on = testing::built_targets(heavy_device);
    const RankingPipelineDescription d = load_ranking_pipeline(write("same.xml", two_stages(light_device, heavy_device, 24, 8)));
    const CandidateLayout& layout = d.candidates;
    std::vector<std::vector<Candidate>> queries;
    for (uint64_t q = 0; q < 4; ++q) queries.push_back(draw(100 + 7 * static_cast<int64_t>(q), 10 + q));
    RankingPipeline pipeline(d, testing::built_targets(), Candidates(layout, assemble(queries[0])));
    std::vector<RankedCandidates> streamed(queries.size());
    size_t next = 0;
    pipeline.stream([&]() -> std::optional<Candidates> {
                      if (next == queries.size()) return std::nullopt;
                      return Candidates(layout, assemble(queries[next++]));
                    },
                    [&](int64_t q, RankedCandidates r, double) { streamed[static_cast<size_t>(q)] = std::move(r); });
    for (size_t q = 0; q < queries.size(); ++q) {
      const RankedCandidates expected = one_after_another(queries[q], light_on, heavy_on, 24, 8);
      const RankedCandidates ranked = pipeline.rank(Candidates(layout, assemble(queries[q])));
      ASSERT_EQ(expected.ids.size(), 8u);
      EXPECT_EQ(ranked.ids, expected.ids) << "query " << q;
      EXPECT_EQ(ranked.scores, expected.scores) << "query " << q;
      EXPECT_EQ(streamed[q].ids, expected.ids) << "query " << q << ", streamed";
      EXPECT_EQ(streamed[q].scores, expected.scores) << "query " << q << ", streamed";
    }
  }

  static bool have_opencl() { return !testing::built_targets("opencl").empty(); }

  static fs::path* dir_;
};

fs::path* RankingPipelineTest::dir_ = nullptr;

TEST_F(RankingPipelineTest, OnTheCpuPluginSameAsStagesOneAfterAnother) {
  ASSERT_FALSE(testing::built_targets("cpu").empty());
  expect_same_as_one_after_another("cpu", "cpu");
}

TEST_F(RankingPipelineTest, OnOpenClSameAsStagesOneAfterAnother) {
  if (!have_opencl()) GTEST_SKIP() << "no OpenCL device (PoCL is the CI's)";
  expect_same_as_one_after_another("opencl", "opencl");
}

TEST_F(RankingPipelineTest, StagesOnDifferentDevicesSameAsOneAfterAnother) {
  if (!have_opencl()) GTEST_SKIP() << "no OpenCL device (PoCL is the CI's)";
  expect_same_as_one_after_another("opencl", "cpu");
}

// While stage 2 ranks query q, stage 1 scores query q+1. Shown by the timeline: some query's stage 1
// started before the previous query's stage 2 ended. Each stage still sees a query only after the
// one before it finished with it.
TEST_F(RankingPipelineTest, StreamedQueriesOverlapStages) {
  const RankingPipelineDescription d = load_ranking_pipeline(write("overlap.xml", two_stages("cpu", "cpu", 200, 200)));
  const std::vector<Candidate> query = draw(400, 3);
  RankingPipeline pipeline(d, testing::built_targets(), Candidates(d.candidates, assemble(query)));
  constexpr int64_t kQueries = 8;
  // On a loaded 2-core machine (a full ctest -j2) the two stage threads may be scheduled one after
  // the other for a whole stream: up to three streams are asked for one overlapping pair, as the
  // cross-device pipeline's timeline test does; the order checks hold for every stream.
  int overlapping = 0;
  for (int attempt = 0; attempt < 3 && overlapping == 0; ++attempt) {
    int64_t next = 0, finished = 0;
    pipeline.stream([&]() -> std::optional<Candidates> {
                      if (next == kQueries) return std::nullopt;
                      ++next;
                      return Candidates(d.candidates, assemble(query));
                    },
                    [&](int64_t q, RankedCandidates, double) { EXPECT_EQ(q, finished++); });
    EXPECT_EQ(finished, kQueries);
    std::map<std::pair<int, int64_t>, RankingPipeline::Span> span;
    for (const auto& s : pipeline.timeline()) span[{s.stage, s.query}] = s;
    ASSERT_EQ(span.size(), 2u * kQueries);
    for (int64_t q = 0; q < kQueries; ++q) {
      const auto& first = span[{0, q}];
      const auto& second = span[{1, q}];
      EXPECT_GE(second.start, first.end) << "query " << q << ": stage 2 started before stage 1 gave it the candidates";
      if (q + 1 < kQueries && span[{0, q + 1}].start < second.end) ++overlapping;
    }
  }
  EXPECT_GT(overlapping, 0) << "stage 1 never scored a query while stage 2 ranked the one before, in three streams";
}

TEST_F(RankingPipelineTest, BestCandidatesBreakTiesByIndexAndPutNanLast) {
  const float scores[] = {0.5f, NAN, 0.9f, 0.5f, 0.9f, -1.0f};
  EXPECT_EQ(best_candidates(scores, 6, 6), (std::vector<int64_t>{2, 4, 0, 3, 5, 1}));
  EXPECT_EQ(best_candidates(scores, 6, 3), (std::vector<int64_t>{2, 4, 0}));
}

// A description that cannot run is refused, naming the file, its line and what is wrong.
TEST_F(RankingPipelineTest, BadDescriptionsAreRefusedClearly) {
  auto refused = [](const std::string& path, const std::string& expected) {
    try {
      (void)load_ranking_pipeline(path);
      ADD_FAILURE() << path << ": accepted, expected '" << expected << "'";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path + ":"), std::string::npos) << e.what();
    }
  };
  const std::string candidates = "  <candidates>\n    <rows input=\"dense\"/>\n    <bags indices=\"indices\" offsets=\"offsets\"/>\n  </candidates>\n";
  refused(write("missing.xml", candidates + "  <stage name=\"a\" model=\"models/none.xml\" score=\"prob\"/>\n"),
          "model 'models/none.xml': no such file");
  refused(write("zero.xml", candidates + "  <stage name=\"a\" model=\"models/light.xml\" score=\"prob\" keep=\"0\"/>\n"),
          "keep=\"0\": must be a whole number of at least 1");
  refused(write("negative.xml", candidates + "  <stage name=\"a\" model=\"models/light.xml\" score=\"prob\" keep=\"-4\"/>\n"),
          "keep=\"-4\": must be a whole number of at least 1");
  refused(write("element.xml", candidates + "  <stages/>\n"), ":6: <stages>: unknown element (expected candidates or stage)");
  refused(write("attribute.xml", candidates + "  <stage name=\"a\" model=\"models/light.xml\" score=\"prob\" kep=\"3\"/>\n"),
          "unknown attribute 'kep'");
  refused(write("grows.xml", two_stages("cpu", "cpu", 8, 16)), "stage 'ranker' keeps 16 of the 8 candidates stage 'filter' passes it");
  refused(write("nokeep.xml", candidates + "  <stage name=\"a\" model=\"models/light.xml\" score=\"prob\"/>\n"
                                           "  <stage name=\"b\" model=\"models/heavy.xml\" score=\"prob\"/>\n"),
          "stage 'a' needs keep=");
  refused(write("nostage.xml", candidates), "no <stage>");

  // What only the models and the queries tell: at construction, on the example query.
  const Candidates query(load_ranking_pipeline(write("ok.xml", two_stages("cpu", "cpu", 8, 4))).candidates, assemble(draw(6, 1)));
  auto fails_to_build = [&](const std::string& path, const std::string& expected) {
    try {
      RankingPipeline pipeline(load_ranking_pipeline(path), testing::built_targets(), query);
      ADD_FAILURE() << path << ": built, expected '" << expected << "'";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path + ":"), std::string::npos) << e.what();
    }
  };
  fails_to_build(write("k_above_n.xml", two_stages("cpu", "cpu", 8, 4)), "stage 'filter': keeps 8 candidates, and query 0 gives it 6");
  fails_to_build(write("score.xml", candidates + "  <stage name=\"a\" model=\"models/light.xml\" score=\"click\"/>\n"),
                 "score 'click' is not an output");
  fails_to_build(write("device.xml", two_stages("tpu:3", "cpu", 4, 2)), "device 'tpu:3': no loaded plugin offers it");
}

TEST_F(RankingPipelineTest, MalformedCandidatesAreRefused) {
  const CandidateLayout layout = load_ranking_pipeline(write("layout.xml", two_stages("cpu", "cpu", 4, 2))).candidates;
  auto inputs = assemble(draw(5, 2));
  inputs.at("offsets").as<int64_t>()[3] = 1000000;
  EXPECT_THROW(Candidates(layout, inputs), std::invalid_argument);
  inputs = assemble(draw(5, 2));
  inputs.erase("indices");
  EXPECT_THROW(Candidates(layout, inputs), std::invalid_argument);
}

}  // namespace
}  // namespace cagr

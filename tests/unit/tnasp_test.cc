// The TNASP predictor: graph encoding on hand-checked graphs, the model's determinism and
// dropout streams, data-parallel training on in-process ranks (1, 2 and 3 give the same
// result), and the predictor file.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <mutex>

#include "engine/comm/local_communicator.h"
#include "engine/core/rng.h"
#include "engine/core/stats.h"
#include "engine/predictor/tnasp_encoding.h"
#include "engine/predictor/tnasp_model.h"
#include "io/hdf5_file.h"
#include "io/nb201_data.h"
#include "io/predictor_file.h"
#include "io/space_data.h"
#include "workers/predictor_worker.h"

namespace hpcnas {
namespace {

using tnasp::PositionKind;

nb201::Genotype Parse(const std::string& text) { return *nb201::ParseGenotype(text); }

const char* kAllConv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
const char* kTwoEdges = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|";
const char* kPath = "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|";

TEST(TnaspEncoding, LaplacianOfTheCompleteCell) {
  const tnasp::Encoding e = tnasp::Encode(Parse(kAllConv), PositionKind::kLaplacian, 3);
  ASSERT_EQ(e.positions.size(), 6u * 8u);
  // L = D - A with out-degrees 3, 2, 1, 0.
  const std::vector<std::vector<float>> rows = {{3, -1, -1, -1}, {0, 2, -1, -1}, {0, 0, 1, -1}, {0, 0, 0, 0}};
  for (int edge = 0; edge < 6; ++edge) {
    EXPECT_EQ(e.token_ids[edge], 3);
    for (int k = 0; k < 4; ++k) {
      EXPECT_EQ(e.positions[edge * 8 + k], rows[nb201::kEdges[edge].from][k]) << "edge " << edge;
      EXPECT_EQ(e.positions[edge * 8 + 4 + k], rows[nb201::kEdges[edge].to][k]) << "edge " << edge;
    }
  }
}

TEST(TnaspEncoding, NoneEdgesLeaveTheGraph) {
  const nb201::Genotype g = Parse(kTwoEdges);
  const tnasp::Matrix4 a = tnasp::Adjacency(g);
  const tnasp::Matrix4 l = tnasp::Laplacian(a);
  // Only 0->1 and 0->3 remain: node 0 has out-degree 2, the others 0.
  EXPECT_EQ(l[0], (std::array<double, 4>{2, -1, 0, -1}));
  for (int node = 1; node < 4; ++node) EXPECT_EQ(l[node], (std::array<double, 4>{0, 0, 0, 0}));
  const tnasp::Encoding e = tnasp::Encode(g, PositionKind::kLaplacian, 3);
  EXPECT_EQ(e.token_ids, (std::vector<std::int64_t>{3, 0, 0, 1, 0, 0}));
  // Edge 1->2 (a none edge) still has a token: its nodes' rows are both zero.
  for (int k = 0; k < 8; ++k) EXPECT_EQ(e.positions[2 * 8 + k], 0.0f);
}

TEST(TnaspEncoding, EigenvectorsOfThePathGraph) {
  // 0 -> 1 -> 2 -> 3: the normalised Laplacian of a 4-path has eigenvalues 1 - cos(pi k / 3):
  // 0, 0.5, 1.5, 2. The encoding keeps the three after 0.
  const tnasp::Matrix4 a = tnasp::Adjacency(Parse(kPath));
  const auto rows = tnasp::EigenPositions(a, 3);
  const std::array<double, 4> degree = {1, 2, 2, 1};
  const std::array<double, 3> expected = {0.5, 1.5, 2.0};
  for (int k = 0; k < 3; ++k) {
    double norm = 0;
    for (int i = 0; i < 4; ++i) norm += rows[i][k] * rows[i][k];
    EXPECT_NEAR(norm, 1.0, 1e-12);
    for (int i = 0; i < 4; ++i) {  // (I - D^-1/2 A_sym D^-1/2) v = lambda v
      double lv = rows[i][k];
      for (int j = 0; j < 4; ++j) {
        const double sym = a[i][j] + a[j][i];
        lv -= sym / std::sqrt(degree[i] * degree[j]) * rows[j][k];
      }
      EXPECT_NEAR(lv, expected[k] * rows[i][k], 1e-12) << "eigenvector " << k << " node " << i;
    }
    // Sign convention: the largest-magnitude entry is positive.
    int largest = 0;
    for (int i = 1; i < 4; ++i) {
      if (std::abs(rows[i][k]) > std::abs(rows[largest][k]) + 1e-12) largest = i;
    }
    EXPECT_GT(rows[largest][k], 0);
  }
}

TEST(TnaspEncoding, EveryCellEncodesFinitely) {
  for (int code = 0; code < nb201::kNumCells; code += 7) {
    for (PositionKind kind : {PositionKind::kLaplacian, PositionKind::kEigen}) {
      const tnasp::Encoding e = tnasp::Encode(nb201::Genotype::FromCode(code), kind, 3);
      for (float v : e.positions) ASSERT_TRUE(std::isfinite(v)) << code;
    }
  }
  EXPECT_FALSE(tnasp::ParsePositionKind("fourier").ok());
}

// Chain spaces: tokens are the layers, ids carry the stage, positions come from the chain's
// Laplacian (DESIGN section 4.3).
TEST(TnaspEncoding, ChainSpaceTokensCarryTheStage) {
  auto space = std::move(MakeSearchSpace("macro").value());
  const tnasp::Encoding e = tnasp::Encode(space->Graph(*space->Parse("22212202")), PositionKind::kLaplacian, 3);
  EXPECT_EQ(e.token_ids, (std::vector<std::int64_t>{2, 2, 5, 4, 5, 8, 6, 8}));  // op + 3 x stage
  EXPECT_EQ(space->num_token_ids(), 9);
  ASSERT_EQ(e.positions.size(), 8u * 18u);
  // Token 0 is the edge 0 -> 1: node 0's row of L = D - A, then node 1's.
  EXPECT_EQ(e.positions[0], 1.0f);
  EXPECT_EQ(e.positions[1], -1.0f);
  EXPECT_EQ(e.positions[9 + 1], 1.0f);
  EXPECT_EQ(e.positions[9 + 2], -1.0f);
  // The last token ends at the output node, whose row is zero.
  for (int k = 9; k < 18; ++k) EXPECT_EQ(e.positions[7 * 18 + k], 0.0f);
  const tnasp::Encoding eigen = tnasp::Encode(space->Graph(*space->Parse("22212202")), PositionKind::kEigen, 3);
  for (float v : eigen.positions) EXPECT_TRUE(std::isfinite(v));
}

tnasp::ModelOptions SmallModel() {
  tnasp::ModelOptions o;
  o.d_model = 16;
  o.heads = 2;
  o.layers = 2;
  o.feedforward = 32;
  o.head_hidden = 8;
  return o;
}

std::vector<nb201::Genotype> SomeCells(int count, std::uint64_t seed) {
  CounterRng rng(seed, {7});
  std::vector<nb201::Genotype> out;
  for (std::int64_t code : SampleWithoutReplacement(rng, nb201::kNumCells, count)) {
    out.push_back(nb201::Genotype::FromCode(static_cast<int>(code)));
  }
  return out;
}

TEST(TnaspModel, SameSeedSameWeightsAndDefaultSizes) {
  torch::set_num_threads(1);
  tnasp::TnaspNet a(SmallModel()), b(SmallModel()), c(SmallModel());
  tnasp::InitialiseParameters(a, 5);
  tnasp::InitialiseParameters(b, 5);
  tnasp::InitialiseParameters(c, 6);
  const auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  bool any_difference = false;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i], pb[i]));
    any_difference |= !torch::equal(pa[i], pc[i]);
  }
  EXPECT_TRUE(any_difference);
  // The paper's sizes: d 80, 4 heads, 3 layers, readout 80 -> 96 -> 1.
  tnasp::TnaspNet paper{tnasp::ModelOptions{}};
  const int64_t attention = 3 * (80 * 80 + 80) + 80 * 80;  // query, value, out with bias; key without
  const int64_t feedforward = (80 * 320 + 320) + (320 * 80 + 80);
  const int64_t norms = 2 * (80 + 80);
  const int64_t inputs = 5 * 80 + (8 * 80 + 80);  // op embedding, Laplacian rows -> d
  const int64_t readout = (80 * 96 + 96) + (96 + 1);
  EXPECT_EQ(tnasp::ParameterCount(paper), inputs + 3 * (attention + feedforward + norms) + readout);
}

TEST(TnaspModel, EvaluationDoesNotDependOnTheBatch) {
  torch::set_num_threads(1);
  tnasp::TnaspNet net(SmallModel());
  tnasp::InitialiseParameters(net, 1);
  torch::NoGradGuard no_grad;
  const auto cells = SomeCells(12, 1);
  const torch::Tensor together = net->forward(tnasp::EncodeBatch(cells, SmallModel()), nullptr);
  ASSERT_EQ(together.sizes(), (std::vector<std::int64_t>{12}));
  for (int i = 0; i < 12; i += 5) {
    const torch::Tensor alone = net->forward(tnasp::EncodeBatch({cells[i]}, SmallModel()), nullptr);
    EXPECT_NEAR(alone.item<float>(), together[i].item<float>(), 1e-5);
  }
}

TEST(TnaspModel, DropoutMasksDependOnlyOnTheSamplesPlace) {
  const tnasp::ModelOptions o = SmallModel();
  const auto whole = tnasp::DrawDropoutMasks(o, 3, 42, 0, 10);
  const auto head = tnasp::DrawDropoutMasks(o, 3, 42, 0, 4);
  const auto tail = tnasp::DrawDropoutMasks(o, 3, 42, 4, 6);
  EXPECT_TRUE(torch::equal(whole.values, torch::cat({head.values, tail.values})));
  EXPECT_FALSE(torch::equal(whole.values, tnasp::DrawDropoutMasks(o, 3, 43, 0, 10).values));
  const double dropped = (whole.values == 0).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(dropped, 0.1, 0.01);
  const float kept = whole.values.max().item<float>();
  EXPECT_FLOAT_EQ(kept, 1.0f / 0.9f);
  EXPECT_EQ(whole.values.size(1), tnasp::MaskWidth(o));
}

TEST(TnaspModel, EigenSignFlipsFlipWholeEigenvectors) {
  tnasp::ModelOptions o = SmallModel();
  o.position = PositionKind::kEigen;
  const auto cells = SomeCells(20, 2);
  tnasp::EncodedBatch flipped = tnasp::EncodeBatch(cells, o);
  const tnasp::EncodedBatch original = tnasp::EncodeBatch(cells, o);
  tnasp::FlipEigenSigns(flipped, o, 1, 9, 0);
  // Every entry keeps its magnitude, and some change sign.
  EXPECT_TRUE(torch::equal(flipped.positions.abs(), original.positions.abs()));
  EXPECT_FALSE(torch::equal(flipped.positions, original.positions));
}

// The embedded NB201 table, once.
const Nb201Truth& Truth() {
  static const Nb201Truth truth = *LoadNb201Truth("embedded", "cifar10_test");
  return truth;
}

TrainingData SomeTrainingData(int labelled, int unlabelled) {
  TrainingData data;
  const auto cells = SomeCells(labelled + unlabelled, 11);
  const std::vector<tnasp::Encoding> encoded = tnasp::EncodeAll(cells, SmallModel());
  data.labelled.assign(encoded.begin(), encoded.begin() + labelled);
  data.unlabelled.assign(encoded.begin() + labelled, encoded.end());
  for (int i = 0; i < labelled; ++i) data.accuracy.push_back(Truth().accuracy_by_code[cells[i].Code()]);
  return data;
}

PredictorConfig ShortTraining(int epochs, int rounds) {
  PredictorConfig c;
  c.epochs = epochs;
  c.batch_size = 10;
  c.learning_rate = 1e-3;
  c.self_evolution_rounds = rounds;
  return c;
}

// Trains on `ranks` in-process ranks; returns every rank's final flat parameters.
std::vector<std::vector<float>> TrainOnRanks(int ranks, const TrainingData& data, const PredictorConfig& config) {
  std::vector<std::vector<float>> parameters(ranks);
  const auto errors = RunLocalRanks(ranks, [&](Communicator& comm) {
    torch::set_num_threads(1);
    Predictor p(SmallModel(), 3);
    Status s = TrainPredictor(comm, p, data, config, 3, Seconds(120), nullptr);
    if (!s.ok()) throw std::runtime_error(s.message());
    parameters[comm.rank()] = FlatParameters(p);
  });
  for (const auto& e : errors) EXPECT_EQ(e, "");
  return parameters;
}

float MaxAbsDifference(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

class TnaspDataParallel : public ::testing::TestWithParam<int> {};

TEST_P(TnaspDataParallel, AnyNumberOfRanksTrainsTheSameReplica) {
  const int rounds = GetParam();
  // 37 labelled: the last batch of each epoch is short, and with 3 ranks some shards are small.
  const TrainingData data = SomeTrainingData(37, 50);
  const PredictorConfig config = ShortTraining(4, rounds);
  const auto one = TrainOnRanks(1, data, config);
  for (int ranks : {2, 3}) {
    const auto many = TrainOnRanks(ranks, data, config);
    for (int r = 1; r < ranks; ++r) EXPECT_EQ(many[r], many[0]) << "replica " << r << " of " << ranks << " differs";
    // Micro-batch gradients summed in a fixed order: bitwise the 1-rank result.
    EXPECT_EQ(many[0], one[0]) << ranks << " ranks vs 1 (largest difference " << MaxAbsDifference(many[0], one[0]) << ")";
    EXPECT_GT(MaxAbsDifference(many[0], FlatParameters(*std::make_unique<Predictor>(SmallModel(), 3))), 1e-3)
        << "training moved the weights";
  }
}
INSTANTIATE_TEST_SUITE_P(WithAndWithoutSelfEvolution, TnaspDataParallel, ::testing::Values(0, 2));

TEST(TnaspTraining, LearnsToRankHeldOutCells) {
  torch::set_num_threads(1);
  const TrainingData data = SomeTrainingData(150, 0);
  PredictorConfig config = ShortTraining(40, 0);
  Predictor p(SmallModel(), 4);
  std::vector<double> losses;
  const auto errors = RunLocalRanks(1, [&](Communicator& comm) {
    Status s = TrainPredictor(comm, p, data, config, 4, Seconds(120),
                              [&](const EpochReport& r) { losses.push_back(r.labelled_loss); });
    if (!s.ok()) throw std::runtime_error(s.message());
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(losses.size(), 40u);
  EXPECT_LT(losses.back(), 0.6 * losses.front());
  const auto held_out = SomeCells(600, 99);
  std::vector<double> truth;
  for (const auto& g : held_out) truth.push_back(Truth().accuracy_by_code[g.Code()]);
  EXPECT_GT(KendallTau(Predict(p, tnasp::EncodeAll(held_out, SmallModel())), truth), 0.3);
}

TEST(TnaspTraining, RejectsUnusableData) {
  TrainingData constant = SomeTrainingData(5, 0);
  for (double& a : constant.accuracy) a = 90;
  Predictor p(SmallModel(), 1);
  RunLocalRanks(1, [&](Communicator& comm) {
    EXPECT_FALSE(TrainPredictor(comm, p, constant, ShortTraining(1, 0), 1, Seconds(10), nullptr).ok());
    EXPECT_FALSE(TrainPredictor(comm, p, SomeTrainingData(5, 0), ShortTraining(1, 2), 1, Seconds(10), nullptr).ok())
        << "self-evolution without unlabelled cells";
  });
}

std::string TempPath(const std::string& name) { return ::testing::TempDir() + "hpcnas_tnasp_" + name; }

// The predictor on NAS-Bench-Macro: trained on 200 networks, it ranks 600 others.
TEST(TnaspTraining, LearnsNasBenchMacro) {
  auto space = std::move(MakeSearchSpace("macro").value());
  const TruthTable truth = *LoadTruthTable(*space, "embedded", "mean_test_acc");
  std::vector<Architecture> networks;
  const std::vector<Architecture> all = space->DistinctArchitectures();
  CounterRng rng(6, {1});
  for (std::int64_t i : SampleWithoutReplacement(rng, static_cast<std::int64_t>(all.size()), 800)) networks.push_back(all[i]);
  const std::vector<double> accuracy = *truth.Lookup(*space, networks);
  const tnasp::ModelOptions options = SmallModel().ForSpace(*space);
  EXPECT_EQ(options.num_tokens, 8);
  EXPECT_EQ(options.num_nodes, 9);
  const std::vector<tnasp::Encoding> encoded = tnasp::EncodeAll(*space, networks, options);
  TrainingData data;
  data.labelled.assign(encoded.begin(), encoded.begin() + 200);
  data.accuracy.assign(accuracy.begin(), accuracy.begin() + 200);
  Predictor p(options, 4);
  PredictorConfig config = ShortTraining(40, 0);
  RunLocalRanks(2, [&](Communicator& comm) {
    Predictor replica(options, 4);
    ASSERT_TRUE(TrainPredictor(comm, replica, data, config, 4, Seconds(120), nullptr).ok());
    if (comm.rank() == 0) p = std::move(replica);
  });
  const std::vector<tnasp::Encoding> held_out(encoded.begin() + 200, encoded.end());
  const std::vector<double> truth_held_out(accuracy.begin() + 200, accuracy.end());
  const double tau = KendallTau(Predict(p, held_out), truth_held_out);
  std::printf("macro, 200 training networks, 40 epochs: Kendall tau %.3f over 600 others\n", tau);
  EXPECT_GT(tau, 0.6) << "FLOPs alone reach 0.55 on this space";
}

TEST(PredictorFile, RoundTripGivesTheSamePredictions) {
  torch::set_num_threads(1);
  Predictor p(SmallModel(), 8);
  p.target_mean = 90;
  p.target_std = 3;
  p.adam.step = 17;
  p.adam.first_moment[5] = 0.25f;
  PredictorFile file = ToPredictorFile(p);
  file.config_toml = "x = 1";
  file.train_codes = {1, 2};
  file.train_accuracy = {90.5, 91.5};
  file.kendall_tau = 0.5;
  const std::string path = TempPath("roundtrip.h5");
  ASSERT_TRUE(WritePredictorFile(path, file).ok());
  StatusOr<PredictorFile> read = ReadPredictorFile(path, "nb201");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->config_toml, "x = 1");
  EXPECT_EQ(read->train_codes, file.train_codes);
  StatusOr<Predictor> loaded = FromPredictorFile(*read, SmallModel());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->adam.step, 17);
  EXPECT_EQ(loaded->adam.first_moment, p.adam.first_moment);
  const auto cells = SomeCells(30, 3);
  EXPECT_EQ(Predict(*loaded, tnasp::EncodeAll(cells, SmallModel())), Predict(p, tnasp::EncodeAll(cells, SmallModel())));

  // A network of another size does not accept these weights.
  tnasp::ModelOptions wider = SmallModel();
  wider.d_model = 32;
  EXPECT_FALSE(FromPredictorFile(*read, wider).ok());
  std::remove(path.c_str());
}

TEST(PredictorFile, WrongSpaceSchemaOrKindIsAClearError) {
  Predictor p(SmallModel(), 8);
  const std::string path = TempPath("space.h5");
  PredictorFile file = ToPredictorFile(p);
  file.space = "nb101";
  ASSERT_TRUE(WritePredictorFile(path, file).ok());
  StatusOr<PredictorFile> read = ReadPredictorFile(path, "nb201");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("'nb101'"), std::string::npos) << read.status().message();

  for (auto [kind, version] : {std::pair<std::string, int64_t>{kPredictorFileKind, 99}, {"hpcnas.scores", 1}}) {
    {
      auto h5 = h5::File::Create(path);
      ASSERT_TRUE(h5.ok());
      ASSERT_TRUE(h5->SetAttribute("/", "kind", kind).ok());
      ASSERT_TRUE(h5->SetAttribute("/", "schema_version", version).ok());
      ASSERT_TRUE(h5->Close().ok());
    }
    read = ReadPredictorFile(path, "nb201");
    ASSERT_FALSE(read.ok());
    EXPECT_NE(read.status().message().find(version == 99 ? "schema version 99" : "not an hpcnas predictor"), std::string::npos)
        << read.status().message();
  }
  std::remove(path.c_str());
  EXPECT_FALSE(ReadPredictorFile(path, "nb201").ok()) << "missing file";
}

}  // namespace
}  // namespace hpcnas

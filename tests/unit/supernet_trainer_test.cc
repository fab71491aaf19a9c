// ProxylessNAS training (workers/supernet_trainer.h) on in-process ranks: replicas bitwise
// identical on 1, 2 and 3 ranks, zero steps that leave alpha and Adam alone, a non-finite loss
// that stops the run with the step named, subnets cut out of the supernet; and the latency
// lookup table (engine/space/latency_table.h) that prices the candidates.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "engine/comm/local_communicator.h"
#include "engine/metric/epsilon.h"
#include "engine/nn/latency_measure.h"
#include "io/cifar.h"
#include "io/latency_file.h"
#include "tests/unit/temp_dir.h"
#include "workers/supernet_trainer.h"

namespace hpcnas {
namespace {

SupernetConfig SmallRun() {
  SupernetConfig c;
  c.space = "macro";
  c.resolution = 16;
  c.train_images = 32;
  c.valid_images = 16;
  c.recalibration_images = 16;
  c.batch_size = 8;
  c.micro_batches = 3;  // 2 + 3 + 3 images: uneven on purpose
  c.warmup_epochs = 1;
  c.epochs = 2;
  c.arch_every = 2;
  c.target_mflops = 20;
  c.seed = 11;
  return c;
}

// Every epoch of `config` on `ranks` in-process ranks; each rank's final state.
std::vector<SupernetTrainingState> TrainOnRanks(int ranks, const SupernetConfig& config) {
  const SupernetData data = LoadSupernetData(config).value();
  const auto space = config.space == "macro" ? MakeMacroSpace() : MakeProxylessSpace();
  std::vector<SupernetTrainingState> states(ranks);
  const auto errors = RunLocalRanks(ranks, [&](Communicator& comm) {
    torch::set_num_threads(1);
    auto trainer = SupernetTrainer::Make(*space, config, torch::kCPU).value();
    while (trainer->state().epochs_done < trainer->total_epochs()) {
      const StatusOr<bool> ended = trainer->RunEpoch(comm, data, Seconds(120), nullptr, nullptr);
      ASSERT_TRUE(ended.ok()) << ended.status().message();
      ASSERT_TRUE(*ended);
      trainer->FinishEpoch(data, 1.0, nullptr);
    }
    states[comm.rank()] = trainer->Export();
  });
  for (const std::string& e : errors) {
    if (!e.empty()) ADD_FAILURE() << e;
  }
  return states;
}

void ExpectSameReplica(const SupernetTrainingState& a, const SupernetTrainingState& b, const std::string& what) {
  ASSERT_EQ(a.weights.size(), b.weights.size());
  for (std::size_t i = 0; i < a.weights.size(); ++i) {
    EXPECT_EQ(a.weights[i].values, b.weights[i].values) << what << ": weight " << a.weights[i].name;
    EXPECT_EQ(a.momentum[i].values, b.momentum[i].values) << what << ": momentum " << a.momentum[i].name;
  }
  EXPECT_EQ(a.alpha, b.alpha) << what;
  EXPECT_EQ(a.adam_first, b.adam_first) << what;
  EXPECT_EQ(a.adam_second, b.adam_second) << what;
  EXPECT_EQ(a.adam_steps, b.adam_steps) << what;
  EXPECT_EQ(a.weight_steps, b.weight_steps) << what;
  EXPECT_EQ(a.arch_steps, b.arch_steps) << what;
}

TEST(SupernetTrainer, ReplicasAreBitwiseIdenticalOnOneTwoAndThreeRanks) {
  const SupernetConfig config = SmallRun();
  const std::vector<SupernetTrainingState> one = TrainOnRanks(1, config);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].weight_steps, 3 * 4);
  EXPECT_EQ(one[0].arch_steps, 2 * 2);
  ASSERT_EQ(one[0].history.size(), 3u);
  // The run did learn something: alphas moved away from their N(0, 1e-3) start.
  double largest = 0;
  for (double a : one[0].alpha) largest = std::max(largest, std::abs(a));
  EXPECT_GT(largest, 1e-3);
  for (int ranks : {2, 3}) {
    const std::vector<SupernetTrainingState> many = TrainOnRanks(ranks, config);
    for (int r = 0; r < ranks; ++r) {
      ExpectSameReplica(one[0], many[r], std::to_string(ranks) + " ranks, rank " + std::to_string(r));
    }
  }
}

TEST(SupernetTrainer, ASampledZeroLeavesAlphaAndItsAdamMomentsUntouched) {
  SupernetConfig c;
  c.space = "proxyless";
  c.width_multiplier = 0.25;
  c.resolution = 32;
  c.train_images = 8;
  c.valid_images = 8;
  c.recalibration_images = 8;
  c.batch_size = 8;
  c.micro_batches = 1;
  c.warmup_epochs = 0;
  c.epochs = 6;
  c.arch_every = 1;  // one weight step and one architecture step per epoch
  c.target_mflops = 5;
  const SupernetData data = LoadSupernetData(c).value();
  const auto space = MakeProxylessSpace();
  LocalCommunicator comm(std::make_shared<LocalWorld>(1), 0);
  auto trainer = SupernetTrainer::Make(*space, c, torch::kCPU).value();
  int zero_positions = 0, moved_positions = 0;
  for (int epoch = 0; epoch < c.epochs; ++epoch) {
    const SupernetTrainingState before = trainer->Export();
    ASSERT_TRUE(trainer->RunEpoch(comm, data, Seconds(60), nullptr, nullptr).value());
    const SupernetTrainingState after = trainer->Export();
    std::size_t at = 0;
    for (std::size_t p = 0; p < trainer->net().mixed_ops().size(); ++p) {
      MixedOp& m = trainer->net().mixed_ops()[p];  // still on the architecture step's paths
      const auto n = static_cast<std::size_t>(m->size());
      auto slice = [&](const std::vector<double>& v) { return std::vector<double>(v.begin() + at, v.begin() + at + n); };
      if (space->operation(m->active_op()).expand == 0) {
        ++zero_positions;
        EXPECT_EQ(slice(before.alpha), slice(after.alpha)) << "position " << p;
        EXPECT_EQ(slice(before.adam_first), slice(after.adam_first)) << "position " << p;
        EXPECT_EQ(slice(before.adam_second), slice(after.adam_second)) << "position " << p;
        EXPECT_EQ(before.adam_steps[p], after.adam_steps[p]) << "position " << p;
      } else {
        ++moved_positions;
        EXPECT_EQ(before.adam_steps[p] + 1, after.adam_steps[p]) << "position " << p;
        EXPECT_NE(slice(before.alpha), slice(after.alpha)) << "position " << p;
      }
      at += n;
    }
    trainer->FinishEpoch(data, 1.0, nullptr);
  }
  EXPECT_GT(zero_positions, 0) << "some architecture step should sample the zero operation";
  EXPECT_GT(moved_positions, 0);
}

TEST(SupernetTrainer, ANonFiniteLossStopsTheRunNamingTheStep) {
  SupernetConfig c = SmallRun();
  c.micro_batches = 1;
  c.learning_rate = 1e30;
  const SupernetData data = LoadSupernetData(c).value();
  const auto space = MakeMacroSpace();
  LocalCommunicator comm(std::make_shared<LocalWorld>(1), 0);
  auto trainer = SupernetTrainer::Make(*space, c, torch::kCPU).value();
  const StatusOr<bool> ended = trainer->RunEpoch(comm, data, Seconds(60), nullptr, nullptr);
  ASSERT_FALSE(ended.ok());
  EXPECT_NE(ended.status().message().find("not finite at weight step"), std::string::npos) << ended.status().message();
}

TEST(SupernetTrainer, TooFewImagesForTheSplitIsBadInput) {
  SupernetConfig c = SmallRun();
  c.train_images = 250;
  c.valid_images = 10;  // the embedded batch has 256 images
  const StatusOr<SupernetData> data = LoadSupernetData(c);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().kind(), ErrorKind::kInvalidInput);
  EXPECT_NE(data.status().message().find("supernet.train_images 250"), std::string::npos) << data.status().message();
}

// The splits stay bytes; Inputs() gives what the network takes: the CIFAR records normalised
// as the epsilon batch is, resized to the supernet's resolution when it is not 32.
TEST(SupernetTrainer, TheDataAreKeptAsBytesAndNormalisedPerBatch) {
  SupernetConfig c = SmallRun();
  c.resolution = 32;
  const SupernetData data = LoadSupernetData(c).value();
  ASSERT_EQ(data.train_pixels.scalar_type(), torch::kUInt8);
  EXPECT_EQ(data.train_pixels.sizes(), (std::vector<std::int64_t>{c.train_images, 3, 32, 32}));
  EXPECT_EQ(data.valid_size(), c.valid_images);
  const CifarImages records = LoadCifarImages("embedded", c.train_images + c.valid_images).value();
  const torch::Tensor reference = CifarImagesToTensor(records.pixels.data(), c.train_images + c.valid_images);
  EXPECT_TRUE(torch::equal(data.Inputs(data.train_pixels), reference.slice(0, 0, c.train_images)));
  EXPECT_TRUE(torch::equal(data.Inputs(data.valid_pixels.slice(0, 3, 7)), reference.slice(0, c.train_images + 3, c.train_images + 7)));
  EXPECT_EQ(data.valid_labels[2].item<std::int64_t>(), records.labels[static_cast<std::size_t>(c.train_images + 2)]);

  c.resolution = 16;
  const SupernetData small = LoadSupernetData(c).value();
  EXPECT_TRUE(torch::equal(small.train_pixels, data.train_pixels));
  const torch::Tensor resized = small.Inputs(small.train_pixels.slice(0, 0, 4));
  EXPECT_EQ(resized.sizes(), (std::vector<std::int64_t>{4, 3, 16, 16}));
  // Two by two averages of the normalised pixels (bilinear at exactly half the size).
  EXPECT_NEAR(resized[1][2][0][0].item<float>(),
              reference[1][2].slice(0, 0, 2).slice(1, 0, 2).mean().item<float>(), 1e-5);
}

// supernet.derive: argmax is the supernet's own argmax; "target" a network within the band
// around the FLOPs target (10 % by default; [0.9, 1] x a hard budget), and a target no network
// of the space meets is bad input before any training.
TEST(SupernetTrainer, DerivingUnderTheTargetLandsWithinItsBand) {
  SupernetConfig c = SmallRun();
  const auto space = MakeMacroSpace();
  auto argmax = SupernetTrainer::Make(*space, c, torch::kCPU).value();
  EXPECT_EQ(argmax->Derive(), argmax->net().Derive());
  c.derive = "target";
  for (const double high : {1.1, 1.0}) {
    c.derive_band_high = high;
    for (const double target : {6.0, 12.0, 20.0}) {
      c.target_mflops = target;
      auto trainer = SupernetTrainer::Make(*space, c, torch::kCPU).value();
      const Architecture arch = trainer->Derive();
      const double mflops = static_cast<double>(trainer->net().ExtractNetwork(arch).value()->plan().Flops()) / 1e6;
      EXPECT_GE(mflops, 0.9 * target) << space->Format(arch);
      EXPECT_LE(mflops, high * target) << space->Format(arch);
    }
  }
  c.derive_band_high = 1.1;
  c.target_mflops = 1000;
  const auto none = SupernetTrainer::Make(*space, c, torch::kCPU);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().kind(), ErrorKind::kInvalidInput);
  EXPECT_NE(none.status().message().find("supernet.derive = 'target'"), std::string::npos) << none.status().message();
  c.target_mflops = 0;  // no target at all
  EXPECT_EQ(SupernetTrainer::Make(*space, c, torch::kCPU).status().kind(), ErrorKind::kInvalidInput);
}

// Pricing from the plans alone (what CheckDeriveTarget does before anything is made) gives the
// costs of the blocks the supernet holds, position by position, in both chain spaces.
TEST(SupernetTrainer, ThePlansPriceTheBlocksTheSupernetHolds) {
  std::vector<std::unique_ptr<ChainSpace>> spaces;
  spaces.push_back(MakeMacroSpace());
  spaces.push_back(MakeProxylessSpace());
  for (const auto& space : spaces) {
    SupernetConfig c = SmallRun();
    c.space = std::string(space->name());
    c.resolution = space->name() == "proxyless" ? 64 : 32;
    c.width_multiplier = space->name() == "proxyless" ? 0.25 : 1.0;
    const ChainNetworkOptions options = SupernetNetworkOptions(*space, c);
    const SupernetPlan plan = PlanSupernet(*space, options).value();
    const SupernetCosts costs = PriceSupernet(plan, nullptr).value();
    auto net = SupernetImpl::Make(*space, plan, options, 0);
    EXPECT_DOUBLE_EQ(costs.mflops.fixed, static_cast<double>(net->FixedFlops()) / 1e6) << space->name();
    EXPECT_FALSE(costs.latency_ms.has_value());
    ASSERT_EQ(costs.mflops.candidate.size(), net->mixed_ops().size());
    for (std::size_t p = 0; p < plan.candidates.size(); ++p) {
      MixedOp& m = net->mixed_ops()[p];
      EXPECT_EQ(plan.ops[p], m->ops()) << space->name() << " position " << p;
      ASSERT_EQ(costs.mflops.candidate[p].size(), static_cast<std::size_t>(m->size()));
      for (int k = 0; k < m->size(); ++k) {
        EXPECT_DOUBLE_EQ(costs.mflops.candidate[p][k], static_cast<double>(m->candidate(k)->plan().Flops()) / 1e6);
      }
    }
  }
}

// The fingerprint names the records read, not where they were read from.
TEST(SupernetTrainer, TheDataFingerprintFollowsTheImagesNotTheirPlace) {
  SupernetConfig c = SmallRun();
  const std::string embedded = LoadSupernetData(c).value().fingerprint;
  c.data = std::string(HPCNAS_SOURCE_DIR) + "/data/cifar10_epsilon_batch_256.bin";  // the embedded batch's file
  EXPECT_EQ(LoadSupernetData(c).value().fingerprint, embedded);
  c.data = "imagenet:" + std::string(HPCNAS_SOURCE_DIR) + "/data/tiny_imagenet_mini";
  const std::string folder = LoadSupernetData(c).value().fingerprint;
  EXPECT_NE(folder, embedded);
  c.seed += 1;  // another draw of the same folder
  EXPECT_NE(LoadSupernetData(c).value().fingerprint, folder);
}

TEST(SupernetTrainer, ACutOutSubnetIsTheSupernetPathAndRecalibrationMatchesItsBatch) {
  const auto space = MakeMacroSpace();
  ChainNetworkOptions options;
  options.resolution = 16;
  options.num_classes = 10;
  auto net = SupernetImpl::Make(*space, PlanSupernet(*space, options).value(), options, 3);
  CounterRng rng(5, {1});
  const Architecture arch = space->Sample(rng);
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({16, 3, 16, 16});
  ChainNetwork subnet = net->ExtractNetwork(arch).value();
  ASSERT_TRUE(net->SetArchitecture(arch).ok());
  net->train();
  subnet->train();
  torch::NoGradGuard no_grad;
  const torch::Tensor from_supernet = net->forward(x);
  EXPECT_TRUE(torch::allclose(from_supernet, subnet->forward(x), 1e-5, 1e-6)) << "the same weights on the same path";
  // Running statistics from this very batch (in two chunks): eval mode then normalises close to
  // how training mode did (the running variance is unbiased, and averaged over the chunks),
  // far closer than with the statistics a fresh network starts with.
  subnet->eval();
  const double gap_before = (subnet->forward(x) - from_supernet).abs().max().item<double>();
  RecalibrateBatchNorm(*subnet, x, 8);
  EXPECT_FALSE(subnet->is_training());
  const double gap = (subnet->forward(x) - from_supernet).abs().max().item<double>();
  EXPECT_LT(gap, 0.2 * gap_before) << gap << " vs " << gap_before;
  EXPECT_GT(gap, 0) << "eval mode uses the running statistics";
}

LatencyTable MeasuredMacroTable() {
  ChainNetworkOptions options;
  options.resolution = 16;
  return MeasureLatencyTable(*MakeMacroSpace(), options, torch::kCPU, LatencyMeasureOptions{1, 2, 1}).value();
}

// Fine-tuning on cropped and flipped images (supernet_ranking --augment) trains on other inputs
// than on the plain ones, drawn by the seed and key: the same result every time.
TEST(SupernetTrainer, AugmentedFineTuningIsReproducibleAndTrainsOnOtherInputs) {
  torch::set_num_threads(1);
  const SupernetConfig c = SmallRun();
  const SupernetData data = LoadSupernetData(c).value();
  const auto space = MakeMacroSpace();
  auto trainer = SupernetTrainer::Make(*space, c, torch::kCPU).value();
  CounterRng rng(5, {1});
  const Architecture arch = space->Sample(rng);
  const double augmented = trainer->EvaluateSubnet(data, arch, 3, 11, true).value().valid_loss;
  EXPECT_EQ(trainer->EvaluateSubnet(data, arch, 3, 11, true).value().valid_loss, augmented);
  EXPECT_NE(trainer->EvaluateSubnet(data, arch, 3, 11, false).value().valid_loss, augmented);
  EXPECT_NE(trainer->EvaluateSubnet(data, arch, 3, 12, true).value().valid_loss, augmented);
}

TEST(LatencyTable, PricesEveryNetworkOfTheSpaceAndNamesAMissingKey) {
  LatencyTable table = MeasuredMacroTable();
  EXPECT_EQ(table.space, "macro");
  EXPECT_EQ(table.resolution, 16);
  for (const LatencyEntry& e : table.entries) {
    EXPECT_EQ(e.count, 2) << e.key;
    EXPECT_GT(e.mean_ms, 0) << e.key;
  }
  const auto space = MakeMacroSpace();
  ChainNetworkOptions options;
  options.resolution = 16;
  CounterRng rng(2, {3});
  for (int i = 0; i < 20; ++i) {
    const NetworkPlan plan = space->Plan(space->Sample(rng), options).value();
    double sum = table.Lookup(ClassifierLatencyKey(plan.classifier_in, plan.classifier_out)).value();
    for (const BlockPlan& block : plan.blocks) sum += table.Lookup(BlockLatencyKey(block)).value();
    EXPECT_DOUBLE_EQ(table.SumOfBlocks(plan).value(), sum);
  }
  table.calibration_scale = 2;
  table.calibration_offset_ms = 0.5;
  const NetworkPlan plan = space->Plan(space->Sample(rng), options).value();
  EXPECT_DOUBLE_EQ(table.Predict(plan).value(), 2 * table.SumOfBlocks(plan).value() + 0.5);
  // Another resolution's blocks are not in the table: an error naming the key, never a default.
  options.resolution = 32;
  const StatusOr<double> missing = table.SumOfBlocks(space->Plan(space->Sample(rng), options).value());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("has no entry 'conv3x3 3x32x32"), std::string::npos) << missing.status().message();
}

TEST(LatencyTable, TimesEveryNetworkOfAGroup) {
  const auto space = MakeMacroSpace();
  ChainNetworkOptions options;
  options.resolution = 16;
  CounterRng rng(4, {5});
  std::vector<ChainNetwork> networks;
  for (int i = 0; i < 3; ++i) networks.emplace_back(space->Plan(space->Sample(rng), options).value(), BatchNormMode::kRunningStatistics);
  const std::vector<double> ms = MeasureNetworkLatencies(networks, torch::kCPU, LatencyMeasureOptions{1, 2, 1});
  ASSERT_EQ(ms.size(), networks.size());
  for (double m : ms) EXPECT_GT(m, 0);
}

TEST(LatencyTable, CalibrationFitsScaleAndOffsetAndNeverPredictsBelowZero) {
  LatencyTable table;
  FitLatencyCalibration(table, {1, 2, 3, 4}, {2.5, 4.5, 6.5, 8.5});
  EXPECT_NEAR(table.calibration_scale, 2.0, 1e-12);
  EXPECT_NEAR(table.calibration_offset_ms, 0.5, 1e-12);
  FitLatencyCalibration(table, {1, 2, 3}, {0.5, 3.0, 5.5});  // the line would cross zero: scale alone
  EXPECT_EQ(table.calibration_offset_ms, 0.0);
  EXPECT_NEAR(table.calibration_scale, (0.5 + 6.0 + 16.5) / 14.0, 1e-12);
}

TEST(LatencyTable, FileRoundTripsAndADamagedFileIsBadInput) {
  TempDir dir;
  const LatencyTable table = MeasuredMacroTable();
  ASSERT_TRUE(WriteLatencyFile(dir / "t.h5", table, {{"00000000"}, {1.0}, {1.1}, {1.2}}, {}).ok());
  const LatencyTable back = ReadLatencyFile(dir / "t.h5").value();
  ASSERT_EQ(back.entries.size(), table.entries.size());
  for (std::size_t i = 0; i < back.entries.size(); ++i) {
    EXPECT_EQ(back.entries[i].key, table.entries[i].key);
    EXPECT_EQ(back.entries[i].mean_ms, table.entries[i].mean_ms);
    EXPECT_EQ(back.entries[i].count, 2);
  }
  EXPECT_EQ(back.device, "cpu");
  std::filesystem::resize_file(dir / "t.h5", 1500);
  const StatusOr<LatencyTable> damaged = ReadLatencyFile(dir / "t.h5");
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().kind(), ErrorKind::kInvalidInput);
  EXPECT_NE(damaged.status().message().find("t.h5"), std::string::npos);
  EXPECT_FALSE(ReadLatencyFile(dir / "absent.h5").ok());
}

TEST(SupernetTrainer, ALatencyTargetMovesTheExpectedLatencyTowardsIt) {
  SupernetConfig c = SmallRun();
  c.target_mflops = 0;
  const LatencyTable table = MeasuredMacroTable();
  const auto space = MakeMacroSpace();
  const SupernetData data = LoadSupernetData(c).value();
  LocalCommunicator comm(std::make_shared<LocalWorld>(1), 0);
  auto trainer = SupernetTrainer::Make(*space, c, torch::kCPU, &table).value();
  const double start = trainer->ExpectedLatencyMs();
  EXPECT_GT(start, 0);
  EXPECT_NEAR(trainer->ExpectedMflops(), trainer->net().ExpectedFlops().item<double>() / 1e6, 1e-9);
  // A target far below: add#linear's gradient alone pushes every position towards cheaper paths.
  c.target_latency_ms = start / 10;
  c.cost_loss = "add#linear";
  c.cost_lambda = 50;
  c.arch_learning_rate = 0.05;
  c.latency_table = "measured";
  trainer = SupernetTrainer::Make(*space, c, torch::kCPU, &table).value();
  while (trainer->state().epochs_done < trainer->total_epochs()) {
    ASSERT_TRUE(trainer->RunEpoch(comm, data, Seconds(60), nullptr, nullptr).value());
    trainer->FinishEpoch(data, 1.0, nullptr);
  }
  EXPECT_LT(trainer->ExpectedLatencyMs(), start);
  EXPECT_LT(trainer->ExpectedMflops(), trainer->state().history.front().expected_mflops);
}

// add#linear pulls towards cheaper paths wherever the target is; add#abs pulls towards it from
// either side: with a target far above the start, the expected FLOPs fall under the one and rise
// under the other.
TEST(SupernetTrainer, AnAbsoluteCostPullsTheExpectedFlopsUpTowardsATargetAbove) {
  SupernetConfig c = SmallRun();
  c.cost_lambda = 50;
  c.arch_learning_rate = 0.05;
  // The expected FLOPs after the warm-up (alpha still at its start) and at the end.
  const auto first_and_last = [&](const std::string& loss, double target) {
    c.cost_loss = loss;
    c.target_mflops = target;
    const std::vector<SupernetEpoch> history = TrainOnRanks(1, c).at(0).history;
    return std::pair{history.front().expected_mflops, history.back().expected_mflops};
  };
  const auto [start, linear_above] = first_and_last("add#linear", 1000);
  const auto [start_abs, abs_above] = first_and_last("add#abs", 1000);
  EXPECT_EQ(start, start_abs);  // the same warm-up
  EXPECT_LT(linear_above, start);
  EXPECT_GT(abs_above, start);
  EXPECT_LT(first_and_last("add#abs", 1).second, start);
}

}  // namespace
}  // namespace hpcnas

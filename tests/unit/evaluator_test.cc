// The search's evaluators and its hardware budget: the cost model (engine/space/hardware_cost.h),
// a budget no proposal ever breaks, failed evaluations that stay queries but never parents or
// labels, the command evaluator (a real /bin/sh script: numbers, JSON, a crash, a hang, no rerun
// of a finished run) and the supernet evaluator (the same accuracies on 1, 2 and 3 in-process
// ranks), both spread over ranks by the scoring protocol.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/comm/local_communicator.h"
#include "engine/nn/latency_measure.h"
#include "engine/policy/evolution.h"
#include "engine/policy/search_policy.h"
#include "engine/space/hardware_cost.h"
#include "io/search_files.h"
#include "scheduler/search_loop.h"
#include "tests/unit/temp_dir.h"
#include "workers/command_evaluator.h"
#include "workers/supernet_evaluator.h"

namespace hpcnas {
namespace {

const ChainSpace& Macro() {
  static const std::unique_ptr<ChainSpace> space = MakeMacroSpace();
  return *space;
}

HardwareCost MacroCost() {
  ChainNetworkOptions options;
  options.resolution = 32;
  options.num_classes = 10;
  return HardwareCost::Make(Macro(), options, std::nullopt).value();
}

Architecture MacroArch(const std::string& genotype) { return Macro().Parse(genotype).value(); }

TEST(HardwareCost, MflopsAreThoseOfTheNetworkPlan) {
  const HardwareCost cost = MacroCost();
  // hpcnas inspect --space macro --arch 02121212: flops 76202496.
  EXPECT_DOUBLE_EQ(cost.Mflops(MacroArch("02121212")), 76.202496);
  EXPECT_TRUE(std::isnan(cost.LatencyMs(MacroArch("02121212"))));
  EXPECT_FALSE((HardwareBudget{50, 0}.Allows(cost, MacroArch("02121212"))));
  EXPECT_TRUE((HardwareBudget{80, 0}.Allows(cost, MacroArch("02121212"))));
  EXPECT_TRUE((HardwareBudget{0, 0}.Allows(cost, MacroArch("02121212"))));
}

TEST(HardwareCost, ATableOfAnotherResolutionOrWithoutABlockIsRefused) {
  ChainNetworkOptions options;
  options.resolution = 32;
  options.num_classes = 10;
  LatencyTable table;
  table.space = "macro";
  table.resolution = 16;
  StatusOr<HardwareCost> other = HardwareCost::Make(Macro(), options, table);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("16 px"), std::string::npos) << other.status().message();
  table.resolution = 32;
  StatusOr<HardwareCost> empty = HardwareCost::Make(Macro(), options, table);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("latency table"), std::string::npos) << empty.status().message();
}

TEST(HardwareCost, ALatencyBudgetUsesTheTablesPrediction) {
  ChainNetworkOptions options;
  options.resolution = 16;
  options.num_classes = 10;
  const LatencyTable table = MeasureLatencyTable(Macro(), options, torch::kCPU, LatencyMeasureOptions{1, 2, 1}).value();
  const HardwareCost cost = HardwareCost::Make(Macro(), options, table).value();
  ASSERT_TRUE(cost.has_latency());
  const std::vector<Architecture> archs = evolution::RandomArchitectures(Macro(), 2, 0, 40, {});
  std::vector<double> ms;
  for (const Architecture& a : archs) {
    ms.push_back(cost.LatencyMs(a));
    EXPECT_DOUBLE_EQ(ms.back(), table.Predict(Macro().Plan(a, options).value()).value());
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const HardwareBudget budget{0, median};
  for (std::size_t i = 0; i < archs.size(); ++i) EXPECT_EQ(budget.Allows(cost, archs[i]), ms[i] <= median);
}

TEST(Budget, NeitherRandomDrawsNorChildrenBreakIt) {
  const HardwareCost cost = MacroCost();
  const HardwareBudget budget{50, 0};
  const evolution::Admissible within = [&](const Architecture& a) { return budget.Allows(cost, a); };
  const std::vector<Architecture> drawn = evolution::RandomArchitectures(Macro(), 3, 0, 200, {}, within);
  ASSERT_EQ(drawn.size(), 200u);
  for (const Architecture& a : drawn) EXPECT_LE(cost.Mflops(a), 50.0) << Macro().Format(a);
  // Without the budget some of the same draws are over it: the filter is what keeps them out.
  int over = 0;
  for (const Architecture& a : evolution::RandomArchitectures(Macro(), 3, 0, 200, {})) over += cost.Mflops(a) > 50 ? 1 : 0;
  EXPECT_GT(over, 0);

  SearchState state;
  for (std::size_t i = 0; i < 10; ++i) {
    state.queries.push_back({drawn[i], static_cast<double>(i), 0, ""});
    state.population.push_back(drawn[i]);
  }
  SearchConfig config;
  config.tournament_size = 3;
  config.crossover = 0.5;
  const std::vector<Architecture> children = evolution::ProposeChildren(Macro(), state, config, 1, 30, {}, within);
  EXPECT_FALSE(children.empty());
  for (const Architecture& a : children) EXPECT_LE(cost.Mflops(a), 50.0) << Macro().Format(a);
}

// Accuracy = sum of the choices; architectures starting with a 2 fail. Records what it was asked.
class RecordingEvaluator : public Evaluator {
 public:
  StatusOr<std::vector<Evaluation>> Evaluate(Communicator&, const std::vector<Architecture>& archs) override {
    std::vector<Evaluation> out;
    for (const Architecture& a : archs) {
      asked.push_back(a);
      double sum = 0;
      for (std::uint8_t c : a.choices) sum += c;
      out.push_back(a.choices[0] == 2 ? Evaluation{0, "it crashed"} : Evaluation{sum, ""});
    }
    return out;
  }
  std::vector<Architecture> asked;
};

Config MacroEvolution() {
  Config c;
  c.command = "search";
  c.search.space = "macro";
  c.search.method = "evolution";
  c.search.seed = 5;
  c.search.generations = 6;
  c.search.initial_queries = 8;
  c.search.queries_per_generation = 4;
  c.search.population_size = 8;
  c.search.tournament_size = 3;
  c.runtime.timeout_s = 60;
  return c;
}

TEST(SearchLoop, UnderABudgetNothingOverItIsEvaluatedAndTheCostIsReported) {
  const Config config = MacroEvolution();
  const HardwareCost cost = MacroCost();
  const HardwareBudget budget{45, 0};
  auto policy = MakeSearchPolicy(Macro(), config.search, 0.5, [&](const Architecture& a) { return budget.Allows(cost, a); }).value();
  RecordingEvaluator evaluator;
  SearchState state;
  RunLocalRanks(1, [&](Communicator& comm) {
    const StatusOr<SearchEnd> end = RunSearch(comm, config, state, {policy.get(), &evaluator, nullptr, nullptr, &cost}, {});
    ASSERT_TRUE(end.ok()) << end.status().message();
  });
  ASSERT_EQ(evaluator.asked.size(), 8u + 5 * 4);
  for (const Architecture& a : evaluator.asked) EXPECT_LE(cost.Mflops(a), 45.0) << Macro().Format(a);
  for (const GenerationRecord& r : state.generations) {
    EXPECT_LE(r.population_mflops_max, 45.0);
    EXPECT_GT(r.population_mflops_mean, 0.0);
    EXPECT_TRUE(std::isnan(r.population_latency_ms_mean));  // no latency table
  }
}

TEST(SearchLoop, AFailedEvaluationStaysAQueryButIsNeverAParentNorTheBest) {
  const Config config = MacroEvolution();
  auto policy = MakeSearchPolicy(Macro(), config.search, 0.5).value();
  RecordingEvaluator evaluator;
  SearchState state;
  RunLocalRanks(1, [&](Communicator& comm) {
    ASSERT_TRUE(RunSearch(comm, config, state, {policy.get(), &evaluator, nullptr, nullptr}, {}).ok());
  });
  int failed = 0;
  for (const Query& q : state.queries) {
    if (q.arch.choices[0] != 2) continue;
    ++failed;
    EXPECT_TRUE(std::isnan(q.accuracy));
    EXPECT_EQ(q.failure, "it crashed");
    for (const Architecture& member : state.population) EXPECT_NE(member, q.arch);
  }
  EXPECT_GT(failed, 0) << "the draw should hold architectures that fail";
  double recorded_failures = 0;
  for (const GenerationRecord& r : state.generations) recorded_failures += r.failed_evaluations;
  EXPECT_EQ(recorded_failures, failed);
  const Query* best = BestQuery(state.queries);
  ASSERT_NE(best, nullptr);
  EXPECT_EQ(state.generations.back().best_accuracy, best->accuracy);
  EXPECT_FALSE(std::isnan(state.generations.back().best_accuracy));
}

// Trains before every generation; a stop asked for while it trains for generation
// `stoppable` cuts it short.
class TrainingEvaluator : public RecordingEvaluator {
 public:
  explicit TrainingEvaluator(std::int32_t stoppable) : stoppable_(stoppable) {}
  StatusOr<bool> Prepare(Communicator&, std::int32_t generation, const std::function<bool()>& stop_requested) override {
    prepared.push_back(generation);
    return !(generation == stoppable_ && stop_requested && stop_requested());
  }
  std::vector<std::int32_t> prepared;

 private:
  std::int32_t stoppable_;
};

TEST(SearchLoop, TheEvaluatorTrainsBeforeEachGenerationAndAStopThereCheckpointsTheLastGenerationAgain) {
  const Config config = MacroEvolution();
  auto policy = MakeSearchPolicy(Macro(), config.search, 0.5).value();
  TrainingEvaluator evaluator(2);
  SearchState state;
  std::vector<std::int32_t> checkpoints;
  SearchHooks hooks;
  hooks.checkpoint = [&](const SearchState& s) {
    checkpoints.push_back(s.next_generation - 1);
    return Status::Ok();
  };
  hooks.stop_requested = [&] { return evaluator.prepared.size() == 3; };  // asked during generation 2's training
  RunLocalRanks(1, [&](Communicator& comm) {
    const StatusOr<SearchEnd> end = RunSearch(comm, config, state, {policy.get(), &evaluator, nullptr, nullptr}, hooks);
    ASSERT_TRUE(end.ok()) << end.status().message();
    EXPECT_EQ(*end, SearchEnd::kStopped);
  });
  EXPECT_EQ(evaluator.prepared, (std::vector<std::int32_t>{0, 1, 2}));
  // Generation 1's checkpoint once more, now with what the evaluator trained since.
  EXPECT_EQ(checkpoints, (std::vector<std::int32_t>{0, 1, 1}));
  EXPECT_EQ(state.next_generation, 2);
  ASSERT_EQ(state.generations.size(), 2u);
  for (const GenerationRecord& r : state.generations) EXPECT_GE(r.seconds_evaluator_training, 0.0);
}

TEST(SearchLoop, AStopInTheTrainingBeforeGenerationZeroWritesACheckpointOfNoGeneration) {
  const Config config = MacroEvolution();
  auto policy = MakeSearchPolicy(Macro(), config.search, 0.5).value();
  TrainingEvaluator evaluator(0);
  SearchState state;
  std::vector<SearchState> checkpoints;
  SearchHooks hooks;
  hooks.checkpoint = [&](const SearchState& s) {
    checkpoints.push_back(s);
    return Status::Ok();
  };
  hooks.stop_requested = [] { return true; };
  RunLocalRanks(1, [&](Communicator& comm) {
    const StatusOr<SearchEnd> end = RunSearch(comm, config, state, {policy.get(), &evaluator, nullptr, nullptr}, hooks);
    ASSERT_TRUE(end.ok()) << end.status().message();
    EXPECT_EQ(*end, SearchEnd::kStopped);
  });
  ASSERT_EQ(checkpoints.size(), 1u);
  EXPECT_EQ(checkpoints[0].next_generation, 0);
  EXPECT_TRUE(checkpoints[0].queries.empty());
  EXPECT_TRUE(checkpoints[0].generations.empty());
  EXPECT_EQ(CheckpointPath("out", checkpoints[0].next_generation - 1), "out/checkpoints/checkpoint_g-00001.h5");
}

// ---- The command evaluator -------------------------------------------------------------------

TEST(CommandEvaluator, ReadsANumberOrJsonOnTheLastLine) {
  EXPECT_DOUBLE_EQ(ParseEvaluationOutput("epoch 1\nepoch 2\n93.25\n\n").value(), 93.25);
  EXPECT_DOUBLE_EQ(ParseEvaluationOutput("{\"loss\": 0.3, \"accuracy\": 91.5}").value(), 91.5);
  for (const char* bad : {"", "\n  \n", "done", "{\"loss\": 0.3}", "nan", "93.1%"}) {
    EXPECT_FALSE(ParseEvaluationOutput(bad).ok()) << "'" << bad << "'";
  }
  EXPECT_NE(ParseEvaluationOutput("done").status().message().find("'done'"), std::string::npos);
}

TEST(CommandEvaluator, QuotesTheArchitectureAndTheDirectoryForTheShell) {
  EXPECT_EQ(ExpandEvaluateCommand("train.sh {arch} --out {out}", "it's", "/a b"), "train.sh 'it'\\''s' --out '/a b'");
}

int CountLines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST(CommandEvaluator, SurvivesACrashAndAHangOnThreeRanksAndNeverRunsAFinishedOneAgain) {
  TempDir dir;
  const std::string script = dir / "train.sh";
  std::ofstream(script) << "#!/bin/sh\n"
                           "echo \"$1\" >> '" << dir / "calls.log" << "'\n"
                           "case \"$1\" in\n"
                           "  2*) echo 'out of memory' >&2; exit 3;;\n"
                           "  1*) sleep 60;;\n"
                           "  01*) echo 'not a number'; exit 0;;\n"
                           "esac\n"
                           "echo \"training...\"\n"
                           "echo \"{\\\"accuracy\\\": 9$HPCNAS_RANK.5, \\\"arch\\\": \\\"$1\\\"}\"\n";
  const std::string command = "sh " + script + " {arch} {out}";
  const std::vector<Architecture> archs = {MacroArch("00000000"), MacroArch("20000000"), MacroArch("10000000"),
                                           MacroArch("01000000"), MacroArch("00100000"), MacroArch("00010000")};
  std::vector<std::vector<Evaluation>> got(3);
  auto run = [&](const std::string& cmd) {
    const auto errors = RunLocalRanks(3, [&](Communicator& comm) {
      CommandEvaluator evaluator(Macro(), cmd, Seconds(1), dir / "runs", FaultInjection{}, comm.rank(), Seconds(30));
      StatusOr<std::vector<Evaluation>> e = evaluator.Evaluate(comm, archs);
      ASSERT_TRUE(e.ok()) << e.status().message();
      got[comm.rank()] = *e;
    });
    for (const std::string& e : errors) EXPECT_EQ(e, "");
  };
  run(command);
  ASSERT_EQ(got[0].size(), archs.size());
  for (int r = 1; r < 3; ++r) {
    for (std::size_t i = 0; i < archs.size(); ++i) {
      EXPECT_EQ(got[r][i].failure, got[0][i].failure);
      EXPECT_TRUE(got[r][i].accuracy == got[0][i].accuracy || (std::isnan(got[r][i].accuracy) && std::isnan(got[0][i].accuracy)));
    }
  }
  const std::vector<Evaluation>& e = got[0];
  for (std::size_t i : {0, 4, 5}) {
    EXPECT_EQ(e[i].failure, "") << i;
    EXPECT_TRUE(e[i].accuracy == 90.5 || e[i].accuracy == 91.5 || e[i].accuracy == 92.5) << e[i].accuracy;  // 9<rank>.5
  }
  EXPECT_NE(e[1].failure.find("exited with status 3"), std::string::npos) << e[1].failure;
  EXPECT_NE(e[1].failure.find("out of memory"), std::string::npos) << e[1].failure;
  EXPECT_NE(e[2].failure.find("timed out after 1 s"), std::string::npos) << e[2].failure;
  EXPECT_NE(e[3].failure.find("not a number"), std::string::npos) << e[3].failure;
  EXPECT_EQ(CountLines(dir / "calls.log"), 6);

  // Again, as a resumed search would: every run finished (the failed ones too), none repeats.
  run(command);
  EXPECT_EQ(CountLines(dir / "calls.log"), 6);
  EXPECT_EQ(got[0][0].accuracy, e[0].accuracy);
  EXPECT_EQ(got[0][2].failure, e[2].failure);
  // Another command line is another evaluation: it runs.
  run(command + " # v2");
  EXPECT_EQ(CountLines(dir / "calls.log"), 12);
}

// ---- The supernet evaluator ------------------------------------------------------------------

// A macro supernet small enough for a unit test: 16 px, 32 train and 32 held-out images.
Config SmallSupernetConfig(std::uint64_t seed) {
  Config config;
  config.supernet.space = "macro";
  config.supernet.resolution = 16;
  config.supernet.train_images = 32;
  config.supernet.valid_images = 32;
  config.supernet.recalibration_images = 16;
  config.supernet.batch_size = 8;
  config.supernet.seed = seed;
  return config;
}

// A checkpoint of config's supernet as initialised (no training needed to test the evaluation).
SupernetCheckpoint UntrainedCheckpoint(const Config& config) {
  SupernetCheckpoint checkpoint;
  checkpoint.space = "macro";
  checkpoint.config_toml = ToToml(config);
  checkpoint.state = SupernetTrainer::Make(Macro(), config.supernet, torch::kCPU).value()->Export();
  return checkpoint;
}

SupernetData Data(const Config& config) { return LoadSupernetData(config.supernet).value(); }

TEST(SupernetEvaluator, GivesTheSameAccuraciesOnOneTwoAndThreeRanks) {
  const Config config = SmallSupernetConfig(3);
  torch::set_num_threads(1);
  const SupernetCheckpoint checkpoint = UntrainedCheckpoint(config);
  const std::vector<Architecture> archs = evolution::RandomArchitectures(Macro(), 1, 0, 7, {});

  auto evaluate = [&](int ranks, int finetune_steps) {
    std::vector<std::vector<Evaluation>> got(ranks);
    const auto errors = RunLocalRanks(ranks, [&](Communicator& comm) {
      torch::set_num_threads(1);
      auto evaluator = SupernetEvaluator::Make(Macro(), checkpoint, Data(config), finetune_steps, torch::kCPU, FaultInjection{},
                                               comm.rank(), Seconds(60));
      ASSERT_TRUE(evaluator.ok()) << evaluator.status().message();
      StatusOr<std::vector<Evaluation>> e = (*evaluator)->Evaluate(comm, archs);
      ASSERT_TRUE(e.ok()) << e.status().message();
      got[comm.rank()] = *e;
    });
    for (const std::string& e : errors) EXPECT_EQ(e, "");
    std::vector<double> accuracy;
    for (const Evaluation& e : got[0]) {
      EXPECT_EQ(e.failure, "");
      accuracy.push_back(e.accuracy);
    }
    for (int r = 1; r < ranks; ++r) {
      for (std::size_t i = 0; i < archs.size(); ++i) EXPECT_EQ(got[r][i].accuracy, accuracy[i]) << "rank " << r;
    }
    return accuracy;
  };
  const std::vector<double> one = evaluate(1, 2);
  ASSERT_EQ(one.size(), archs.size());
  for (double a : one) {
    EXPECT_GE(a, 0);
    EXPECT_LE(a, 100);
  }
  EXPECT_EQ(evaluate(2, 2), one);
  EXPECT_EQ(evaluate(3, 2), one);

  // Without fine-tuning, each is the trainer's own evaluation of that subnet.
  const std::vector<double> plain = evaluate(2, 0);
  const SupernetData data = LoadSupernetData(config.supernet).value();
  auto trainer = SupernetTrainer::Make(Macro(), config.supernet, torch::kCPU).value();
  for (std::size_t i = 0; i < archs.size(); ++i) {
    EXPECT_EQ(plain[i], trainer->EvaluateSubnet(data, archs[i], 0, 0).value().valid_accuracy);
  }
}

TEST(SupernetEvaluator, TheLogLikelihoodScoreIsMinusTheHeldOutCrossEntropyOnAnyRankCount) {
  const Config config = SmallSupernetConfig(4);
  torch::set_num_threads(1);
  const SupernetCheckpoint checkpoint = UntrainedCheckpoint(config);
  const std::vector<Architecture> archs = evolution::RandomArchitectures(Macro(), 1, 0, 5, {});
  auto labels = [&](int ranks) {
    std::vector<double> got(archs.size());
    const auto errors = RunLocalRanks(ranks, [&](Communicator& comm) {
      torch::set_num_threads(1);
      auto evaluator = SupernetEvaluator::Make(Macro(), checkpoint, Data(config), 0, torch::kCPU, FaultInjection{}, comm.rank(), Seconds(60));
      ASSERT_TRUE(evaluator.ok()) << evaluator.status().message();
      (*evaluator)->score_by_log_likelihood = true;
      StatusOr<std::vector<Evaluation>> e = (*evaluator)->Evaluate(comm, archs);
      ASSERT_TRUE(e.ok()) << e.status().message();
      if (comm.rank() == 0) {
        for (std::size_t i = 0; i < archs.size(); ++i) got[i] = (*e)[i].accuracy;
      }
    });
    for (const std::string& e : errors) EXPECT_EQ(e, "");
    return got;
  };
  const std::vector<double> one = labels(1);
  EXPECT_EQ(labels(2), one);

  // Each label is minus the cross-entropy of the subnet, recomputed here in one batch.
  const SupernetData data = LoadSupernetData(config.supernet).value();
  auto trainer = SupernetTrainer::Make(Macro(), config.supernet, torch::kCPU).value();
  for (std::size_t i = 0; i < archs.size(); ++i) {
    ChainNetwork network = trainer->net().ExtractNetwork(archs[i]).value();
    RecalibrateBatchNorm(*network, data.Inputs(data.train_pixels.slice(0, 0, config.supernet.recalibration_images)),
                         config.supernet.batch_size);
    torch::NoGradGuard no_grad;
    const double cross_entropy =
        torch::nn::functional::cross_entropy(network->forward(data.Inputs(data.valid_pixels)).to(torch::kFloat64), data.valid_labels)
            .item<double>();
    EXPECT_GT(cross_entropy, 0);
    EXPECT_NEAR(one[i], -cross_entropy, 1e-4) << Macro().Format(archs[i]);
  }
  EXPECT_NE(*std::min_element(one.begin(), one.end()), *std::max_element(one.begin(), one.end()));
}

TEST(SupernetEvaluator, TrainedInsideTheSearchFollowsItsScheduleTheSameOnOneAndTwoRanks) {
  Config config = SmallSupernetConfig(5);
  config.supernet.micro_batches = 2;
  config.supernet.warmup_epochs = 1;
  config.supernet.epochs = 2;
  config.supernet.arch_every = 2;
  const std::vector<Architecture> archs = evolution::RandomArchitectures(Macro(), 1, 0, 4, {});

  struct Outcome {
    std::vector<std::int64_t> epochs_after;  // epochs done after Prepare of generations 0, 1, 2, 3
    std::vector<double> accuracy;
    SupernetTrainingState state;
  };
  auto run = [&](int ranks) {
    std::vector<Outcome> got(ranks);
    const auto errors = RunLocalRanks(ranks, [&](Communicator& comm) {
      torch::set_num_threads(1);
      auto made = SupernetEvaluator::MakeTrained(Macro(), config.supernet, Data(config), 1, nullptr, 0, torch::kCPU,
                                                 FaultInjection{}, comm.rank(), Seconds(60));
      ASSERT_TRUE(made.ok()) << made.status().message();
      SupernetEvaluator& evaluator = **made;
      ASSERT_NE(evaluator.training(), nullptr);
      // A stop asked for at once ends the warm-up before its first epoch is done.
      StatusOr<bool> stopped = evaluator.Prepare(comm, 0, [] { return true; });
      ASSERT_TRUE(stopped.ok()) << stopped.status().message();
      EXPECT_FALSE(*stopped);
      EXPECT_EQ(evaluator.training()->state().epochs_done, 0);
      made = SupernetEvaluator::MakeTrained(Macro(), config.supernet, Data(config), 1, nullptr, 0, torch::kCPU, FaultInjection{},
                                            comm.rank(), Seconds(60));
      ASSERT_TRUE(made.ok());
      int epochs_seen = 0;
      (*made)->on_epoch = [&](const SupernetEpoch&) { ++epochs_seen; };
      Outcome& outcome = got[comm.rank()];
      for (std::int32_t g = 0; g < 4; ++g) {
        StatusOr<bool> ready = (*made)->Prepare(comm, g, nullptr);
        ASSERT_TRUE(ready.ok()) << ready.status().message();
        EXPECT_TRUE(*ready);
        outcome.epochs_after.push_back((*made)->training()->state().epochs_done);
      }
      EXPECT_EQ(epochs_seen, 3);
      StatusOr<std::vector<Evaluation>> e = (*made)->Evaluate(comm, archs);
      ASSERT_TRUE(e.ok()) << e.status().message();
      for (const Evaluation& one : *e) outcome.accuracy.push_back(one.accuracy);
      outcome.state = (*made)->training()->Export();
    });
    for (const std::string& e : errors) EXPECT_EQ(e, "");
    return got;
  };
  const std::vector<Outcome> one = run(1), two = run(2);
  // The warm-up before generation 0, then one epoch per generation until warm-up + 2 are done.
  EXPECT_EQ(one[0].epochs_after, (std::vector<std::int64_t>{1, 2, 3, 3}));
  EXPECT_GT(one[0].state.arch_steps, 0);
  for (const Outcome& o : two) {
    EXPECT_EQ(o.epochs_after, one[0].epochs_after);
    EXPECT_EQ(o.accuracy, one[0].accuracy);
    EXPECT_EQ(o.state.alpha, one[0].state.alpha);
    ASSERT_EQ(o.state.weights.size(), one[0].state.weights.size());
    for (std::size_t i = 0; i < o.state.weights.size(); ++i) EXPECT_EQ(o.state.weights[i].values, one[0].state.weights[i].values);
  }
  // Training moved the weights away from the initial ones.
  const SupernetTrainingState initial = SupernetTrainer::Make(Macro(), config.supernet, torch::kCPU).value()->Export();
  EXPECT_NE(initial.weights.front().values, one[0].state.weights.front().values);
}

TEST(SupernetEvaluator, AFixedCheckpointIsNeverTrained) {
  const Config config = SmallSupernetConfig(0);
  const SupernetCheckpoint checkpoint = UntrainedCheckpoint(config);
  const auto errors = RunLocalRanks(1, [&](Communicator& comm) {
    auto made = SupernetEvaluator::Make(Macro(), checkpoint, Data(config), 0, torch::kCPU, FaultInjection{}, 0, Seconds(10));
    ASSERT_TRUE(made.ok()) << made.status().message();
    EXPECT_EQ((*made)->training(), nullptr);
    StatusOr<bool> ready = (*made)->Prepare(comm, 3, nullptr);
    ASSERT_TRUE(ready.ok());
    EXPECT_TRUE(*ready);
  });
  for (const std::string& e : errors) EXPECT_EQ(e, "");
}

TEST(SupernetEvaluator, RefusesACheckpointOfAnotherSpace) {
  SupernetCheckpoint checkpoint;
  checkpoint.space = "proxyless";
  StatusOr<std::unique_ptr<SupernetEvaluator>> made =
      SupernetEvaluator::Make(Macro(), checkpoint, SupernetData{}, 0, torch::kCPU, FaultInjection{}, 0, Seconds(1));
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("proxyless"), std::string::npos);
}

}  // namespace
}  // namespace hpcnas

namespace hpcnas {
namespace {

TEST(TnaspPolicy, WithoutThePrefilterGenerationZeroIsRandomAndNoEpsilonIsAsked) {
  Config config = MacroEvolution();
  config.search.method = "tnasp";
  config.search.initial_pool = 30;
  config.search.prefilter = "none";
  auto policy = MakeSearchPolicy(Macro(), config.search, 0.5).value();
  EXPECT_FALSE(policy->UsesEpsilon());
  EXPECT_TRUE(policy->UsesPredictor(1));
  SearchState state;
  const std::vector<Architecture> pool = policy->Propose(state, 0);
  ASSERT_EQ(pool.size(), 30u);
  const std::vector<Architecture> chosen = policy->Select(state, 0, pool, {});
  EXPECT_EQ(chosen, std::vector<Architecture>(pool.begin(), pool.begin() + config.search.initial_queries));
  // Later, the predictor alone ranks (no epsilon is in the state, none is looked up).
  for (const Architecture& a : chosen) state.queries.push_back({a, 1.0, 0, ""});
  state.population = chosen;
  const std::vector<Architecture> children = policy->Propose(state, 1);
  std::vector<double> predicted;
  for (std::size_t i = 0; i < children.size(); ++i) predicted.push_back(static_cast<double>(i));
  const std::vector<Architecture> picked = policy->Select(state, 1, children, predicted);
  ASSERT_EQ(picked.size(), static_cast<std::size_t>(config.search.queries_per_generation));
  // explore 0.2 of 4: the first child as proposed, then the best predicted (the last), and so on.
  EXPECT_EQ(picked[0], children[0]);
  EXPECT_EQ(picked[1], children.back());
  EXPECT_EQ(picked[2], children[children.size() - 2]);
}

}  // namespace
}  // namespace hpcnas

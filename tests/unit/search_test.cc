// The search: the policies (pure), the generation loop on in-process ranks with the real
// epsilon scorer and predictor on NB201 and NAS-Bench-Macro, and its checkpoint files.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <algorithm>
#include <set>

#include "engine/comm/local_communicator.h"
#include "engine/space/nb201.h"
#include "engine/policy/evolution.h"
#include "engine/space/nb201_space.h"
#include "io/cifar.h"
#include "io/search_files.h"
#include "io/space_data.h"
#include "scheduler/search_loop.h"
#include "workers/search_workers.h"
#include "workers/tabular_evaluator.h"

namespace hpcnas {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const SearchSpace& Space(const std::string& name) {
  static const auto nb201 = MakeSearchSpace("nb201").value();
  static const auto macro = MakeSearchSpace("macro").value();
  return name == "macro" ? *macro : *nb201;
}
const SearchSpace& Nb201() { return Space("nb201"); }

const TruthTable& Truth(const std::string& space = "nb201") {
  static const TruthTable nb201 = *LoadTruthTable(Space("nb201"), "embedded", "cifar10_test");
  static const TruthTable macro = *LoadTruthTable(Space("macro"), "embedded", "mean_test_acc");
  return space == "macro" ? macro : nb201;
}
double Accuracy(const Architecture& arch, const std::string& space = "nb201") {
  return Truth(space).Lookup(Space(space), {arch})->front();
}

Architecture Cell(int code) { return FromNb201(nb201::Genotype::FromCode(code)); }
std::vector<Architecture> Cells(const std::vector<int>& codes) {
  std::vector<Architecture> out;
  for (int code : codes) out.push_back(Cell(code));
  return out;
}

SearchState StateWithPopulation(const std::vector<Architecture>& archs, const std::string& space = "nb201") {
  SearchState state;
  for (const Architecture& arch : archs) {
    state.queries.push_back({arch, Accuracy(arch, space), 0, ""});
    state.population.push_back(arch);
  }
  return state;
}
SearchState StateWithPopulation(const std::vector<int>& codes) { return StateWithPopulation(Cells(codes)); }

int PositionsThatDiffer(const Architecture& a, const Architecture& b) {
  int n = 0;
  for (std::size_t p = 0; p < a.choices.size(); ++p) n += a.choices[p] != b.choices[p];
  return n;
}

TEST(Evolution, ChildrenAreDistinctUnseenOneEdgeMutantsOfThePopulation) {
  const SearchState state = StateWithPopulation({5, 900, 4000, 12000, 15000});
  SearchConfig config;
  config.seed = 4;
  config.tournament_size = 3;
  const auto exclude = evolution::EvaluatedHashes(Nb201(), state);
  const auto children = evolution::ProposeChildren(Nb201(), state, config, 1, 60, exclude);
  ASSERT_EQ(children.size(), 60u);
  std::set<Architecture> unique(children.begin(), children.end());
  EXPECT_EQ(unique.size(), children.size());
  for (const Architecture& child : children) {
    EXPECT_FALSE(exclude.count(Nb201().CanonicalHash(child))) << Nb201().Format(child) << " was evaluated";
    bool one_edge_from_a_member = false;
    for (const Architecture& member : state.population) one_edge_from_a_member |= PositionsThatDiffer(child, member) == 1;
    EXPECT_TRUE(one_edge_from_a_member) << Nb201().Format(child);
  }
  // A pure function of (seed, generation, state); another generation draws other children.
  EXPECT_EQ(evolution::ProposeChildren(Nb201(), state, config, 1, 60, exclude), children);
  EXPECT_NE(evolution::ProposeChildren(Nb201(), state, config, 2, 60, exclude), children);
}

TEST(Evolution, MacroChildrenAreCanonicalDistinctNetworks) {
  const SearchSpace& macro = Space("macro");
  std::vector<Architecture> members;
  for (const char* code : {"22212202", "11111111", "20120100", "02020202", "12121212"}) members.push_back(macro.Canonical(*macro.Parse(code)));
  const SearchState state = StateWithPopulation(members, "macro");
  SearchConfig config;
  config.tournament_size = 2;
  config.crossover = 0.5;
  const auto children = evolution::ProposeChildren(macro, state, config, 1, 200, evolution::EvaluatedHashes(macro, state));
  ASSERT_EQ(children.size(), 200u);
  std::set<std::uint64_t> hashes;
  for (const Architecture& child : children) {
    EXPECT_EQ(macro.Canonical(child), child) << macro.Format(child);
    hashes.insert(macro.CanonicalHash(child));
  }
  EXPECT_EQ(hashes.size(), children.size()) << "two children are the same network";
}

TEST(Evolution, TournamentsFavourTheBestMember) {
  // The best of 5 members always wins a tournament of 5: every child is its mutant.
  const SearchState state = StateWithPopulation({5, 900, 4000, 12000, 15000});
  Architecture best = state.population[0];
  for (const Architecture& member : state.population) {
    if (Accuracy(member) > Accuracy(best)) best = member;
  }
  SearchConfig config;
  config.tournament_size = 5;
  for (const Architecture& child : evolution::ProposeChildren(Nb201(), state, config, 1, 20, evolution::EvaluatedHashes(Nb201(), state))) {
    EXPECT_EQ(PositionsThatDiffer(child, best), 1);
  }
}

TEST(Evolution, CrossoverMixesTwoParents) {
  const SearchState state = StateWithPopulation({0, 15624});  // all 'none' and all 'avg_pool'
  SearchConfig config;
  config.crossover = 1.0;
  config.tournament_size = 1;
  int mixed = 0;
  for (const Architecture& child : evolution::ProposeChildren(Nb201(), state, config, 1, 30, evolution::EvaluatedHashes(Nb201(), state))) {
    const auto g = ToNb201(child);
    std::set<nb201::Op> ops(g.ops.begin(), g.ops.end());
    mixed += ops.count(nb201::Op::kNone) && ops.count(nb201::Op::kAvgPool3x3);
  }
  EXPECT_GT(mixed, 10);
}

TEST(Evolution, RandomArchitecturesAvoidTheExcludedAndRunOutCleanly) {
  const auto all = evolution::RandomArchitectures(Nb201(), 1, 0, nb201::kNumCells + 5, {});
  EXPECT_EQ(all.size(), static_cast<std::size_t>(nb201::kNumCells));
  const auto exclude = evolution::EvaluatedHashes(Nb201(), StateWithPopulation({1, 2, 3}));
  const auto cells = evolution::RandomArchitectures(Nb201(), 1, 0, 15000, exclude);
  EXPECT_EQ(cells.size(), 15000u);
  for (const Architecture& arch : cells) {
    const int code = ToNb201(arch).Code();
    EXPECT_TRUE(code < 1 || code > 3) << code;
  }
  // NAS-Bench-Macro: 6,561 genotypes, 3,969 networks; every network once, canonical.
  const SearchSpace& macro = Space("macro");
  const auto networks = evolution::RandomArchitectures(macro, 1, 0, 10000, {});
  EXPECT_EQ(networks.size(), 3969u);
  for (const Architecture& arch : networks) EXPECT_EQ(macro.Canonical(arch), arch);
}

TEST(Evolution, AgingKeepsTheYoungest) {
  SearchState state = StateWithPopulation({1, 2, 3});
  evolution::AgePopulation(state, Cells({7, 8}), 4);
  EXPECT_EQ(state.population, Cells({2, 3, 7, 8}));
}

// Issue 5, item 7: a NaN epsilon is unknown, not bad.
TEST(Evolution, NanEpsilonNeverRanksACandidateLast) {
  const std::vector<Architecture> candidates = Cells({10, 11, 12, 13});
  const std::vector<double> epsilon = {0.9, kNaN, 0.1, 0.5};
  const std::vector<double> predicted = {90.0, 94.0, 80.0, 85.0};
  // The predictor likes the NaN cell best: it is selected first under every rule that uses it.
  for (const std::string selection : {"combined", "predictor"}) {
    EXPECT_EQ(evolution::RankCandidates(candidates, predicted, epsilon, selection).front(), 1u) << selection;
  }
  // Epsilon alone (no predictor yet): the unknown cell takes the middle quantile (0.5, tied
  // with the median cell), never the end.
  const auto order = evolution::RankCandidates(candidates, {}, epsilon, "epsilon");
  EXPECT_EQ(order.front(), 0u);
  EXPECT_EQ(order.back(), 2u);
}

TEST(Evolution, EpsilonKeysAreFiniteExceptForInputIndependentCells) {
  SearchState state;
  state.epsilon = {{Cell(1), 0.5, 0.5}, {Cell(2), kNaN, 0.01}, {Cell(3), kNaN, kNaN}, {Cell(4), 0.2, 0.2}};
  const auto keys = evolution::EpsilonKeys(state, 0.5);
  EXPECT_TRUE(std::isfinite(keys.at(Cell(2).Bytes()))) << "underflowed in float32: ranked by exact epsilon";
  EXPECT_GT(keys.at(Cell(2).Bytes()), keys.at(Cell(4).Bytes()));
  EXPECT_TRUE(std::isnan(keys.at(Cell(3).Bytes())));
}

TEST(SearchPolicy, FactoryNamesThePoliciesAndTheirServices) {
  SearchConfig config;
  for (const std::string method : {"tnasp", "evolution", "random"}) {
    config.method = method;
    auto policy = MakeSearchPolicy(Nb201(), config, 0.5);
    ASSERT_TRUE(policy.ok()) << method;
    EXPECT_EQ((*policy)->name(), method);
    EXPECT_EQ((*policy)->UsesEpsilon(), method == "tnasp");
    EXPECT_FALSE((*policy)->UsesPredictor(0));
    EXPECT_EQ((*policy)->UsesPredictor(1), method == "tnasp");
  }
  config.method = "bayes";
  EXPECT_FALSE(MakeSearchPolicy(Nb201(), config, 0.5).ok());
}

// ---- The loop on in-process ranks ------------------------------------------------------------

Config SmallSearch(const std::string& method) {
  Config c;
  c.command = "search";
  c.search.method = method;
  c.search.seed = 7;
  c.search.generations = 4;
  c.search.initial_pool = 40;
  c.search.initial_queries = 6;
  c.search.candidates = 16;
  c.search.queries_per_generation = 4;
  c.search.population_size = 8;
  c.search.tournament_size = 3;
  c.search.predictor_epochs = 3;
  c.predictor.d_model = 16;
  c.predictor.heads = 2;
  c.predictor.layers = 1;
  c.predictor.feedforward = 32;
  c.predictor.head_hidden = 8;
  c.predictor.gradient_shards = 3;
  c.epsilon.batch_size = 16;
  c.runtime.timeout_s = 120;
  return c;
}

struct RunResult {
  SearchState state;
  PredictorFile predictor;
  std::vector<SearchCheckpoint> checkpoints;  // rank 0's, one per generation
};

// Runs the search on `ranks` in-process ranks from `resume_from` (if any) up to
// config.search.generations; returns rank 0's final state and checkpoints, and checks that
// every rank's replica ended equal.
RunResult RunOnRanks(int ranks, const Config& config, const SearchCheckpoint* resume_from = nullptr,
                     CandidateScorer* scorer_override = nullptr) {
  const CifarImages images = *LoadCifarImages("embedded", config.epsilon.batch_size);
  const SearchSpace& space = Space(config.search.space);
  std::vector<RunResult> results(ranks);
  const auto errors = RunLocalRanks(ranks, [&](Communicator& comm) {
    torch::set_num_threads(1);
    Config resolved = config;
    ResolveEpsilonWeights(resolved.epsilon, config.search.space);
    auto scorer = EpsilonCandidateScorer::Make(space, resolved, CifarImagesToTensor(images.pixels.data(), images.count),
                                               FaultInjection{}, comm.rank());
    ASSERT_TRUE(scorer.ok()) << scorer.status().message();
    TnaspSearchPredictor predictor(space, config, ModelOptionsFromConfig(config.predictor)->ForSpace(space));
    TabularEvaluator evaluator(space, Truth(config.search.space), Seconds(60));
    auto policy = MakeSearchPolicy(space, config.search, config.epsilon.nan_offset).value();
    RunResult& mine = results[comm.rank()];
    if (resume_from) {
      mine.state = resume_from->state;
      ASSERT_TRUE(predictor.Import(resume_from->predictor).ok());
    }
    SearchHooks hooks;
    hooks.checkpoint = [&](const SearchState& s) {
      mine.checkpoints.push_back({config.search.space, ToToml(config), "run", s, predictor.Export(), {}, {}});
      return Status::Ok();
    };
    const bool tnasp = config.search.method == "tnasp";
    const SearchServices services{policy.get(), &evaluator, scorer_override ? scorer_override : scorer->get(),
                                  tnasp ? &predictor : nullptr};
    StatusOr<SearchEnd> end = RunSearch(comm, config, mine.state, services, hooks);
    if (!end.ok()) throw std::runtime_error(end.status().message());
    mine.predictor = predictor.Export();
  });
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  for (int r = 1; r < ranks; ++r) {
    EXPECT_EQ(results[r].state.population, results[0].state.population) << "rank " << r;
    EXPECT_EQ(results[r].predictor.parameters.back().values, results[0].predictor.parameters.back().values) << "rank " << r;
  }
  return results[0];
}

std::vector<std::pair<Architecture, double>> Labels(const SearchState& s) {
  std::vector<std::pair<Architecture, double>> out;
  for (const Query& q : s.queries) out.emplace_back(q.arch, q.accuracy);
  return out;
}

std::vector<float> AllWeights(const PredictorFile& p) {
  std::vector<float> out;
  for (const NamedArray& a : p.parameters) out.insert(out.end(), a.values.begin(), a.values.end());
  out.insert(out.end(), p.adam_second_moment.begin(), p.adam_second_moment.end());
  return out;
}

TEST(SearchLoop, SameSearchOnOneTwoAndThreeRanks) {
  const Config config = SmallSearch("tnasp");
  const RunResult one = RunOnRanks(1, config);
  ASSERT_EQ(one.state.queries.size(), 6u + 3 * 4u);
  ASSERT_EQ(one.state.generations.size(), 4u);
  EXPECT_EQ(one.state.population.size(), 8u);
  EXPECT_GE(one.state.epsilon.size(), 40u);
  for (int ranks : {2, 3}) {
    const RunResult many = RunOnRanks(ranks, config);
    EXPECT_EQ(Labels(many.state), Labels(one.state)) << ranks << " ranks";
    EXPECT_EQ(many.state.population, one.state.population) << ranks << " ranks";
    EXPECT_EQ(AllWeights(many.predictor), AllWeights(one.predictor)) << ranks << " ranks";
  }
}

TEST(SearchLoop, ResumeFromAnyGenerationGivesTheUninterruptedResult) {
  Config config = SmallSearch("tnasp");
  const RunResult straight = RunOnRanks(2, config);
  // Stop after generation 1 (2 done), resume on another number of ranks.
  Config first_half = config;
  first_half.search.generations = 2;
  const RunResult half = RunOnRanks(2, first_half);
  const RunResult resumed = RunOnRanks(3, config, &half.checkpoints.back());
  EXPECT_EQ(Labels(resumed.state), Labels(straight.state));
  EXPECT_EQ(resumed.state.population, straight.state.population);
  EXPECT_EQ(AllWeights(resumed.predictor), AllWeights(straight.predictor));
}

TEST(SearchLoop, BaselinesQueryExactlyTheirBudget) {
  for (const std::string method : {"evolution", "random"}) {
    const RunResult run = RunOnRanks(2, SmallSearch(method));
    EXPECT_EQ(run.state.queries.size(), 6u + 3 * 4u) << method;
    EXPECT_TRUE(run.state.epsilon.empty()) << method << " scores nothing";
    std::set<Architecture> unique;
    for (const Query& q : run.state.queries) unique.insert(q.arch);
    EXPECT_EQ(unique.size(), run.state.queries.size()) << method << " queries a cell twice";
  }
}

// Every candidate NaN in float32 and in exact arithmetic: the search still selects and
// evaluates cells (the predictor ranks them), and epsilon never filters one out.
class AllNanScorer : public CandidateScorer {
 public:
  StatusOr<std::vector<EpsilonRecord>> Score(Communicator&, const std::vector<Architecture>& archs) override {
    std::vector<EpsilonRecord> out;
    for (const Architecture& arch : archs) out.push_back({arch, kNaN, kNaN});
    return out;
  }
};

TEST(SearchLoop, NanEpsilonCellsAreStillSelected) {
  AllNanScorer scorer;
  const RunResult run = RunOnRanks(1, SmallSearch("tnasp"), nullptr, &scorer);
  EXPECT_EQ(run.state.queries.size(), 6u + 3 * 4u);
  for (const EpsilonRecord& r : run.state.epsilon) EXPECT_TRUE(std::isnan(r.epsilon));
}

// Prefers small cell codes, trains instantly: makes the predictor's choice visible.
class SmallCodesPredictor : public SearchPredictor {
 public:
  Status Train(Communicator&, const std::vector<Query>&, const std::vector<Architecture>&, std::int32_t) override {
    return Status::Ok();
  }
  StatusOr<std::vector<double>> Predict(Communicator&, const std::vector<Architecture>& archs) override {
    std::vector<double> out;
    for (const Architecture& arch : archs) out.push_back(-ToNb201(arch).Code());
    return out;
  }
};

std::vector<int> Codes(const std::vector<Architecture>& archs) {
  std::vector<int> out;
  for (const Architecture& arch : archs) out.push_back(ToNb201(arch).Code());
  return out;
}

// Generation 1's queries with a given exploration share, and the candidates it saw.
std::pair<std::vector<int>, std::vector<int>> FirstChildGeneration(double explore) {
  Config config = SmallSearch("tnasp");
  config.search.explore = explore;
  AllNanScorer scorer;
  SmallCodesPredictor predictor;
  TabularEvaluator evaluator(Nb201(), Truth(), Seconds(60));
  auto policy = MakeSearchPolicy(Nb201(), config.search, 0.5).value();
  const SearchServices services{policy.get(), &evaluator, &scorer, &predictor};
  std::vector<Architecture> picked, candidates;
  RunLocalRanks(1, [&](Communicator& comm) {
    SearchState state;
    config.search.generations = 1;
    ASSERT_TRUE(RunSearch(comm, config, state, services, {}).ok());
    candidates = policy->Propose(state, 1);
    config.search.generations = 2;
    ASSERT_TRUE(RunSearch(comm, config, state, services, {}).ok());
    for (const Query& q : state.queries) {
      if (q.generation == 1) picked.push_back(q.arch);
    }
  });
  return {Codes(picked), Codes(candidates)};
}

TEST(SearchLoop, ExplorationShareTakesChildrenAsProposed) {
  const auto [by_predictor, candidates] = FirstChildGeneration(0.0);
  std::vector<int> smallest = candidates;
  std::sort(smallest.begin(), smallest.end());
  smallest.resize(4);
  EXPECT_EQ(by_predictor, smallest) << "explore 0: the predictor's top 4";
  const auto [half, unused] = FirstChildGeneration(0.5);
  EXPECT_EQ(std::vector<int>(half.begin(), half.begin() + 2), std::vector<int>(candidates.begin(), candidates.begin() + 2))
      << "explore 0.5: 2 as proposed";
  std::vector<int> rest(candidates.begin() + 2, candidates.end());
  std::sort(rest.begin(), rest.end());
  EXPECT_EQ(std::vector<int>(half.begin() + 2, half.end()), std::vector<int>(rest.begin(), rest.begin() + 2))
      << "explore 0.5: then the predictor's best of the rest";
}

// NAS-Bench-Macro through the same loop: epsilon on the chain network, the chain predictor,
// the macro table; the same search on one and on three ranks.
TEST(SearchLoop, MacroSearchIsTheSameOnOneAndThreeRanks) {
  Config config = SmallSearch("tnasp");
  config.search.space = "macro";
  config.search.truth_column = "mean_test_acc";
  config.epsilon.batch_size = 8;
  const RunResult one = RunOnRanks(1, config);
  ASSERT_EQ(one.state.queries.size(), 6u + 3 * 4u);
  std::set<std::uint64_t> networks;
  for (const Query& q : one.state.queries) {
    EXPECT_EQ(Space("macro").Canonical(q.arch), q.arch);
    EXPECT_EQ(q.accuracy, Accuracy(q.arch, "macro"));
    networks.insert(Space("macro").CanonicalHash(q.arch));
  }
  EXPECT_EQ(networks.size(), one.state.queries.size()) << "a network was queried twice";
  const RunResult three = RunOnRanks(3, config);
  EXPECT_EQ(Labels(three.state), Labels(one.state));
  EXPECT_EQ(AllWeights(three.predictor), AllWeights(one.predictor));
}

// An evaluator that throws on one rank: the loop returns an error, it does not crash.
class ThrowingEvaluator : public Evaluator {
 public:
  StatusOr<std::vector<Evaluation>> Evaluate(Communicator&, const std::vector<Architecture>&) override {
    throw std::runtime_error("disk on fire");
  }
};

TEST(SearchLoop, AnExceptionInAServiceBecomesAnError) {
  Config config = SmallSearch("random");
  ThrowingEvaluator evaluator;
  auto policy = MakeSearchPolicy(Nb201(), config.search, 0.5).value();
  RunLocalRanks(1, [&](Communicator& comm) {
    SearchState state;
    const StatusOr<SearchEnd> end = RunSearch(comm, config, state, {policy.get(), &evaluator, nullptr, nullptr}, {});
    ASSERT_FALSE(end.ok());
    EXPECT_NE(end.status().message().find("disk on fire"), std::string::npos) << end.status().message();
  });
}

TEST(SearchLoop, TheEtaLeavesOutTheOneOffWarmUpOfGenerationZero) {
  SearchState state;
  for (int g = 0; g < 3; ++g) {
    GenerationRecord r;
    r.generation = g;
    r.seconds_evaluator_training = g == 0 ? 3600 : 1;  // an hour of supernet warm-up, then fine-tuning
    r.seconds_total = r.seconds_evaluator_training + 9;
    state.generations.push_back(r);
  }
  state.next_generation = 3;
  // 10 s a generation (+ 0.5 s checkpoint) for the 7 left of 10: the warm-up is not among them.
  EXPECT_DOUBLE_EQ(SecondsLeft(state, 10, 3, 0.5), (9 + 10 + 10) / 3.0 * 7 + 0.5 * 7);
  // A resumed run that has done one generation so far counts only that one.
  EXPECT_DOUBLE_EQ(SecondsLeft(state, 10, 1, 0), 10 * 7);
  EXPECT_DOUBLE_EQ(SecondsLeft(state, 3, 3, 0), 0);
  EXPECT_DOUBLE_EQ(SecondsLeft(state, 10, 0, 0), 0);
}

// ---- Checkpoint files ------------------------------------------------------------------------

class SearchFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("hpcnas_search_files_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

SearchCheckpoint SomeCheckpoint(int generation) {
  SearchCheckpoint cp;
  cp.space = "nb201";
  cp.config_toml = "[search]\nseed = 3\n";
  cp.state = StateWithPopulation({5, 900, 4000});
  cp.state.next_generation = generation + 1;
  cp.state.epsilon = {{Cell(5), 0.25, 0.25}, {Cell(900), kNaN, 1e-3}};
  GenerationRecord r;
  r.generation = generation;
  r.best_accuracy = 93.5;
  r.predictor_tau_population = kNaN;
  cp.state.generations.push_back(r);
  cp.predictor.parameters = {{"w", {2, 2}, {1, 2, 3, 4}}, {"b", {2}, {0.5f, -0.5f}}};
  cp.predictor.adam_first_moment = {0, 0, 0, 0, 0, 0};
  cp.predictor.adam_second_moment = {1, 1, 1, 1, 1, 1};
  cp.predictor.adam_step = 12;
  cp.predictor.target_std = 2.5;
  return cp;
}

TEST_F(SearchFiles, CheckpointRoundTripsExactly) {
  SearchCheckpoint cp = SomeCheckpoint(0);
  cp.supernet_checkpoint = "supernet/checkpoints/checkpoint_s000000012.h5";
  cp.state.generations[0].seconds_evaluator_training = 4.5;
  const std::string path = CheckpointPath(dir_.string(), 0);
  ASSERT_TRUE(WriteSearchCheckpoint(path, cp).ok());
  StatusOr<SearchCheckpoint> back = ReadSearchCheckpoint(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(CheckpointChecksum(*back), CheckpointChecksum(cp));
  EXPECT_EQ(back->state.population, cp.state.population);
  EXPECT_EQ(back->predictor.parameters[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_TRUE(std::isnan(back->state.epsilon[1].epsilon));
  EXPECT_EQ(back->supernet_checkpoint, cp.supernet_checkpoint);
  EXPECT_EQ(back->state.generations[0].seconds_evaluator_training, 4.5);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  // The supernet checkpoint it names is part of the checksum.
  SearchCheckpoint other = cp;
  other.supernet_checkpoint = "supernet/checkpoints/checkpoint_s000000013.h5";
  EXPECT_NE(CheckpointChecksum(other), CheckpointChecksum(cp));
}

TEST_F(SearchFiles, ACheckpointOfNoGenerationRoundTripsAndIsTheOldest) {
  SearchCheckpoint warm_up;  // stopped in the supernet's warm-up: nothing searched yet
  warm_up.space = "nb201";
  warm_up.config_toml = "[search]\nseed = 3\n";
  warm_up.supernet_checkpoint = "supernet/checkpoints/checkpoint_s000000003.h5";
  const std::string path = CheckpointPath(dir_.string(), -1);
  ASSERT_TRUE(WriteSearchCheckpoint(path, warm_up).ok());
  StatusOr<FoundCheckpoint> found = LoadNewestCheckpoint(dir_.string());
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->path, path);
  EXPECT_EQ(found->checkpoint.state.next_generation, 0);
  EXPECT_TRUE(found->checkpoint.state.queries.empty());
  EXPECT_EQ(found->checkpoint.supernet_checkpoint, warm_up.supernet_checkpoint);

  ASSERT_TRUE(WriteSearchCheckpoint(CheckpointPath(dir_.string(), 0), SomeCheckpoint(0)).ok());
  EXPECT_EQ(ListCheckpoints(dir_.string()), (std::vector<std::string>{CheckpointPath(dir_.string(), 0), path}));
  ASSERT_TRUE(PruneCheckpoints(dir_.string(), 1).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(SearchFiles, DamagedNewestCheckpointFallsBackToThePreviousWithAWarning) {
  for (int g = 0; g < 3; ++g) ASSERT_TRUE(WriteSearchCheckpoint(CheckpointPath(dir_.string(), g), SomeCheckpoint(g)).ok());
  // Truncate the newest, alter one byte of data in the middle one.
  std::filesystem::resize_file(CheckpointPath(dir_.string(), 2), 1000);
  {
    const std::string path = CheckpointPath(dir_.string(), 1);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::size_t at = bytes.find(std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8));  // floats 1, 2
    ASSERT_NE(at, std::string::npos);
    f.seekp(static_cast<std::streamoff>(at + 4));
    f.put('\x41');
  }
  StatusOr<SearchCheckpoint> altered = ReadSearchCheckpoint(CheckpointPath(dir_.string(), 1));
  ASSERT_FALSE(altered.ok());
  EXPECT_NE(altered.status().message().find("checksum mismatch"), std::string::npos) << altered.status().message();

  StatusOr<FoundCheckpoint> found = LoadNewestCheckpoint(dir_.string());
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->path, CheckpointPath(dir_.string(), 0));
  EXPECT_EQ(found->warnings.size(), 2u);

  ASSERT_TRUE(PruneCheckpoints(dir_.string(), 1).ok());
  EXPECT_EQ(ListCheckpoints(dir_.string()), std::vector<std::string>{CheckpointPath(dir_.string(), 2)});
}

TEST_F(SearchFiles, MacroCheckpointRoundTripsAndForeignBytesAreRefused) {
  const SearchSpace& macro = Space("macro");
  SearchCheckpoint cp;
  cp.space = "macro";
  cp.config_toml = "[search]\nspace = \"macro\"\n";
  const Architecture a = macro.Canonical(*macro.Parse("22212202")), b = macro.Canonical(*macro.Parse("10101010"));
  cp.state = StateWithPopulation({a, b}, "macro");
  cp.state.epsilon = {{a, 0.5, kNaN}};
  const std::string path = CheckpointPath(dir_.string(), 0);
  ASSERT_TRUE(WriteSearchCheckpoint(path, cp).ok());
  StatusOr<SearchCheckpoint> back = ReadSearchCheckpoint(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->space, "macro");
  EXPECT_EQ(back->state.population, cp.state.population);
  EXPECT_EQ(CheckpointChecksum(*back), CheckpointChecksum(cp));

  // The same bytes labelled as another space: refused by shape, not misread.
  cp.space = "nb201";
  EXPECT_FALSE(WriteSearchCheckpoint(path, cp).ok() && ReadSearchCheckpoint(path).ok());
  // A non-canonical macro network (a stride-1 identity before an operation) is refused.
  cp.space = "macro";
  cp.state.population = {*macro.Parse("20212202")};
  ASSERT_NE(macro.Canonical(cp.state.population[0]), cp.state.population[0]);
  ASSERT_TRUE(WriteSearchCheckpoint(path, cp).ok());
  StatusOr<SearchCheckpoint> bad = ReadSearchCheckpoint(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("canonical"), std::string::npos) << bad.status().message();
}

TEST_F(SearchFiles, NoCheckpointIsAClearError) {
  StatusOr<FoundCheckpoint> found = LoadNewestCheckpoint(dir_.string());
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.status().message().find("no checkpoint"), std::string::npos);
}

}  // namespace
}  // namespace hpcnas

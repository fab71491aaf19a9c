#include "scheduler/search_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "engine/policy/evolution.h"
#include "engine/core/stats.h"

namespace hpcnas {
namespace {

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Maps keyed by Architecture::Bytes().
using ValueByArch = std::unordered_map<std::string, double>;

// Kendall tau of predictions against accuracies for `archs` (NaN with fewer than 2).
double TauOver(const std::vector<Architecture>& archs, const ValueByArch& predicted, const ValueByArch& accuracy) {
  std::vector<double> x, y;
  for (const Architecture& arch : archs) {
    auto p = predicted.find(arch.Bytes());
    const double a = accuracy.at(arch.Bytes());
    if (p == predicted.end() || std::isnan(a)) continue;
    x.push_back(p->second);
    y.push_back(a);
  }
  return x.size() < 2 ? kNaN : KendallTau(x, y);
}

void FillPopulationEpsilon(const SearchState& state, GenerationRecord& record) {
  ValueByArch epsilon;
  for (const EpsilonRecord& r : state.epsilon) epsilon[r.arch.Bytes()] = r.epsilon;
  std::vector<double> finite;
  int nan = 0, known = 0;
  for (const Architecture& arch : state.population) {
    auto it = epsilon.find(arch.Bytes());
    if (it == epsilon.end()) continue;
    ++known;
    if (std::isnan(it->second)) {
      ++nan;
    } else {
      finite.push_back(it->second);
    }
  }
  record.population_epsilon_nan_share = known ? static_cast<double>(nan) / known : kNaN;
  record.population_epsilon_mean = kNaN;
  record.population_epsilon_median = kNaN;
  if (!finite.empty()) {
    double sum = 0;
    for (double v : finite) sum += v;
    record.population_epsilon_mean = sum / finite.size();
    record.population_epsilon_median = Percentile(finite, 50);
  }
}

void FillPopulationCost(const SearchState& state, const HardwareCost* cost, GenerationRecord& record) {
  std::vector<double> mflops, latency;
  for (const Architecture& arch : state.population) {
    if (cost == nullptr) break;
    mflops.push_back(cost->Mflops(arch));
    latency.push_back(cost->LatencyMs(arch));
  }
  auto mean = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? kNaN : sum / v.size();
  };
  auto max = [](const std::vector<double>& v) { return v.empty() ? kNaN : *std::max_element(v.begin(), v.end()); };
  record.population_mflops_mean = mean(mflops);
  record.population_mflops_max = max(mflops);
  record.population_latency_ms_mean = mean(latency);
  record.population_latency_ms_max = max(latency);
}

// Every call into a service, with what it returned checked and any exception caught: the
// caller turns an error into an abort of the job, never a crash of one rank.
template <typename Call>
auto Guarded(const char* what, Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const std::exception& e) {
    return Status::Internal(std::string(what) + " failed: " + e.what());
  }
}

Status CheckCount(const char* what, std::size_t got, std::size_t wanted) {
  if (got == wanted) return Status::Ok();
  return Status::Internal(std::string(what) + " returned " + std::to_string(got) + " values for " + std::to_string(wanted) +
                          " architectures");
}

Status CheckServices(const SearchServices& services, const SearchConfig& config) {
  if (services.policy == nullptr || services.evaluator == nullptr) return Status::Internal("the search needs a policy and an evaluator");
  if (services.policy->UsesEpsilon() && services.scorer == nullptr) {
    return Status::Internal("policy '" + std::string(services.policy->name()) + "' needs an epsilon scorer");
  }
  for (std::int32_t g = 0; g < std::min(config.generations, 2); ++g) {
    if (services.policy->UsesPredictor(g) && services.predictor == nullptr) {
      return Status::Internal("policy '" + std::string(services.policy->name()) + "' needs a predictor");
    }
  }
  return Status::Ok();
}

}  // namespace

double SecondsLeft(const SearchState& state, std::int32_t generations, int generations_this_run, double checkpoint_seconds) {
  const int counted = std::min(generations_this_run, static_cast<int>(state.generations.size()));
  if (counted <= 0) return 0;
  double seconds = 0;
  for (auto it = state.generations.end() - counted; it != state.generations.end(); ++it) {
    seconds += it->seconds_total - (it->generation == 0 ? it->seconds_evaluator_training : 0) + checkpoint_seconds;
  }
  return seconds / counted * std::max(0, generations - state.next_generation);
}

StatusOr<SearchEnd> RunSearch(Communicator& comm, const Config& config, SearchState& state,
                              const SearchServices& services, const SearchHooks& hooks) {
  const SearchConfig& sc = config.search;
  const Seconds timeout(config.runtime.timeout_s);
  HPCNAS_RETURN_IF_ERROR(CheckServices(services, sc));
  SearchPolicy& policy = *services.policy;
  double previous_checkpoint_seconds = 0;
  while (state.next_generation < sc.generations) {
    const std::int32_t g = state.next_generation;
    const auto generation_start = Clock::now();
    GenerationRecord record;
    record.generation = g;

    // Step 0: the evaluator's own training, if it has any.
    auto phase_start = Clock::now();
    HPCNAS_ASSIGN_OR_RETURN(const bool ready, Guarded("training the evaluator", [&] {
                              return services.evaluator->Prepare(comm, g, hooks.stop_requested);
                            }));
    if (!ready) {
      // Stopped inside that training: the checkpoint of the last generation again, now with what
      // the evaluator has trained since (the supernet's warm-up may take hours).
      Status saved = Status::Ok();
      if (comm.rank() == 0 && hooks.checkpoint) saved = Guarded("writing the checkpoint", [&] { return hooks.checkpoint(state); });
      HPCNAS_RETURN_IF_ERROR(AgreeOnStatus(comm, saved, timeout));
      return SearchEnd::kStopped;
    }
    record.seconds_evaluator_training = SecondsSince(phase_start);

    // Step 1.
    phase_start = Clock::now();
    HPCNAS_ASSIGN_OR_RETURN(const std::vector<Architecture> candidates,
                            Guarded("proposing", [&]() -> StatusOr<std::vector<Architecture>> { return policy.Propose(state, g); }));
    record.candidates = static_cast<double>(candidates.size());
    record.seconds_propose = SecondsSince(phase_start);

    // Steps 2-4.
    phase_start = Clock::now();
    if (policy.UsesEpsilon()) {
      std::unordered_set<std::string> scored;
      for (const EpsilonRecord& r : state.epsilon) scored.insert(r.arch.Bytes());
      std::vector<Architecture> unscored;
      for (const Architecture& arch : candidates) {
        if (!scored.count(arch.Bytes())) unscored.push_back(arch);
      }
      HPCNAS_ASSIGN_OR_RETURN(std::vector<EpsilonRecord> records,
                              Guarded("epsilon scoring", [&] { return services.scorer->Score(comm, unscored); }));
      HPCNAS_RETURN_IF_ERROR(CheckCount("epsilon scoring", records.size(), unscored.size()));
      state.epsilon.insert(state.epsilon.end(), records.begin(), records.end());
      record.newly_scored = static_cast<double>(unscored.size());
    }
    record.seconds_score = SecondsSince(phase_start);

    // Step 5: predictions for the candidates and the population (for tau).
    phase_start = Clock::now();
    ValueByArch predicted_by_arch;
    std::vector<double> predicted;
    if (policy.UsesPredictor(g)) {
      std::vector<Query> labelled;
      for (const Query& q : state.queries) {
        if (!std::isnan(q.accuracy)) labelled.push_back(q);
      }
      HPCNAS_RETURN_IF_ERROR(Guarded("predictor training", [&] { return services.predictor->Train(comm, labelled, candidates, g); }));
      std::vector<Architecture> asked = candidates;
      asked.insert(asked.end(), state.population.begin(), state.population.end());
      HPCNAS_ASSIGN_OR_RETURN(std::vector<double> all, Guarded("prediction", [&] { return services.predictor->Predict(comm, asked); }));
      HPCNAS_RETURN_IF_ERROR(CheckCount("prediction", all.size(), asked.size()));
      for (std::size_t i = 0; i < asked.size(); ++i) predicted_by_arch[asked[i].Bytes()] = all[i];
      predicted.assign(all.begin(), all.begin() + candidates.size());
    }
    record.seconds_predictor = SecondsSince(phase_start);

    // Step 6.
    HPCNAS_ASSIGN_OR_RETURN(const std::vector<Architecture> selected,
                            Guarded("selecting", [&]() -> StatusOr<std::vector<Architecture>> {
                              return policy.Select(state, g, candidates, predicted);
                            }));

    // Steps 7 and 8.
    phase_start = Clock::now();
    HPCNAS_ASSIGN_OR_RETURN(std::vector<Evaluation> evaluations,
                            Guarded("evaluation", [&] { return services.evaluator->Evaluate(comm, selected); }));
    HPCNAS_RETURN_IF_ERROR(CheckCount("evaluation", evaluations.size(), selected.size()));
    std::vector<Architecture> evaluated;
    for (std::size_t i = 0; i < selected.size(); ++i) {
      const Evaluation& e = evaluations[i];
      state.queries.push_back({selected[i], e.failure.empty() ? e.accuracy : kNaN, g, e.failure});
      if (e.failure.empty()) evaluated.push_back(selected[i]);
    }
    record.failed_evaluations = static_cast<double>(selected.size() - evaluated.size());
    record.seconds_evaluate = SecondsSince(phase_start);
    evolution::AgePopulation(state, evaluated, sc.population_size);

    // Step 9.
    ValueByArch accuracy_by_arch;
    for (const Query& q : state.queries) accuracy_by_arch[q.arch.Bytes()] = q.accuracy;
    const Query* best = BestQuery(state.queries);
    record.queries = static_cast<double>(state.queries.size());
    record.best_accuracy = best == nullptr ? kNaN : best->accuracy;
    record.best_query = best == nullptr ? kNaN : static_cast<double>(best - state.queries.data() + 1);
    FillPopulationEpsilon(state, record);
    FillPopulationCost(state, services.cost, record);
    record.predictor_tau_population = TauOver(state.population, predicted_by_arch, accuracy_by_arch);
    record.predictor_tau_evaluated = TauOver(selected, predicted_by_arch, accuracy_by_arch);
    record.seconds_checkpoint = previous_checkpoint_seconds;
    record.seconds_total = SecondsSince(generation_start);
    state.generations.push_back(record);
    state.next_generation = g + 1;

    phase_start = Clock::now();
    Status saved = Status::Ok();
    if (comm.rank() == 0 && hooks.checkpoint) saved = Guarded("writing the checkpoint", [&] { return hooks.checkpoint(state); });
    HPCNAS_RETURN_IF_ERROR(AgreeOnStatus(comm, saved, timeout));
    previous_checkpoint_seconds = SecondsSince(phase_start);
    if (comm.rank() == 0 && hooks.on_generation) hooks.on_generation(state);
    double stop = hooks.stop_requested && hooks.stop_requested() ? 1.0 : 0.0;
    HPCNAS_RETURN_IF_ERROR(comm.AllReduceSum(&stop, 1, timeout).WithContext("agreeing on a stop request"));
    if (stop > 0 && state.next_generation < sc.generations) return SearchEnd::kStopped;
  }
  return SearchEnd::kFinished;
}

}  // namespace hpcnas

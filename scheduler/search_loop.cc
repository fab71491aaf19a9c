#include "scheduler/search_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "engine/evolution.h"
#include "engine/stats.h"

namespace hpcnas {
namespace {

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Kendall tau of predictions against accuracies for `codes` (NaN with fewer than 2).
double TauOver(const std::vector<std::int32_t>& codes, const std::unordered_map<std::int32_t, double>& predicted,
               const std::unordered_map<std::int32_t, double>& accuracy) {
  std::vector<double> x, y;
  for (std::int32_t code : codes) {
    auto p = predicted.find(code);
    if (p == predicted.end()) continue;
    x.push_back(p->second);
    y.push_back(accuracy.at(code));
  }
  return x.size() < 2 ? kNaN : KendallTau(x, y);
}

void FillPopulationEpsilon(const SearchState& state, GenerationRecord& record) {
  std::unordered_map<std::int32_t, double> epsilon;
  for (const EpsilonRecord& r : state.epsilon) epsilon[r.code] = r.epsilon;
  std::vector<double> finite;
  int nan = 0, known = 0;
  for (std::int32_t code : state.population) {
    auto it = epsilon.find(code);
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

// Step 7: rank 0 evaluates, every rank gets the accuracies (or rank 0's error).
StatusOr<std::vector<double>> EvaluateOnRankZero(Communicator& comm, Evaluator* evaluator,
                                                 const std::vector<std::int32_t>& codes, Seconds timeout) {
  StatusOr<std::vector<double>> accuracy = std::vector<double>();
  if (comm.rank() == 0) accuracy = evaluator->Evaluate(codes);
  HPCNAS_RETURN_IF_ERROR(AgreeOnStatus(comm, accuracy.status(), timeout));
  HPCNAS_RETURN_IF_ERROR(BroadcastVector(comm, *accuracy, 0, timeout));
  if (accuracy->size() != codes.size()) return Status::Internal("the evaluator returned a wrong number of accuracies");
  return accuracy;
}

}  // namespace

StatusOr<std::vector<double>> TabularEvaluator::Evaluate(const std::vector<std::int32_t>& codes) {
  std::vector<double> out;
  for (std::int32_t code : codes) {
    const double accuracy = code >= 0 && code < static_cast<std::int32_t>(accuracy_by_code_.size()) ? accuracy_by_code_[code] : kNaN;
    if (!std::isfinite(accuracy)) {
      return Status::InvalidInput("ground truth '" + source_ + "' has no accuracy for cell code " + std::to_string(code));
    }
    out.push_back(accuracy);
  }
  return out;
}

StatusOr<SearchEnd> RunSearch(Communicator& comm, const Config& config, SearchState& state,
                              const SearchServices& services, const SearchHooks& hooks) {
  const SearchConfig& sc = config.search;
  const Seconds timeout(config.runtime.timeout_s);
  const bool tnasp = sc.method == "tnasp";
  double previous_checkpoint_seconds = 0;
  while (state.next_generation < sc.generations) {
    const std::int32_t g = state.next_generation;
    const auto generation_start = Clock::now();
    GenerationRecord record;
    record.generation = g;

    // Step 1.
    auto phase_start = Clock::now();
    const auto evaluated = evolution::EvaluatedHashes(state);
    std::vector<std::int32_t> candidates;
    if (g == 0) {
      candidates = evolution::RandomCells(sc.seed, 0, tnasp ? sc.initial_pool : sc.initial_queries, evaluated);
    } else if (sc.method == "random") {
      candidates = evolution::RandomCells(sc.seed, g, sc.queries_per_generation, evaluated);
    } else {
      candidates = evolution::ProposeChildren(state, sc, g, tnasp ? sc.candidates : sc.queries_per_generation, evaluated);
    }
    record.candidates = static_cast<double>(candidates.size());
    record.seconds_propose = SecondsSince(phase_start);

    // Steps 2-4.
    phase_start = Clock::now();
    if (tnasp) {
      std::unordered_set<std::int32_t> scored;
      for (const EpsilonRecord& r : state.epsilon) scored.insert(r.code);
      std::vector<std::int32_t> unscored;
      for (std::int32_t code : candidates) {
        if (!scored.count(code)) unscored.push_back(code);
      }
      HPCNAS_ASSIGN_OR_RETURN(std::vector<EpsilonRecord> records, services.scorer->Score(comm, unscored));
      state.epsilon.insert(state.epsilon.end(), records.begin(), records.end());
      record.newly_scored = static_cast<double>(unscored.size());
    }
    record.seconds_score = SecondsSince(phase_start);

    // Step 5: predictions for the candidates and the population (for tau).
    phase_start = Clock::now();
    std::unordered_map<std::int32_t, double> predicted_by_code;
    std::vector<double> predicted;
    if (tnasp && g >= 1) {
      HPCNAS_RETURN_IF_ERROR(services.predictor->Train(comm, state.queries, candidates, g));
      std::vector<std::int32_t> asked = candidates;
      asked.insert(asked.end(), state.population.begin(), state.population.end());
      HPCNAS_ASSIGN_OR_RETURN(std::vector<double> all, services.predictor->Predict(comm, asked));
      for (std::size_t i = 0; i < asked.size(); ++i) predicted_by_code[asked[i]] = all[i];
      predicted.assign(all.begin(), all.begin() + candidates.size());
    }
    record.seconds_predictor = SecondsSince(phase_start);

    // Step 6.
    const int wanted = g == 0 ? sc.initial_queries : sc.queries_per_generation;
    std::vector<std::int32_t> selected;
    if (tnasp) {
      // The exploration share first: children as proposed (plain regularised evolution).
      const int explored = g == 0 ? 0 : static_cast<int>(std::lround(sc.explore * wanted));
      std::vector<bool> taken(candidates.size(), false);
      for (std::size_t i = 0; i < candidates.size() && static_cast<int>(selected.size()) < explored; ++i) {
        selected.push_back(candidates[i]);
        taken[i] = true;
      }
      const auto keys = evolution::EpsilonKeys(state, config.epsilon.nan_offset);
      std::vector<double> epsilon_key;
      for (std::int32_t code : candidates) epsilon_key.push_back(keys.at(code));
      for (std::size_t index : evolution::RankCandidates(candidates, predicted, epsilon_key, sc.selection)) {
        if (static_cast<int>(selected.size()) == wanted) break;
        if (!taken[index]) selected.push_back(candidates[index]);
      }
    } else {
      selected.assign(candidates.begin(), candidates.begin() + std::min<std::size_t>(wanted, candidates.size()));
    }

    // Steps 7 and 8.
    phase_start = Clock::now();
    HPCNAS_ASSIGN_OR_RETURN(std::vector<double> accuracy, EvaluateOnRankZero(comm, services.evaluator, selected, timeout));
    for (std::size_t i = 0; i < selected.size(); ++i) state.queries.push_back({selected[i], accuracy[i], g});
    record.seconds_evaluate = SecondsSince(phase_start);
    evolution::AgePopulation(state, selected, sc.population_size);

    // Step 9.
    std::unordered_map<std::int32_t, double> accuracy_by_code;
    for (const Query& q : state.queries) accuracy_by_code[q.code] = q.accuracy;
    const auto best = std::max_element(state.queries.begin(), state.queries.end(),
                                       [](const Query& a, const Query& b) { return a.accuracy < b.accuracy; });
    record.queries = static_cast<double>(state.queries.size());
    record.best_accuracy = best == state.queries.end() ? kNaN : best->accuracy;
    record.best_code = best == state.queries.end() ? -1 : best->code;
    FillPopulationEpsilon(state, record);
    record.predictor_tau_population = TauOver(state.population, predicted_by_code, accuracy_by_code);
    record.predictor_tau_evaluated = TauOver(selected, predicted_by_code, accuracy_by_code);
    record.seconds_checkpoint = previous_checkpoint_seconds;
    record.seconds_total = SecondsSince(generation_start);
    state.generations.push_back(record);
    state.next_generation = g + 1;

    phase_start = Clock::now();
    Status saved = Status::Ok();
    if (comm.rank() == 0 && hooks.checkpoint) saved = hooks.checkpoint(state);
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

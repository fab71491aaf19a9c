#pragma once
// Rank correlations and the top-10 % measures used to judge a zero-cost metric or a predictor,
// with the definitions of the epsinas evaluation (scipy's spearmanr and kendalltau (tau-b),
// numpy's linear-interpolation percentile).

#include <cstdint>
#include <vector>

namespace hpcnas {

// Average ranks (1-based), ties sharing the mean of their positions.
std::vector<double> AverageRanks(const std::vector<double>& values);

// NaN when fewer than 2 values or a constant input. Inputs must be NaN-free and equally long.
double SpearmanRho(const std::vector<double>& x, const std::vector<double>& y);
// Kendall tau-b, O(n log n) (Knight's algorithm).
double KendallTau(const std::vector<double>& x, const std::vector<double>& y);
// numpy.percentile(values, q) with linear interpolation; q in [0, 100].
double Percentile(std::vector<double> values, double q);

struct RankingSummary {
  int64_t num_total = 0;   // all scored architectures
  int64_t num_nan = 0;     // NaN scores, excluded below
  int64_t num_ranked = 0;  // pairs with a finite score and accuracy
  double spearman = 0.0, kendall = 0.0;          // over the ranked pairs
  double spearman_top10 = 0.0, kendall_top10 = 0.0;  // over those above the 90th accuracy percentile
  // Share (0..1) of the architectures above the 90th score percentile that are also above the
  // 90th accuracy percentile.
  double top10_overlap = 0.0;
};

// Pairs with a NaN score or accuracy are left out (and counted in num_nan if the score is NaN).
RankingSummary SummariseRanking(const std::vector<double>& scores, const std::vector<double>& accuracies);

}  // namespace hpcnas

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

// --nan-policy rank: a finite ranking key (higher = better) for every cell, for a set of cells
// scored twice, in float32 (`float32`, NaN where the w1 output underflowed) and in exact
// arithmetic (`exact`, NaN only where the output is identically zero or constant).
// Cells finite in float32 get their quantile (0..1) among those cells by float32 epsilon;
// cells that underflowed get `offset` plus their quantile among themselves by exact epsilon;
// cells NaN in both get -1 (below everything: their output does not depend on the input).
// Underflow happens to exactly the cells in which every input-to-output path holds a
// convolution, which are the better cells on average; `offset` says how far above the finite
// cells they start (0: interleaved quantile for quantile; 1: all above). Measured on all of
// NAS-Bench-201 in experiments/results/epsilon_nan_policies.csv.
std::vector<double> EpsilonRankKey(const std::vector<double>& float32, const std::vector<double>& exact, double offset);

}  // namespace hpcnas

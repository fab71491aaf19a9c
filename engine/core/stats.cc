#include "engine/core/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace hpcnas {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const std::size_t n = x.size();
  if (n < 2) return kNaN;
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

// Number of pairs that share a value, counted over runs of equal values in a sorted range.
template <typename Equal>
int64_t TiedPairs(const std::vector<int64_t>& order, Equal equal) {
  int64_t tied = 0, run = 1;
  for (std::size_t i = 1; i <= order.size(); ++i) {
    if (i < order.size() && equal(order[i - 1], order[i])) {
      ++run;
    } else {
      tied += run * (run - 1) / 2;
      run = 1;
    }
  }
  return tied;
}

// Merge sort of `order` by y, counting the inversions (discordant swaps).
int64_t MergeSortCountSwaps(std::vector<int64_t>& order, std::vector<int64_t>& buffer, const std::vector<double>& y,
                            std::size_t lo, std::size_t hi) {
  if (hi - lo < 2) return 0;
  const std::size_t mid = (lo + hi) / 2;
  int64_t swaps = MergeSortCountSwaps(order, buffer, y, lo, mid) + MergeSortCountSwaps(order, buffer, y, mid, hi);
  std::size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    if (y[order[j]] < y[order[i]]) {
      swaps += static_cast<int64_t>(mid - i);
      buffer[k++] = order[j++];
    } else {
      buffer[k++] = order[i++];
    }
  }
  while (i < mid) buffer[k++] = order[i++];
  while (j < hi) buffer[k++] = order[j++];
  std::copy(buffer.begin() + lo, buffer.begin() + hi, order.begin() + lo);
  return swaps;
}

}  // namespace

std::vector<double> AverageRanks(const std::vector<double>& values) {
  const std::size_t n = values.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && values[order[j + 1]] == values[order[i]]) ++j;
    const double rank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double SpearmanRho(const std::vector<double>& x, const std::vector<double>& y) {
  return Pearson(AverageRanks(x), AverageRanks(y));
}

double KendallTau(const std::vector<double>& x, const std::vector<double>& y) {
  const std::size_t n = x.size();
  if (n < 2) return kNaN;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return x[a] < x[b] || (x[a] == x[b] && y[a] < y[b]);
  });
  const int64_t tied_x = TiedPairs(order, [&](int64_t a, int64_t b) { return x[a] == x[b]; });
  const int64_t tied_xy =
      TiedPairs(order, [&](int64_t a, int64_t b) { return x[a] == x[b] && y[a] == y[b]; });
  std::vector<int64_t> buffer(n);
  const int64_t swaps = MergeSortCountSwaps(order, buffer, y, 0, n);
  const int64_t tied_y = TiedPairs(order, [&](int64_t a, int64_t b) { return y[a] == y[b]; });
  const int64_t pairs = static_cast<int64_t>(n) * (static_cast<int64_t>(n) - 1) / 2;
  const double denominator = std::sqrt(static_cast<double>(pairs - tied_x) * static_cast<double>(pairs - tied_y));
  if (denominator == 0) return kNaN;
  const double concordant_minus_discordant =
      static_cast<double>(pairs - tied_x - tied_y + tied_xy) - 2.0 * static_cast<double>(swaps);
  return concordant_minus_discordant / denominator;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return kNaN;
  std::sort(values.begin(), values.end());
  const double position = q / 100.0 * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + (values[above] - values[below]) * fraction;
}

RankingSummary SummariseRanking(const std::vector<double>& scores, const std::vector<double>& accuracies) {
  RankingSummary summary;
  summary.num_total = static_cast<int64_t>(scores.size());
  std::vector<double> s, a;
  for (std::size_t i = 0; i < scores.size() && i < accuracies.size(); ++i) {
    if (std::isnan(scores[i])) ++summary.num_nan;
    if (std::isnan(scores[i]) || std::isnan(accuracies[i])) continue;
    s.push_back(scores[i]);
    a.push_back(accuracies[i]);
  }
  summary.num_ranked = static_cast<int64_t>(s.size());
  summary.spearman = SpearmanRho(s, a);
  summary.kendall = KendallTau(s, a);
  if (s.empty()) {
    summary.spearman_top10 = summary.kendall_top10 = summary.top10_overlap = kNaN;
    return summary;
  }
  const double accuracy_cut = Percentile(a, 90.0);
  const double score_cut = Percentile(s, 90.0);
  std::vector<double> top_s, top_a;
  int64_t top_by_score = 0, top_by_both = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool top_accuracy = a[i] > accuracy_cut;
    const bool top_score = s[i] > score_cut;
    if (top_accuracy) {
      top_s.push_back(s[i]);
      top_a.push_back(a[i]);
    }
    top_by_score += top_score;
    top_by_both += top_score && top_accuracy;
  }
  summary.spearman_top10 = SpearmanRho(top_s, top_a);
  summary.kendall_top10 = KendallTau(top_s, top_a);
  summary.top10_overlap = top_by_score > 0 ? static_cast<double>(top_by_both) / top_by_score : kNaN;
  return summary;
}

std::vector<double> EpsilonRankKey(const std::vector<double>& float32, const std::vector<double>& exact, double offset) {
  std::vector<double> key(float32.size(), -1.0);
  // Quantiles within each group, (rank - 0.5) / n with ties sharing their mean rank.
  auto assign = [&](auto in_group, const std::vector<double>& values, double base) {
    std::vector<std::size_t> members;
    std::vector<double> group_values;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (in_group(i)) {
        members.push_back(i);
        group_values.push_back(values[i]);
      }
    }
    const std::vector<double> ranks = AverageRanks(group_values);
    for (std::size_t k = 0; k < members.size(); ++k) key[members[k]] = base + (ranks[k] - 0.5) / members.size();
  };
  assign([&](std::size_t i) { return !std::isnan(float32[i]); }, float32, 0.0);
  assign([&](std::size_t i) { return std::isnan(float32[i]) && !std::isnan(exact[i]); }, exact, offset);
  return key;
}

}  // namespace hpcnas

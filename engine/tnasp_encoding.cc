#include "engine/tnasp_encoding.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace hpcnas::tnasp {
namespace {

constexpr int kN = nb201::kNumNodes;

// Cyclic Jacobi rotations: for a 4x4 symmetric matrix this converges to machine precision in
// a handful of sweeps and, unlike a library call, gives the same bits on every platform.
void SymmetricEigen(Matrix4 a, std::array<double, kN>& values, Matrix4& vectors) {
  for (int i = 0; i < kN; ++i) {
    for (int j = 0; j < kN; ++j) vectors[i][j] = i == j ? 1.0 : 0.0;
  }
  for (int sweep = 0; sweep < 50; ++sweep) {
    double off = 0;
    for (int p = 0; p < kN; ++p) {
      for (int q = p + 1; q < kN; ++q) off += a[p][q] * a[p][q];
    }
    if (off < 1e-30) break;
    for (int p = 0; p < kN; ++p) {
      for (int q = p + 1; q < kN; ++q) {
        if (std::abs(a[p][q]) < 1e-300) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < kN; ++k) {  // A <- A J
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < kN; ++k) {  // A <- J^T A
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (int k = 0; k < kN; ++k) {  // V <- V J
          const double vkp = vectors[k][p], vkq = vectors[k][q];
          vectors[k][p] = c * vkp - s * vkq;
          vectors[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  for (int i = 0; i < kN; ++i) values[i] = a[i][i];
}

}  // namespace

StatusOr<PositionKind> ParsePositionKind(std::string_view name) {
  if (name == "laplacian") return PositionKind::kLaplacian;
  if (name == "eigen") return PositionKind::kEigen;
  return Status::InvalidInput("unknown position encoding '" + std::string(name) + "'; allowed: laplacian, eigen");
}

Matrix4 Adjacency(const nb201::Genotype& genotype) {
  Matrix4 a{};
  for (int e = 0; e < nb201::kNumEdges; ++e) {
    if (genotype.ops[e] != nb201::Op::kNone) a[nb201::kEdges[e].from][nb201::kEdges[e].to] = 1;
  }
  return a;
}

Matrix4 Laplacian(const Matrix4& adjacency) {
  Matrix4 l{};
  for (int i = 0; i < kN; ++i) {
    const double out_degree = std::accumulate(adjacency[i].begin(), adjacency[i].end(), 0.0);
    for (int j = 0; j < kN; ++j) l[i][j] = (i == j ? out_degree : 0.0) - adjacency[i][j];
  }
  return l;
}

std::vector<std::array<double, 3>> EigenPositions(const Matrix4& adjacency, int count) {
  std::array<double, kN> inv_sqrt_degree{};
  for (int i = 0; i < kN; ++i) {
    double degree = 0;
    for (int j = 0; j < kN; ++j) degree += adjacency[i][j] + adjacency[j][i];
    inv_sqrt_degree[i] = degree > 0 ? 1 / std::sqrt(degree) : 0.0;
  }
  Matrix4 normalised{};
  for (int i = 0; i < kN; ++i) {
    for (int j = 0; j < kN; ++j) {
      const double symmetric = adjacency[i][j] + adjacency[j][i];
      normalised[i][j] = (i == j ? 1.0 : 0.0) - inv_sqrt_degree[i] * symmetric * inv_sqrt_degree[j];
    }
  }
  std::array<double, kN> values{};
  Matrix4 vectors{};
  SymmetricEigen(normalised, values, vectors);
  std::array<int, kN> order{};
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return values[x] < values[y]; });

  std::vector<std::array<double, 3>> rows(kN, std::array<double, 3>{});
  for (int k = 0; k < count; ++k) {
    const int column = order[k + 1];
    int largest = 0;
    for (int i = 1; i < kN; ++i) {
      if (std::abs(vectors[i][column]) > std::abs(vectors[largest][column]) + 1e-12) largest = i;
    }
    const double sign = vectors[largest][column] < 0 ? -1.0 : 1.0;
    for (int i = 0; i < kN; ++i) rows[i][k] = sign * vectors[i][column];
  }
  return rows;
}

int PositionWidth(PositionKind kind, int eigen_count) { return 2 * (kind == PositionKind::kLaplacian ? kN : eigen_count); }

Encoding Encode(const nb201::Genotype& genotype, PositionKind kind, int eigen_count) {
  Encoding encoding;
  const int width = PositionWidth(kind, eigen_count);
  const int half = width / 2;
  encoding.positions.resize(static_cast<std::size_t>(kNumTokens) * width);
  const Matrix4 adjacency = Adjacency(genotype);
  const Matrix4 laplacian = Laplacian(adjacency);
  const auto eigen = kind == PositionKind::kEigen ? EigenPositions(adjacency, eigen_count)
                                                  : std::vector<std::array<double, 3>>{};
  auto node_row = [&](int node, int k) {
    return kind == PositionKind::kLaplacian ? laplacian[node][k] : eigen[node][k];
  };
  for (int e = 0; e < kNumTokens; ++e) {
    encoding.token_ids[e] = static_cast<std::int64_t>(genotype.ops[e]);
    float* row = encoding.positions.data() + static_cast<std::size_t>(e) * width;
    for (int k = 0; k < half; ++k) {
      row[k] = static_cast<float>(node_row(nb201::kEdges[e].from, k));
      row[half + k] = static_cast<float>(node_row(nb201::kEdges[e].to, k));
    }
  }
  return encoding;
}

}  // namespace hpcnas::tnasp

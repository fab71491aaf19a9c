#include "engine/predictor/tnasp_encoding.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace hpcnas::tnasp {
namespace {

constexpr int kN = nb201::kNumNodes;
using Matrix = std::vector<std::vector<double>>;

// Cyclic Jacobi rotations: for a small symmetric matrix this converges to machine precision in
// a handful of sweeps and, unlike a library call, gives the same bits on every platform.
void SymmetricEigen(Matrix a, std::vector<double>& values, Matrix& vectors) {
  const int n = static_cast<int>(a.size());
  vectors.assign(n, std::vector<double>(n, 0.0));
  for (int i = 0; i < n; ++i) vectors[i][i] = 1.0;
  for (int sweep = 0; sweep < 50; ++sweep) {
    double off = 0;
    for (int p = 0; p < n; ++p) {
      for (int q = p + 1; q < n; ++q) off += a[p][q] * a[p][q];
    }
    if (off < 1e-30) break;
    for (int p = 0; p < n; ++p) {
      for (int q = p + 1; q < n; ++q) {
        if (std::abs(a[p][q]) < 1e-300) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < n; ++k) {  // A <- A J
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {  // A <- J^T A
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (int k = 0; k < n; ++k) {  // V <- V J
          const double vkp = vectors[k][p], vkq = vectors[k][q];
          vectors[k][p] = c * vkp - s * vkq;
          vectors[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  values.resize(n);
  for (int i = 0; i < n; ++i) values[i] = a[i][i];
}

Matrix LaplacianOf(const Matrix& adjacency) {
  const std::size_t n = adjacency.size();
  Matrix l(n, std::vector<double>(n, 0.0));
  for (std::size_t i = 0; i < n; ++i) {
    const double out_degree = std::accumulate(adjacency[i].begin(), adjacency[i].end(), 0.0);
    for (std::size_t j = 0; j < n; ++j) l[i][j] = (i == j ? out_degree : 0.0) - adjacency[i][j];
  }
  return l;
}

// Rows (node x count) of the eigenvectors after the smallest eigenvalue; see EigenPositions.
Matrix EigenRows(const Matrix& adjacency, int count) {
  const int n = static_cast<int>(adjacency.size());
  std::vector<double> inv_sqrt_degree(n, 0.0);
  for (int i = 0; i < n; ++i) {
    double degree = 0;
    for (int j = 0; j < n; ++j) degree += adjacency[i][j] + adjacency[j][i];
    inv_sqrt_degree[i] = degree > 0 ? 1 / std::sqrt(degree) : 0.0;
  }
  Matrix normalised(n, std::vector<double>(n, 0.0));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      const double symmetric = adjacency[i][j] + adjacency[j][i];
      normalised[i][j] = (i == j ? 1.0 : 0.0) - inv_sqrt_degree[i] * symmetric * inv_sqrt_degree[j];
    }
  }
  std::vector<double> values;
  Matrix vectors;
  SymmetricEigen(normalised, values, vectors);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return values[x] < values[y]; });
  Matrix rows(n, std::vector<double>(count, 0.0));
  for (int k = 0; k < count && k + 1 < n; ++k) {
    const int column = order[k + 1];
    int largest = 0;
    for (int i = 1; i < n; ++i) {
      if (std::abs(vectors[i][column]) > std::abs(vectors[largest][column]) + 1e-12) largest = i;
    }
    const double sign = vectors[largest][column] < 0 ? -1.0 : 1.0;
    for (int i = 0; i < n; ++i) rows[i][k] = sign * vectors[i][column];
  }
  return rows;
}

Matrix ToMatrix(const Matrix4& m) {
  Matrix out(kN, std::vector<double>(kN));
  for (int i = 0; i < kN; ++i) std::copy(m[i].begin(), m[i].end(), out[i].begin());
  return out;
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
  const Matrix l = LaplacianOf(ToMatrix(adjacency));
  Matrix4 out{};
  for (int i = 0; i < kN; ++i) std::copy(l[i].begin(), l[i].end(), out[i].begin());
  return out;
}

std::vector<std::array<double, 3>> EigenPositions(const Matrix4& adjacency, int count) {
  const Matrix rows = EigenRows(ToMatrix(adjacency), count);
  std::vector<std::array<double, 3>> out(kN, std::array<double, 3>{});
  for (int i = 0; i < kN; ++i) std::copy(rows[i].begin(), rows[i].end(), out[i].begin());
  return out;
}

int PositionWidth(PositionKind kind, int eigen_count, int num_nodes) {
  return 2 * (kind == PositionKind::kLaplacian ? num_nodes : eigen_count);
}

Encoding Encode(const ArchGraph& graph, PositionKind kind, int eigen_count) {
  Matrix adjacency(graph.num_nodes, std::vector<double>(graph.num_nodes, 0.0));
  for (int i = 0; i < graph.num_nodes; ++i) {
    for (int j = 0; j < graph.num_nodes; ++j) adjacency[i][j] = graph.adjacency[i][j];
  }
  const Matrix rows = kind == PositionKind::kLaplacian ? LaplacianOf(adjacency) : EigenRows(adjacency, eigen_count);
  const int width = PositionWidth(kind, eigen_count, graph.num_nodes);
  const int half = width / 2;
  Encoding encoding;
  encoding.positions.resize(graph.token_ids.size() * width);
  for (std::size_t t = 0; t < graph.token_ids.size(); ++t) {
    encoding.token_ids.push_back(graph.token_ids[t]);
    float* row = encoding.positions.data() + t * width;
    for (int k = 0; k < half; ++k) {
      row[k] = static_cast<float>(rows[graph.token_edges[t].first][k]);
      row[half + k] = static_cast<float>(rows[graph.token_edges[t].second][k]);
    }
  }
  return encoding;
}

Encoding Encode(const nb201::Genotype& genotype, PositionKind kind, int eigen_count) {
  ArchGraph graph;
  graph.num_nodes = kN;
  graph.adjacency.assign(kN, std::vector<std::uint8_t>(kN, 0));
  const Matrix4 a = Adjacency(genotype);
  for (int i = 0; i < kN; ++i) {
    for (int j = 0; j < kN; ++j) graph.adjacency[i][j] = static_cast<std::uint8_t>(a[i][j]);
  }
  for (int e = 0; e < nb201::kNumEdges; ++e) {
    graph.token_ids.push_back(static_cast<int>(genotype.ops[e]));
    graph.token_edges.emplace_back(nb201::kEdges[e].from, nb201::kEdges[e].to);
  }
  return Encode(graph, kind, eigen_count);
}

}  // namespace hpcnas::tnasp

#pragma once
// The graph encoding that the TNASP predictor reads (DESIGN section 4.3), for any search space
// through its ArchGraph (engine/space/search_space.h).
//
// An architecture becomes one token per operation-carrying edge (NB201: its 6 edges in
// genotype-string order; a chain space: its layers); a token's id is the space's (NB201: the
// operation; chain spaces: operation and stage). Its position comes from the graph: the node
// adjacency A (NB201: 1 for every edge whose op is not `none`, which carries nothing), and
// either
//   - the Laplacian L = D - A with D the out-degree (the paper's encoding), or
//   - eigenvectors of the symmetrised normalised Laplacian I - D^-1/2 (A + A^T) D^-1/2, the k
//     after the smallest eigenvalue (an option).
// A node has one such row; an edge token i -> j gets its source node's row followed by its
// target node's row, so every edge has its own position even when the graph is complete.
//
// Pure arithmetic on small arrays, no LibTorch: the encoding is tested on hand-checked graphs.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/space/nb201.h"
#include "engine/space/search_space.h"
#include "engine/core/status.h"

namespace hpcnas::tnasp {

enum class PositionKind { kLaplacian, kEigen };
StatusOr<PositionKind> ParsePositionKind(std::string_view name);  // "laplacian" | "eigen"

using Matrix4 = std::array<std::array<double, nb201::kNumNodes>, nb201::kNumNodes>;

Matrix4 Adjacency(const nb201::Genotype& genotype);
// L = D - A, D the out-degree.
Matrix4 Laplacian(const Matrix4& adjacency);
// Eigenvectors (as columns: result[node][k]) of I - D^-1/2 (A + A^T) D^-1/2 for the `count`
// eigenvalues after the smallest, in ascending order (an isolated node has D^-1/2 = 0). The
// sign of each eigenvector is fixed so that its largest-magnitude entry (first on ties) is
// positive. 1 <= count <= 3.
std::vector<std::array<double, 3>> EigenPositions(const Matrix4& adjacency, int count);

// Floats per token of the position input: 2 nodes x (num_nodes Laplacian entries | k eigenvectors).
int PositionWidth(PositionKind kind, int eigen_count, int num_nodes = nb201::kNumNodes);

struct Encoding {
  std::vector<std::int64_t> token_ids;  // one per token
  std::vector<float> positions;         // tokens x PositionWidth, row-major
};

Encoding Encode(const ArchGraph& graph, PositionKind kind, int eigen_count);
Encoding Encode(const nb201::Genotype& genotype, PositionKind kind, int eigen_count);

}  // namespace hpcnas::tnasp

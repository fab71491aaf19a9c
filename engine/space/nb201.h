#pragma once
// The NAS-Bench-201 cell space (DESIGN section 4.1): 4 nodes, 6 edges i -> j (i < j), one of
// 5 operations per edge, node j = sum_i op_ij(node_i); 5^6 = 15,625 cells.
//
// Three names for a cell, all bijective:
//   - the standard string  |op~0|+|op~0|op~1|+|op~0|op~1|op~2|  (the key of the ground truth)
//   - the code: sum over edges e of op(e) * 5^e, edges in string order (dense, 0..15624)
//   - the official NAS-Bench-201 index (the benchmark's own table order, compiled in)

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace hpcnas::nb201 {

enum class Op : std::uint8_t { kNone = 0, kSkipConnect = 1, kConv1x1 = 2, kConv3x3 = 3, kAvgPool3x3 = 4 };

inline constexpr int kNumOps = 5;
inline constexpr int kNumNodes = 4;
inline constexpr int kNumEdges = 6;
inline constexpr int kNumCells = 15625;

struct Edge {
  int from;
  int to;
};
// Edges in the order of the genotype string.
inline constexpr std::array<Edge, kNumEdges> kEdges = {{{0, 1}, {0, 2}, {1, 2}, {0, 3}, {1, 3}, {2, 3}}};

std::string_view OpName(Op op);
// The allowed operation names, comma separated, for error messages.
std::string_view AllOpNames();

struct Genotype {
  std::array<Op, kNumEdges> ops{};

  int Code() const;
  static Genotype FromCode(int code);  // precondition: 0 <= code < kNumCells
  std::string ToString() const;
  // Stable across runs, platforms and builds: a 64-bit mix of the code, which is the
  // canonical form of an NB201 cell (one string per cell, edges in fixed order).
  std::uint64_t CanonicalHash() const;

  bool operator==(const Genotype& other) const { return ops == other.ops; }
  bool operator!=(const Genotype& other) const { return ops != other.ops; }
};

// Parses the standard string. Surrounding whitespace is ignored; anything else that is not
// exactly three '+'-separated nodes of |op~i| tokens with i = 0..j-1 is an error whose
// message quotes the string and says what was wrong.
StatusOr<Genotype> ParseGenotype(std::string_view text);

int OfficialIndex(const Genotype& genotype);
StatusOr<Genotype> FromOfficialIndex(long long index);

}  // namespace hpcnas::nb201

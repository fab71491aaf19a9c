#pragma once
// An NB201 cell as the expression it computes, in canonical form, for networks whose ops all map
// an all-zero input to zero (the epsilon networks: no biases, BatchNorm beta = 0).
//
// skip_connect is the identity, so a skip edge contributes its source's terms; a node is the
// multiset of its terms (sorted: addition commutes); 'none' edges, edges out of identically-zero
// nodes and edges that cannot reach the output contribute nothing. Two cells with the same
// canonical key compute the same function, so their epsilon scores agree up to float rounding
// (the order of additions); equal subexpressions inside a cell (the same op on the same input)
// are one entry, computed once. Of the 15,625 cells, 4,929 distinct functions remain, and 341
// cells have an identically-zero output.

#include <optional>
#include <string>
#include <vector>

#include "engine/space/nb201.h"

namespace hpcnas {

struct CellExpression {
  enum class Kind { kInput, kConv1x1, kConv3x3, kAvgPool3x3, kSum };
  Kind kind = Kind::kInput;
  std::vector<int> operands;  // indices of earlier entries: one for an op, two or more for a sum
  std::string key;            // canonical text: "x", "c3(x)", "c1(x)+p(c3(x))", ...
};

struct CellProgram {
  std::vector<CellExpression> entries;  // in evaluation order; entry 0 is the input
  int output = -1;                      // -1: the cell's output is identically zero
  const std::string& key() const { return entries[output].key; }
};

// Only the entries the output depends on are kept.
CellProgram BuildCellProgram(const nb201::Genotype& genotype);

// The canonical key of the cell's function, or nullopt when its output is identically zero.
std::optional<std::string> CellFunctionKey(const nb201::Genotype& genotype);

}  // namespace hpcnas

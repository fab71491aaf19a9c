#include "engine/metric/cell_expression.h"

#include <algorithm>
#include <map>

namespace hpcnas {
namespace {

using Kind = CellExpression::Kind;

class ProgramBuilder {
 public:
  ProgramBuilder() { Add({Kind::kInput, {}, "x"}); }

  // The entry for an op applied to `operand`, shared when it already exists.
  int Op(Kind kind, int operand) {
    static const std::map<Kind, std::string> kNames = {
        {Kind::kConv1x1, "c1"}, {Kind::kConv3x3, "c3"}, {Kind::kAvgPool3x3, "p"}};
    return Add({kind, {operand}, kNames.at(kind) + "(" + entries_[operand].key + ")"});
  }

  // A node from its terms: nothing (-1), one term, or a canonical sum.
  int Node(std::vector<int> terms) {
    if (terms.empty()) return -1;
    if (terms.size() == 1) return terms[0];
    std::sort(terms.begin(), terms.end(), [&](int a, int b) { return entries_[a].key < entries_[b].key; });
    std::string key;
    for (int t : terms) key += (key.empty() ? "" : "+") + entries_[t].key;
    return Add({Kind::kSum, terms, key});
  }

  // What a skip edge from `entry` contributes: its terms (a sum's operands, or itself).
  std::vector<int> TermsOf(int entry) const {
    if (entries_[entry].kind == Kind::kSum) return entries_[entry].operands;
    return {entry};
  }

  CellProgram Finish(int output) const {
    CellProgram program;
    if (output < 0) return program;
    // Keep the entries the output depends on, renumbered in order.
    std::vector<bool> needed(entries_.size(), false);
    needed[output] = true;
    for (int i = output; i >= 0; --i) {
      if (!needed[i]) continue;
      for (int operand : entries_[i].operands) needed[operand] = true;
    }
    needed[0] = true;
    std::vector<int> renumbered(entries_.size(), -1);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (!needed[i]) continue;
      renumbered[i] = static_cast<int>(program.entries.size());
      CellExpression e = entries_[i];
      for (int& operand : e.operands) operand = renumbered[operand];
      program.entries.push_back(std::move(e));
    }
    program.output = renumbered[output];
    return program;
  }

 private:
  int Add(CellExpression e) {
    auto found = index_.find(e.key);
    if (found != index_.end()) return found->second;
    entries_.push_back(std::move(e));
    const int index = static_cast<int>(entries_.size()) - 1;
    index_.emplace(entries_.back().key, index);
    return index;
  }

  std::vector<CellExpression> entries_;
  std::map<std::string, int> index_;
};

}  // namespace

CellProgram BuildCellProgram(const nb201::Genotype& genotype) {
  ProgramBuilder builder;
  int node[nb201::kNumNodes] = {0, -1, -1, -1};
  for (int to = 1; to < nb201::kNumNodes; ++to) {
    std::vector<int> terms;
    for (int e = 0; e < nb201::kNumEdges; ++e) {
      const nb201::Edge edge = nb201::kEdges[e];
      const int source = node[edge.from];
      if (edge.to != to || source < 0) continue;  // not into this node, or from a zero node
      switch (genotype.ops[e]) {
        case nb201::Op::kNone:
          break;
        case nb201::Op::kSkipConnect:
          for (int t : builder.TermsOf(source)) terms.push_back(t);
          break;
        case nb201::Op::kConv1x1:
          terms.push_back(builder.Op(Kind::kConv1x1, source));
          break;
        case nb201::Op::kConv3x3:
          terms.push_back(builder.Op(Kind::kConv3x3, source));
          break;
        case nb201::Op::kAvgPool3x3:
          terms.push_back(builder.Op(Kind::kAvgPool3x3, source));
          break;
      }
    }
    node[to] = builder.Node(std::move(terms));
  }
  return builder.Finish(node[nb201::kNumNodes - 1]);
}

std::optional<std::string> CellFunctionKey(const nb201::Genotype& genotype) {
  const CellProgram program = BuildCellProgram(genotype);
  if (program.output < 0) return std::nullopt;
  return program.key();
}

}  // namespace hpcnas

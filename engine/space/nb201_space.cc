#include "engine/space/nb201_space.h"

namespace hpcnas {
namespace {

class Nb201Space : public SearchSpace {
 public:
  Nb201Space() : SearchSpace(MakePositions()) {}

  std::string_view name() const override { return "nb201"; }
  std::string_view GenotypeHelp() const override {
    return "NAS-Bench-201 cell: node j = sum over i < j of op~i, nodes separated by '+', ops none | skip_connect | "
           "nor_conv_1x1 | nor_conv_3x3 | avg_pool_3x3; e.g. "
           "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
  }
  StatusOr<Architecture> Parse(std::string_view text) const override {
    HPCNAS_ASSIGN_OR_RETURN(nb201::Genotype g, nb201::ParseGenotype(text));
    return FromNb201(g);
  }
  std::string Format(const Architecture& arch) const override { return ToNb201(arch).ToString(); }
  std::uint64_t CanonicalHash(const Architecture& arch) const override { return ToNb201(arch).CanonicalHash(); }
  int num_operations() const override { return nb201::kNumOps; }
  std::string_view OperationName(int op) const override { return nb201::OpName(static_cast<nb201::Op>(op)); }

  // DESIGN section 4.3: one token per edge, the node graph without `none` edges.
  ArchGraph Graph(const Architecture& arch) const override {
    ArchGraph graph;
    graph.num_nodes = nb201::kNumNodes;
    graph.adjacency.assign(nb201::kNumNodes, std::vector<std::uint8_t>(nb201::kNumNodes, 0));
    for (int e = 0; e < nb201::kNumEdges; ++e) {
      const nb201::Edge edge = nb201::kEdges[e];
      graph.token_ids.push_back(arch.choices[e]);
      graph.token_edges.emplace_back(edge.from, edge.to);
      if (arch.choices[e] != static_cast<std::uint8_t>(nb201::Op::kNone)) graph.adjacency[edge.from][edge.to] = 1;
    }
    return graph;
  }

 private:
  static std::vector<Position> MakePositions() {
    std::vector<Position> positions;
    for (const nb201::Edge& edge : nb201::kEdges) {
      positions.push_back({"edge " + std::to_string(edge.from) + "->" + std::to_string(edge.to), {0, 1, 2, 3, 4}});
    }
    return positions;
  }
};

}  // namespace

std::unique_ptr<SearchSpace> MakeNb201Space() { return std::make_unique<Nb201Space>(); }

nb201::Genotype ToNb201(const Architecture& arch) {
  nb201::Genotype g;
  for (int e = 0; e < nb201::kNumEdges; ++e) g.ops[e] = static_cast<nb201::Op>(arch.choices[e]);
  return g;
}

Architecture FromNb201(const nb201::Genotype& genotype) {
  Architecture arch;
  for (nb201::Op op : genotype.ops) arch.choices.push_back(static_cast<std::uint8_t>(op));
  return arch;
}

}  // namespace hpcnas

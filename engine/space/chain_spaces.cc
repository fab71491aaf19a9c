#include "engine/space/chain_spaces.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace hpcnas {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::vector<int> ChainSpace::StageSizes() const {
  std::vector<int> sizes;
  for (const Layer& layer : layers_) {
    if (layer.stage >= static_cast<int>(sizes.size())) sizes.push_back(0);
    ++sizes[layer.stage];
  }
  return sizes;
}

StatusOr<Architecture> ChainSpace::Parse(std::string_view text) const {
  auto fail = [&](const std::string& why) {
    return Status::InvalidInput("invalid " + std::string(name()) + " genotype " + QuoteForError(text) + ": " + why);
  };
  const std::string_view s = Trim(text);
  if (s.empty()) return fail("empty string; expected " + std::string(GenotypeHelp()));
  const int n = num_positions();
  auto allowed_here = [&](int p) {
    std::string names;
    for (int k = 0; k < num_choices(p); ++k) names += (k ? ", " : "") + operations_[choice(p, k)].name;
    return names;
  };
  Architecture arch;
  // The digit code: one operation id per position.
  if (std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (static_cast<int>(s.size()) != n) {
      return fail("a digit code needs " + std::to_string(n) + " digits, found " + std::to_string(s.size()));
    }
    for (int p = 0; p < n; ++p) {
      const int op = s[p] - '0';
      if (op >= num_operations() || ChoiceIndex(p, static_cast<std::uint8_t>(op)) < 0) {
        return fail("digit " + std::string(1, s[p]) + " at " + position(p).name + " is not allowed there (allowed: " +
                    allowed_here(p) + ")");
      }
      arch.choices.push_back(static_cast<std::uint8_t>(op));
    }
    return arch;
  }
  // Names separated by ',' or '-' (blocks) and optionally '|' (stages).
  std::vector<std::string_view> tokens;
  std::vector<int> group_sizes{0};
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] != ',' && s[i] != '-' && s[i] != '|') continue;
    tokens.push_back(Trim(s.substr(start, i - start)));
    ++group_sizes.back();
    if (i < s.size() && s[i] == '|') group_sizes.push_back(0);
    start = i + 1;
  }
  if (static_cast<int>(tokens.size()) != n) {
    return fail("expected " + std::to_string(n) + " operations separated by '-' or ',' (or " + std::to_string(n) +
                " digits), found " + std::to_string(tokens.size()));
  }
  if (group_sizes.size() > 1 && group_sizes != StageSizes()) {
    std::string expected;
    for (int size : StageSizes()) expected += (expected.empty() ? "" : ", ") + std::to_string(size);
    return fail("the stages separated by '|' must hold " + expected + " operations");
  }
  for (int p = 0; p < n; ++p) {
    int op = -1;
    for (int k = 0; k < num_operations() && op < 0; ++k) {
      if (EqualsIgnoringCase(tokens[p], operations_[k].name)) op = k;
      for (const std::string& alias : operations_[k].aliases) {
        if (EqualsIgnoringCase(tokens[p], alias)) op = k;
      }
    }
    if (op < 0) {
      return fail("unknown operation " + QuoteForError(tokens[p]) + " at " + position(p).name + " (allowed: " +
                  allowed_here(p) + ")");
    }
    if (ChoiceIndex(p, static_cast<std::uint8_t>(op)) < 0) {
      return fail(operations_[op].name + " is not allowed at " + position(p).name +
                  ": the first layer of a stage changes width or stride (allowed: " + allowed_here(p) + ")");
    }
    arch.choices.push_back(static_cast<std::uint8_t>(op));
  }
  return arch;
}

Architecture ChainSpace::Canonical(const Architecture& arch) const {
  Architecture canonical = arch;
  std::size_t p = 0;
  while (p < layers_.size()) {
    // The positions of one stage whose identity is a no-op keep their non-identity operations
    // in order, and the identities go last.
    std::vector<std::size_t> free;
    const int stage = layers_[p].stage;
    for (; p < layers_.size() && layers_[p].stage == stage; ++p) {
      if (layers_[p].keeps_shape) free.push_back(p);
    }
    std::vector<std::uint8_t> ops;
    for (std::size_t q : free) {
      if (arch.choices[q] != identity_op()) ops.push_back(arch.choices[q]);
    }
    ops.resize(free.size(), static_cast<std::uint8_t>(identity_op()));
    for (std::size_t i = 0; i < free.size(); ++i) canonical.choices[free[i]] = ops[i];
  }
  return canonical;
}

ArchGraph ChainSpace::Graph(const Architecture& arch) const {
  // A chain: node i -> node i + 1 through layer i. An identity is an edge without an
  // operation: data flows (adjacency 1) and the token says "identity" (in its stage).
  ArchGraph graph;
  const int n = num_positions();
  graph.num_nodes = n + 1;
  graph.adjacency.assign(n + 1, std::vector<std::uint8_t>(n + 1, 0));
  for (int p = 0; p < n; ++p) {
    graph.adjacency[p][p + 1] = 1;
    graph.token_ids.push_back(arch.choices[p] + num_operations() * layers_[p].stage);
    graph.token_edges.emplace_back(p, p + 1);
  }
  return graph;
}

std::int64_t MakeDivisible(double v, std::int64_t divisor) {
  auto rounded = static_cast<std::int64_t>(v + divisor / 2.0) / divisor * divisor;
  rounded = std::max(rounded, divisor);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

namespace {

class MacroSpace : public ChainSpace {
 public:
  MacroSpace() : ChainSpace(MakePositions(), MakeOperations(), MakeLayers()) {}

  std::string_view name() const override { return "macro"; }
  std::string_view GenotypeHelp() const override {
    return "NAS-Bench-Macro: 8 digits, one per layer (stages of 2, 3, 3), 0 = identity, 1 = MB3_K3, 2 = MB6_K5, "
           "e.g. 22212202; or 8 names separated by commas, e.g. mb6_k5,mb6_k5,mb6_k5,mb3_k3,mb6_k5,mb6_k5,identity,mb6_k5";
  }
  std::string Format(const Architecture& arch) const override {
    std::string s;
    for (std::uint8_t op : arch.choices) s += static_cast<char>('0' + op);
    return s;
  }

  StatusOr<NetworkPlan> Plan(const Architecture& arch, const ChainNetworkOptions& options) const override {
    if (options.width_multiplier != 1.0) {
      return Status::InvalidInput("space 'macro' has fixed widths: width_multiplier must be 1");
    }
    const std::int64_t resolution = options.resolution ? options.resolution : 32;
    if (resolution < 8 || resolution > 4096) {
      return Status::InvalidInput("resolution " + std::to_string(resolution) + " is out of range 8..4096");
    }
    PlanBuilder b(resolution, 1e-5);
    b.AddConv("stem", "conv3x3", 32, 3, 1, Activation::kRelu);
    for (int p = 0; p < num_positions(); ++p) {
      const Layer& layer = layers()[p];
      const bool first = layer.index_in_stage == 0;
      const std::int64_t out = first ? b.channels() * 2 : b.channels();
      const std::int64_t stride = first ? 2 : 1;
      const Operation& op = operation(arch.choices[p]);
      const std::string label = "layer " + std::to_string(p);
      if (op.expand == 0) {
        // The benchmark's Identity: a 1x1 conv + BN where it must change shape.
        if (first) {
          b.AddConv(label, "identity (conv1x1)", out, 1, stride, Activation::kNone);
        } else {
          b.AddIdentity(label, "identity");
        }
      } else {
        b.AddInvertedResidual(label, op.name, out, op.expand, op.kernel, stride, Activation::kRelu, !first);
      }
      b.MarkPosition(p);
    }
    b.AddConv("head", "conv1x1", 1280, 1, 1, Activation::kRelu);
    return b.Finish(options.num_classes ? options.num_classes : 10);
  }

 private:
  static std::vector<Operation> MakeOperations() {
    return {{"identity", {"id", "skip"}, 0, 0}, {"MB3_K3", {"ir_3x3_t3"}, 3, 3}, {"MB6_K5", {"ir_5x5_t6"}, 6, 5}};
  }
  static std::vector<Layer> MakeLayers() {
    std::vector<Layer> layers;
    const int stages[] = {2, 3, 3};
    for (int s = 0; s < 3; ++s) {
      for (int i = 0; i < stages[s]; ++i) layers.push_back({s, i, i > 0});
    }
    return layers;
  }
  static std::vector<Position> MakePositions() {
    std::vector<Position> positions;
    int p = 0;
    for (const Layer& layer : MakeLayers()) {
      positions.push_back({"layer " + std::to_string(p++) + " (stage " + std::to_string(layer.stage + 1) + ")", {0, 1, 2}});
    }
    return positions;
  }
};

constexpr int kProxylessStageBlocks[] = {4, 4, 4, 4, 4, 1};
constexpr std::int64_t kProxylessWidths[] = {24, 40, 80, 96, 192, 320};
constexpr std::int64_t kProxylessStrides[] = {2, 2, 2, 1, 2, 1};

class ProxylessSpace : public ChainSpace {
 public:
  ProxylessSpace() : ChainSpace(MakePositions(), MakeOperations(), MakeLayers()) {}

  std::string_view name() const override { return "proxyless"; }
  std::string_view GenotypeHelp() const override {
    return "ProxylessNAS: 21 blocks in stages of 4, 4, 4, 4, 4, 1, each kKeE (kernel 3|5|7, expansion 3|6) or zero "
           "(not in a stage's first block), '-' (or ',') between blocks and optionally '|' between stages, e.g. "
           "k5e3-k3e3-zero-zero|k7e3-k3e3-k5e3-zero|k7e6-k5e3-k5e3-zero|k5e6-k5e3-k5e3-k5e3|k7e6-k7e6-zero-k7e3|k7e6";
  }
  std::string Format(const Architecture& arch) const override {
    std::string s;
    for (int p = 0; p < num_positions(); ++p) {
      if (p > 0) s += layers()[p].index_in_stage == 0 ? '|' : '-';
      s += operation(arch.choices[p]).name;
    }
    return s;
  }

  StatusOr<NetworkPlan> Plan(const Architecture& arch, const ChainNetworkOptions& options) const override {
    const double wm = options.width_multiplier;
    if (!(wm > 0 && wm <= 4)) return Status::InvalidInput("width_multiplier " + std::to_string(wm) + " is out of range (0, 4]");
    const std::int64_t resolution = options.resolution ? options.resolution : 224;
    if (resolution < 32 || resolution > 4096) {
      return Status::InvalidInput("resolution " + std::to_string(resolution) + " is out of range 32..4096");
    }
    // The official ImageNet supernet (search/models/super_nets/super_proxyless.py): BN eps 1e-3,
    // ReLU6, a fixed first conv and MBConv1 block, 1280 features unless widened.
    PlanBuilder b(resolution, 1e-3);
    b.AddConv("stem", "conv3x3 s2", MakeDivisible(32 * wm), 3, 2, Activation::kRelu6);
    b.AddInvertedResidual("first block", "k3e1", MakeDivisible(16 * wm), 1, 3, 1, Activation::kRelu6, false);
    for (int p = 0; p < num_positions(); ++p) {
      const Layer& layer = layers()[p];
      const std::int64_t out = MakeDivisible(kProxylessWidths[layer.stage] * wm);
      const std::int64_t stride = layer.index_in_stage == 0 ? kProxylessStrides[layer.stage] : 1;
      const Operation& op = operation(arch.choices[p]);
      const std::string label = "block " + std::to_string(p);
      if (op.expand == 0) {
        b.AddIdentity(label, "zero");  // the shortcut alone
      } else {
        b.AddInvertedResidual(label, op.name, out, op.expand, op.kernel, stride, Activation::kRelu6, layer.keeps_shape);
      }
      b.MarkPosition(p);
    }
    b.AddConv("feature mix", "conv1x1", wm > 1.0 ? MakeDivisible(1280 * wm) : 1280, 1, 1, Activation::kRelu6);
    return b.Finish(options.num_classes ? options.num_classes : 1000);
  }

 private:
  static std::vector<Operation> MakeOperations() {
    std::vector<Operation> ops = {{"zero", {}, 0, 0}};
    for (int kernel : {3, 5, 7}) {
      for (int expand : {3, 6}) {
        const std::string k = std::to_string(kernel), e = std::to_string(expand);
        ops.push_back({"k" + k + "e" + e, {k + "x" + k + "_MBConv" + e}, expand, kernel});
      }
    }
    return ops;
  }
  static std::vector<Layer> MakeLayers() {
    std::vector<Layer> layers;
    std::int64_t width = 16;  // of the fixed first block
    for (int s = 0; s < 6; ++s) {
      for (int i = 0; i < kProxylessStageBlocks[s]; ++i) {
        const std::int64_t stride = i == 0 ? kProxylessStrides[s] : 1;
        layers.push_back({s, i, stride == 1 && width == kProxylessWidths[s]});
        width = kProxylessWidths[s];
      }
    }
    return layers;
  }
  static std::vector<Position> MakePositions() {
    std::vector<Position> positions;
    int p = 0;
    for (const Layer& layer : MakeLayers()) {
      // The official candidate order: the six MBConvs, then Zero where the block allows it.
      Position position{"block " + std::to_string(p++) + " (stage " + std::to_string(layer.stage + 1) + ", block " +
                            std::to_string(layer.index_in_stage + 1) + ")",
                        {1, 2, 3, 4, 5, 6}};
      if (layer.keeps_shape) position.choices.push_back(0);
      positions.push_back(std::move(position));
    }
    return positions;
  }
};

}  // namespace

std::unique_ptr<ChainSpace> MakeMacroSpace() { return std::make_unique<MacroSpace>(); }
std::unique_ptr<ChainSpace> MakeProxylessSpace() { return std::make_unique<ProxylessSpace>(); }

}  // namespace hpcnas

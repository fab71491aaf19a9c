#pragma once
// Chain spaces of MobileNetV2 blocks: one searchable operation per layer, layers in stages whose
// first layer changes width and stride.
//
//   macro      NAS-Bench-Macro (DESIGN section 4.4a): 8 layers in stages of 2, 3, 3, each
//              identity / MB3_K3 / MB6_K5; widths 32 -> 64 -> 128 -> 256; a stride-2 identity
//              is a 1x1 conv + BN. Genotype: the benchmark's 8 digits, "22212202" (0 = identity,
//              1 = MB3_K3, 2 = MB6_K5), or 8 names separated by commas, "mb6_k5,mb6_k5,...".
//   proxyless  ProxylessNAS's ImageNet space (DESIGN section 4.4): 21 blocks in stages of
//              4, 4, 4, 4, 4, 1 (widths 24, 40, 80, 96, 192, 320; first strides 2, 2, 2, 1, 2, 1),
//              each kernel {3, 5, 7} x expansion {3, 6}, plus `zero` in blocks that keep width
//              and stride (they have an identity shortcut, so a zero block is the identity).
//              Genotype: 21 names kKeE or `zero`, '-' between blocks and '|' between stages
//              (',' is accepted for '-', and the '|' are optional; no comma is written, so the
//              string is one CSV field): "k3e3-k3e3-zero-zero|k5e6-...|k7e6". The official
//              names (3x3_MBConv3, Zero) are accepted too.
//
// Canonical form: an identity in a layer that keeps width and stride changes nothing, so in
// every stage such identities move behind the stage's other layers (NAS-Bench-Macro's
// `canonical_arch`: it trained only those 3,969 networks).

#include <string>
#include <vector>

#include "engine/space/network_plan.h"
#include "engine/space/search_space.h"

namespace hpcnas {

// Input size, width and head of a chain network; 0 = the space's default.
struct ChainNetworkOptions {
  std::int64_t resolution = 0;    // input height = width (macro 32, proxyless 224)
  double width_multiplier = 1.0;  // proxyless only: channels x multiplier, rounded to multiples of 8
  std::int64_t num_classes = 0;   // macro 10, proxyless 1000
};

class ChainSpace : public SearchSpace {
 public:
  struct Operation {
    std::string name;                  // as Format writes it
    std::vector<std::string> aliases;  // also accepted by Parse (case-insensitive)
    int expand = 0;                    // 0: the identity (zero) operation
    int kernel = 0;
  };
  struct Layer {
    int stage = 0;
    int index_in_stage = 0;
    bool keeps_shape = false;  // stride 1 and same width: the identity is a no-op here
  };

  StatusOr<Architecture> Parse(std::string_view text) const override;
  Architecture Canonical(const Architecture& arch) const override;
  // Tokens are the layers, with id operation + num_operations() x stage: the same operation
  // in another stage works on other widths and sizes (DESIGN section 4.3 for chains).
  ArchGraph Graph(const Architecture& arch) const override;
  int num_token_ids() const override { return num_operations() * static_cast<int>(StageSizes().size()); }
  int num_operations() const override { return static_cast<int>(operations_.size()); }
  std::string_view OperationName(int op) const override { return operations_[op].name; }

  const Operation& operation(int op) const { return operations_[op]; }
  const std::vector<Layer>& layers() const { return layers_; }
  int identity_op() const { return 0; }

  // The network; options with 0 fields take the space's defaults. Errors for options the
  // space does not have (a width multiplier on macro) or out of range.
  virtual StatusOr<NetworkPlan> Plan(const Architecture& arch, const ChainNetworkOptions& options) const = 0;

 protected:
  ChainSpace(std::vector<Position> positions, std::vector<Operation> operations, std::vector<Layer> layers)
      : SearchSpace(std::move(positions)), operations_(std::move(operations)), layers_(std::move(layers)) {}
  // Stage sizes, for '|' in genotype strings.
  std::vector<int> StageSizes() const;

 private:
  std::vector<Operation> operations_;
  std::vector<Layer> layers_;
};

std::unique_ptr<ChainSpace> MakeMacroSpace();
std::unique_ptr<ChainSpace> MakeProxylessSpace();

// The ProxylessNAS rounding of widths: to a multiple of 8, never below 90 % of v.
std::int64_t MakeDivisible(double v, std::int64_t divisor = 8);

}  // namespace hpcnas

#pragma once
// The TNASP accuracy predictor (DESIGN section 4.3) as a LibTorch module:
//   token embedding + Linear(graph position)  ->  post-LN Transformer encoder layers
//   ->  mean over tokens  ->  Linear(d, hidden) - ReLU - Linear(hidden, 1).
//
// Written out with plain Linear/LayerNorm layers rather than torch::nn::TransformerEncoder,
// for two reasons. Dropout: training must give the same result on any number of ranks, so a
// sample's dropout masks are drawn from a counter-based stream keyed by the sample's place in
// the global batch (DropoutMasks), not from LibTorch's global generator. Initialisation: all
// replicas start from the same weights drawn from the seed. The key projection has no bias:
// softmax is shift-invariant, so its gradient would be pure rounding noise, which Adam
// amplifies into updates that differ between rank counts.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/space/nb201.h"
#include "engine/predictor/tnasp_encoding.h"

namespace hpcnas::tnasp {

struct ModelOptions {
  int d_model = 80;        // token width (paper: 80)
  int heads = 4;           // attention heads, divides d_model (paper: 4)
  int layers = 3;          // encoder layers (paper: 3)
  int feedforward = 320;   // hidden width of each layer's feed-forward block (4 x d_model; ours)
  int head_hidden = 96;    // readout MLP d_model -> head_hidden -> 1 (paper: 96)
  double dropout = 0.1;    // in attention, after attention and in the feed-forward block (paper: 0.1)
  PositionKind position = PositionKind::kLaplacian;
  int eigen_count = 3;     // with PositionKind::kEigen: eigenvectors per node, 1..3
  // The space's graphs (ForSpace): tokens per architecture, distinct token ids, graph nodes.
  int num_tokens = nb201::kNumEdges;
  int num_token_ids = nb201::kNumOps;
  int num_nodes = nb201::kNumNodes;

  // These options with the graph sizes of `space`.
  ModelOptions ForSpace(const SearchSpace& space) const;
};

// Dropout keep-masks (already scaled by 1 / (1 - p)) for a batch: one row of MaskWidth()
// floats per sample.
struct DropoutMasks {
  torch::Tensor values;  // [batch, MaskWidth(options)]
};
std::int64_t MaskWidth(const ModelOptions& options);
// Fills masks for samples [first, first + count) of a global batch; the row of sample i is a
// pure function of (seed, key..., i), so any split of the batch over ranks draws the same
// masks. With eigenvector positions the same stream also draws per-sample sign flips.
DropoutMasks DrawDropoutMasks(const ModelOptions& options, std::uint64_t seed, std::uint64_t key, std::int64_t first,
                              std::int64_t count);

// A batch of encoded architectures as tensors.
struct EncodedBatch {
  torch::Tensor token_ids;  // [batch, tokens] int64
  torch::Tensor positions;  // [batch, tokens, PositionWidth] float
};
EncodedBatch EncodeBatch(const std::vector<Encoding>& encodings, const ModelOptions& options);
EncodedBatch EncodeBatch(const std::vector<nb201::Genotype>& genotypes, const ModelOptions& options);
// Every architecture's encoding, for the predictor's training and prediction calls.
std::vector<Encoding> EncodeAll(const std::vector<nb201::Genotype>& genotypes, const ModelOptions& options);
std::vector<Encoding> EncodeAll(const SearchSpace& space, const std::vector<Architecture>& archs,
                                const ModelOptions& options);
// Random sign flips of eigenvector positions (the eigenvector option's training augmentation),
// drawn like the dropout masks from (seed, key, sample index). A no-op for Laplacian rows.
void FlipEigenSigns(EncodedBatch& batch, const ModelOptions& options, std::uint64_t seed, std::uint64_t key,
                    std::int64_t first);

class EncoderLayerImpl : public torch::nn::Module {
 public:
  explicit EncoderLayerImpl(const ModelOptions& options);
  // masks: [batch, per-layer mask width] or undefined for no dropout.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& masks);

 private:
  int heads_;
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, out_{nullptr};
  torch::nn::Linear feedforward1_{nullptr}, feedforward2_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
};
TORCH_MODULE(EncoderLayer);

class TnaspNetImpl : public torch::nn::Module {
 public:
  explicit TnaspNetImpl(const ModelOptions& options);
  // [batch] standardised predictions; masks == nullptr means evaluation (no dropout).
  torch::Tensor forward(const EncodedBatch& batch, const DropoutMasks* masks);
  const ModelOptions& options() const { return options_; }

 private:
  ModelOptions options_;
  torch::nn::Embedding token_embedding_{nullptr};
  torch::nn::Linear position_projection_{nullptr};
  std::vector<EncoderLayer> layers_;
  torch::nn::Linear readout1_{nullptr}, readout2_{nullptr};
};
TORCH_MODULE(TnaspNet);

// Draws every parameter from the seed: embeddings uniform with unit variance, Linear weights
// and biases U(+-1/sqrt(fan_in)) (LibTorch's default bounds), LayerNorm (1, 0). The same seed
// gives the same bits on every rank.
void InitialiseParameters(TnaspNet& net, std::uint64_t seed);

// Number of floats in all parameters, in net->parameters() order.
std::int64_t ParameterCount(TnaspNet& net);

}  // namespace hpcnas::tnasp

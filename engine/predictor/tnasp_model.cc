#include "engine/predictor/tnasp_model.h"

#include <cmath>

#include "engine/core/rng.h"

namespace hpcnas::tnasp {
namespace {


// Per-layer mask layout: attention probabilities [heads, T, T], attention output [T, d],
// feed-forward hidden [T, ff], feed-forward output [T, d].
std::int64_t LayerMaskWidth(const ModelOptions& o) {
  const std::int64_t t = o.num_tokens;
  return o.heads * t * t + t * o.d_model + t * o.feedforward + t * o.d_model;
}

enum StreamPurpose : std::uint64_t { kDropoutStream = 0, kSignFlipStream = 1, kInitStream = 2 };

}  // namespace

std::int64_t MaskWidth(const ModelOptions& options) { return options.layers * LayerMaskWidth(options); }

DropoutMasks DrawDropoutMasks(const ModelOptions& options, std::uint64_t seed, std::uint64_t key, std::int64_t first,
                              std::int64_t count) {
  const std::int64_t width = MaskWidth(options);
  torch::Tensor values = torch::empty({count, width}, torch::kFloat32);
  float* out = values.data_ptr<float>();
  // 16-bit draws, four per 64-bit number: the drop probability is rounded to 1/65536.
  const auto threshold = static_cast<std::uint32_t>(std::lround(options.dropout * 65536.0));
  const float kept = static_cast<float>(1.0 / (1.0 - options.dropout));
  for (std::int64_t i = 0; i < count; ++i) {
    CounterRng rng(seed, {key, static_cast<std::uint64_t>(first + i), kDropoutStream});
    float* row = out + i * width;
    for (std::int64_t j = 0; j < width; j += 4) {
      std::uint64_t bits = rng.NextU64();
      for (std::int64_t k = j; k < std::min(j + 4, width); ++k, bits >>= 16) {
        row[k] = (bits & 0xffff) < threshold ? 0.0f : kept;
      }
    }
  }
  return {values};
}

ModelOptions ModelOptions::ForSpace(const SearchSpace& space) const {
  ModelOptions o = *this;
  const ArchGraph graph = space.Graph(space.AtIndex(0));
  o.num_tokens = static_cast<int>(graph.token_ids.size());
  o.num_token_ids = space.num_token_ids();
  o.num_nodes = graph.num_nodes;
  return o;
}

EncodedBatch EncodeBatch(const std::vector<Encoding>& encodings, const ModelOptions& options) {
  const auto n = static_cast<std::int64_t>(encodings.size());
  const std::int64_t tokens = options.num_tokens;
  const int width = PositionWidth(options.position, options.eigen_count, options.num_nodes);
  EncodedBatch batch{torch::empty({n, tokens}, torch::kInt64), torch::empty({n, tokens, width}, torch::kFloat32)};
  auto* ids = batch.token_ids.data_ptr<std::int64_t>();
  float* positions = batch.positions.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const Encoding& e = encodings[i];
    std::copy(e.token_ids.begin(), e.token_ids.end(), ids + i * tokens);
    std::copy(e.positions.begin(), e.positions.end(), positions + i * tokens * width);
  }
  return batch;
}

EncodedBatch EncodeBatch(const std::vector<nb201::Genotype>& genotypes, const ModelOptions& options) {
  return EncodeBatch(EncodeAll(genotypes, options), options);
}

std::vector<Encoding> EncodeAll(const std::vector<nb201::Genotype>& genotypes, const ModelOptions& options) {
  std::vector<Encoding> out;
  out.reserve(genotypes.size());
  for (const nb201::Genotype& g : genotypes) out.push_back(Encode(g, options.position, options.eigen_count));
  return out;
}

std::vector<Encoding> EncodeAll(const SearchSpace& space, const std::vector<Architecture>& archs,
                                const ModelOptions& options) {
  std::vector<Encoding> out;
  out.reserve(archs.size());
  for (const Architecture& arch : archs) out.push_back(Encode(space.Graph(arch), options.position, options.eigen_count));
  return out;
}

void FlipEigenSigns(EncodedBatch& batch, const ModelOptions& options, std::uint64_t seed, std::uint64_t key,
                    std::int64_t first) {
  if (options.position != PositionKind::kEigen) return;
  const std::int64_t n = batch.positions.size(0);
  const int k = options.eigen_count;
  float* positions = batch.positions.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    CounterRng rng(seed, {key, static_cast<std::uint64_t>(first + i), kSignFlipStream});
    const std::uint64_t bits = rng.NextU64();
    for (int v = 0; v < k; ++v) {
      if (((bits >> v) & 1) == 0) continue;
      for (std::int64_t t = 0; t < options.num_tokens; ++t) {  // the same eigenvector flips at both ends of every edge
        float* row = positions + (i * options.num_tokens + t) * 2 * k;
        row[v] = -row[v];
        row[k + v] = -row[k + v];
      }
    }
  }
}

EncoderLayerImpl::EncoderLayerImpl(const ModelOptions& o) : heads_(o.heads) {
  query_ = register_module("query", torch::nn::Linear(o.d_model, o.d_model));
  key_ = register_module("key", torch::nn::Linear(torch::nn::LinearOptions(o.d_model, o.d_model).bias(false)));
  value_ = register_module("value", torch::nn::Linear(o.d_model, o.d_model));
  out_ = register_module("out", torch::nn::Linear(o.d_model, o.d_model));
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  feedforward1_ = register_module("feedforward1", torch::nn::Linear(o.d_model, o.feedforward));
  feedforward2_ = register_module("feedforward2", torch::nn::Linear(o.feedforward, o.d_model));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& masks) {
  const std::int64_t batch = x.size(0), tokens = x.size(1), d = x.size(2), head_width = d / heads_;
  auto split_heads = [&](const torch::Tensor& t) { return t.view({batch, tokens, heads_, head_width}).transpose(1, 2); };
  const torch::Tensor q = split_heads(query_(x)), k = split_heads(key_(x)), v = split_heads(value_(x));
  torch::Tensor attention = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(head_width)), -1);

  const bool dropout = masks.defined();
  std::int64_t offset = 0;
  auto mask = [&](std::vector<std::int64_t> shape) {
    std::int64_t width = 1;
    for (std::int64_t s : shape) width *= s;
    shape.insert(shape.begin(), batch);
    torch::Tensor m = masks.narrow(1, offset, width).view(shape);
    offset += width;
    return m;
  };
  if (dropout) attention = attention * mask({heads_, tokens, tokens});
  torch::Tensor attended = out_(torch::matmul(attention, v).transpose(1, 2).reshape({batch, tokens, d}));
  if (dropout) attended = attended * mask({tokens, d});
  torch::Tensor y = norm1_(x + attended);

  torch::Tensor hidden = torch::relu(feedforward1_(y));
  if (dropout) hidden = hidden * mask({tokens, hidden.size(2)});
  torch::Tensor fed = feedforward2_(hidden);
  if (dropout) fed = fed * mask({tokens, d});
  return norm2_(y + fed);
}

TnaspNetImpl::TnaspNetImpl(const ModelOptions& options) : options_(options) {
  token_embedding_ = register_module("token_embedding", torch::nn::Embedding(options.num_token_ids, options.d_model));
  position_projection_ = register_module(
      "position_projection", torch::nn::Linear(PositionWidth(options.position, options.eigen_count, options.num_nodes), options.d_model));
  for (int i = 0; i < options.layers; ++i) {
    layers_.push_back(register_module("layer" + std::to_string(i), EncoderLayer(options)));
  }
  readout1_ = register_module("readout1", torch::nn::Linear(options.d_model, options.head_hidden));
  readout2_ = register_module("readout2", torch::nn::Linear(options.head_hidden, 1));
}

torch::Tensor TnaspNetImpl::forward(const EncodedBatch& batch, const DropoutMasks* masks) {
  torch::Tensor x = token_embedding_(batch.token_ids) + position_projection_(batch.positions);
  const std::int64_t layer_width = LayerMaskWidth(options_);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const torch::Tensor layer_masks =
        masks ? masks->values.narrow(1, static_cast<std::int64_t>(i) * layer_width, layer_width) : torch::Tensor();
    x = layers_[i]->forward(x, layer_masks);
  }
  return readout2_(torch::relu(readout1_(x.mean(1)))).squeeze(-1);
}

void InitialiseParameters(TnaspNet& net, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  std::uint64_t index = 0;
  for (const auto& item : net->named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor p = item.value();
    const bool is_norm = name.find("norm") != std::string::npos;
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (is_norm) {
      p.fill_(is_bias ? 0.0 : 1.0);
      ++index;
      continue;
    }
    double bound = std::sqrt(3.0);  // embeddings: unit variance
    if (name.find("token_embedding") == std::string::npos) {
      // LibTorch's Linear default, U(+-1/sqrt(fan_in)) for weight and bias alike; fan_in is
      // the layer's input width, read off its weight.
      const std::string weight_name = is_bias ? name.substr(0, name.size() - 4) + "weight" : name;
      bound = 1.0 / std::sqrt(static_cast<double>(net->named_parameters()[weight_name].size(1)));
    }
    CounterRng rng(seed, {kInitStream, index++});
    float* data = p.data_ptr<float>();
    for (std::int64_t j = 0; j < p.numel(); ++j) data[j] = static_cast<float>((2 * rng.NextUniform() - 1) * bound);
  }
}

std::int64_t ParameterCount(TnaspNet& net) {
  std::int64_t count = 0;
  for (const auto& p : net->parameters()) count += p.numel();
  return count;
}

}  // namespace hpcnas::tnasp

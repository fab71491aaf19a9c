#include "engine/nn/supernet.h"

#include <algorithm>
#include <cmath>

namespace hpcnas {
namespace {

constexpr std::uint64_t kGateKey = 0x6761746573ULL;   // "gates"
constexpr std::uint64_t kAlphaKey = 0x616c706861ULL;  // "alpha"
constexpr std::uint64_t kWeightKey = 0x776569676874ULL;  // "weight"

// The official initialisation (ProxylessNAS init_model, 'he_fout'), drawn from a stream keyed
// by the seed and the parameter's place, so every rank builds the same weights without
// touching LibTorch's global generator: convolutions N(0, 2 / (k * k * out_channels)), BatchNorm
// scale 1 and shift 0, the classifier U(-1/sqrt(in), 1/sqrt(in)) with bias 0.
void InitializeWeights(torch::nn::Module& net, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  std::uint64_t index = 0;
  for (auto& item : net.named_parameters()) {
    torch::Tensor& p = item.value();
    const std::string& name = item.key();
    CounterRng rng(seed, {kWeightKey, index++});
    if (name.size() >= 5 && name.compare(name.size() - 5, 5, "alpha") == 0) continue;
    const bool bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    std::vector<float> values(static_cast<std::size_t>(p.numel()));
    if (p.dim() == 4) {
      const double stddev = std::sqrt(2.0 / static_cast<double>(p.size(0) * p.size(2) * p.size(3)));
      for (float& v : values) {
        const double u1 = 1.0 - rng.NextUniform(), u2 = rng.NextUniform();  // Box-Muller
        v = static_cast<float>(stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
      }
    } else if (p.dim() == 2) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(p.size(1)));
      for (float& v : values) v = static_cast<float>((2 * rng.NextUniform() - 1) * bound);
    } else {
      std::fill(values.begin(), values.end(), bias ? 0.0f : 1.0f);  // BatchNorm; the classifier's bias
    }
    p.copy_(torch::tensor(values, torch::kFloat32).reshape(p.sizes()));
  }
}

}  // namespace

std::int64_t SupernetPlan::FixedFlops() const {
  std::int64_t flops = base.ClassifierFlops();
  for (const BlockPlan& block : base.blocks) {
    if (block.position < 0) flops += block.Flops();
  }
  return flops;
}

StatusOr<SupernetPlan> PlanSupernet(const ChainSpace& space, const ChainNetworkOptions& options) {
  SupernetPlan plan;
  Architecture base{std::vector<std::uint8_t>(space.num_positions(), 1)};
  HPCNAS_RETURN_IF_ERROR(space.Validate(base));
  HPCNAS_ASSIGN_OR_RETURN(plan.base, space.Plan(base, options));
  plan.candidates.resize(space.num_positions());
  plan.ops.resize(space.num_positions());
  for (int p = 0; p < space.num_positions(); ++p) {
    for (int op = 0; op < space.num_operations(); ++op) {
      Architecture arch = base;
      arch.choices[p] = static_cast<std::uint8_t>(op);
      if (!space.Validate(arch).ok()) continue;  // not allowed at this position
      HPCNAS_ASSIGN_OR_RETURN(const NetworkPlan network, space.Plan(arch, options));
      for (const BlockPlan& block : network.blocks) {
        if (block.position != p) continue;
        plan.candidates[p].push_back(block);
        plan.ops[p].push_back(op);
      }
    }
  }
  return plan;
}

std::shared_ptr<SupernetImpl> SupernetImpl::Make(const ChainSpace& space, const SupernetPlan& plan,
                                                 const ChainNetworkOptions& options, std::uint64_t seed) {
  std::shared_ptr<SupernetImpl> net(new SupernetImpl(space, options, seed));
  const ChainBlockImpl::Options block_options{plan.base.bn_eps, BatchNormMode::kBatchStatistics, false, false};
  bool searchable_seen = false;
  for (std::size_t b = 0; b < plan.base.blocks.size(); ++b) {
    const BlockPlan& block = plan.base.blocks[b];
    if (block.position >= 0) {
      searchable_seen = true;
      continue;
    }
    ChainBlockImpl::Options o = block_options;
    o.reads_image = b == 0;
    auto& list = searchable_seen ? net->suffix_ : net->prefix_;
    list.push_back(net->register_module((searchable_seen ? "suffix" : "prefix") + std::to_string(list.size()), ChainBlock(block, o)));
  }
  net->fixed_flops_ = plan.FixedFlops();
  CounterRng alpha_rng(seed, {kAlphaKey});
  for (int p = 0; p < space.num_positions(); ++p) {
    std::vector<ChainBlock> candidates;
    std::vector<double> flops;
    int zero = -1;
    for (const BlockPlan& block : plan.candidates[p]) {
      // The zero operation: a block without convolutions (the shortcut alone). Macro's stride-2
      // identity is a 1x1 convolution, a real operation.
      if (block.convs.empty()) zero = static_cast<int>(candidates.size());
      candidates.push_back(ChainBlock(block, block_options));
      flops.push_back(static_cast<double>(block.Flops()));
    }
    MixedOp mixed(std::move(candidates), plan.ops[p], zero);
    mixed->InitializeAlpha(alpha_rng);
    net->mixed_.push_back(net->register_module("position" + std::to_string(p), mixed));
    net->candidate_flops_.push_back(std::move(flops));
  }
  net->classifier_ = net->register_module(
      "classifier", torch::nn::Linear(plan.base.classifier_in, plan.base.classifier_out));
  InitializeWeights(*net, seed);
  return net;
}

torch::Tensor SupernetImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = input;
  for (ChainBlock& block : prefix_) x = block->forward(x);
  for (MixedOp& mixed : mixed_) x = mixed->forward(x);
  for (ChainBlock& block : suffix_) x = block->forward(x);
  return PoolAndClassify(x, classifier_);
}

torch::Tensor SupernetImpl::ForwardAllPaths(const torch::Tensor& input) {
  torch::Tensor x = input;
  for (ChainBlock& block : prefix_) x = block->forward(x);
  for (MixedOp& mixed : mixed_) {
    const torch::Tensor p = torch::softmax(mixed->alpha(), 0);
    torch::Tensor y = p[0] * mixed->candidate(0)->forward(x);
    for (int k = 1; k < mixed->size(); ++k) y = y + p[k] * mixed->candidate(k)->forward(x);
    x = y;
  }
  for (ChainBlock& block : suffix_) x = block->forward(x);
  return PoolAndClassify(x, classifier_);
}

void SupernetImpl::Binarize(GateMode mode, std::uint64_t step, bool architecture_step, bool uniform) {
  for (std::size_t p = 0; p < mixed_.size(); ++p) {
    CounterRng rng(seed_, {kGateKey, step, p});
    mixed_[p]->Binarize(mode, rng, architecture_step, uniform);
  }
}

Status SupernetImpl::SetArchitecture(const Architecture& arch) {
  if (arch.choices.size() != mixed_.size()) return Status::InvalidInput("architecture has the wrong number of positions");
  for (std::size_t p = 0; p < mixed_.size(); ++p) {
    const auto& ops = mixed_[p]->ops();
    const auto it = std::find(ops.begin(), ops.end(), arch.choices[p]);
    if (it == ops.end()) return Status::InvalidInput("operation " + std::to_string(arch.choices[p]) + " is not a candidate at position " + std::to_string(p));
    mixed_[p]->SetActive(static_cast<int>(it - ops.begin()));
  }
  return Status::Ok();
}

void SupernetImpl::SetArchitectureGradients() {
  for (MixedOp& m : mixed_) m->SetArchitectureGradient();
}

void SupernetImpl::RescaleAfterStep() {
  for (MixedOp& m : mixed_) m->RescaleAfterStep();
}

Architecture SupernetImpl::Derive() const {
  Architecture arch;
  for (const MixedOp& m : mixed_) arch.choices.push_back(static_cast<std::uint8_t>(m->ops()[m->ArgmaxCandidate()]));
  return arch;
}

Architecture SupernetImpl::FromCandidates(const std::vector<int>& choice) const {
  Architecture arch;
  for (std::size_t p = 0; p < mixed_.size(); ++p) arch.choices.push_back(static_cast<std::uint8_t>(mixed_[p]->ops()[choice[p]]));
  return arch;
}

Architecture SupernetImpl::Active() const {
  Architecture arch;
  for (const MixedOp& m : mixed_) arch.choices.push_back(static_cast<std::uint8_t>(m->active_op()));
  return arch;
}

torch::Tensor SupernetImpl::ExpectedCost(const std::vector<std::vector<double>>& candidate_cost) {
  torch::Tensor total = torch::zeros({}, torch::kFloat64);
  for (std::size_t p = 0; p < mixed_.size(); ++p) {
    const torch::Tensor probabilities = torch::softmax(mixed_[p]->alpha().to(torch::kCPU, torch::kFloat64), 0);
    total = total + (probabilities * torch::tensor(candidate_cost[p], torch::kFloat64)).sum();
  }
  return total;
}

std::vector<torch::Tensor> SupernetImpl::WeightParameters() {
  std::vector<torch::Tensor> weights;
  for (const auto& item : named_parameters()) {
    if (item.key().size() < 5 || item.key().compare(item.key().size() - 5, 5, "alpha") != 0) weights.push_back(item.value());
  }
  return weights;
}

std::vector<torch::Tensor> SupernetImpl::ActiveWeightParameters() {
  std::vector<torch::Tensor> weights;
  auto add = [&weights](ChainBlock& block) {
    for (torch::Tensor& p : block->parameters()) weights.push_back(p);
  };
  for (ChainBlock& block : prefix_) add(block);
  for (MixedOp& m : mixed_) add(m->candidate(m->active()));
  for (ChainBlock& block : suffix_) add(block);
  for (torch::Tensor& p : classifier_->parameters()) weights.push_back(p);
  return weights;
}

StatusOr<ChainNetwork> SupernetImpl::ExtractNetwork(const Architecture& arch) {
  HPCNAS_RETURN_IF_ERROR(SetArchitecture(arch));
  HPCNAS_ASSIGN_OR_RETURN(NetworkPlan plan, space_.Plan(arch, options_));
  ChainNetwork network(std::move(plan), BatchNormMode::kRunningStatistics);
  std::vector<torch::Tensor> to;
  for (ChainBlock& block : network->blocks()) {
    for (torch::Tensor& p : block->parameters()) to.push_back(p);
  }
  for (torch::Tensor& p : network->classifier()->parameters()) to.push_back(p);
  const std::vector<torch::Tensor> from = ActiveWeightParameters();
  if (from.size() != to.size()) return Status::Internal("supernet path and stand-alone network differ in their parameters");
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (!from[i].sizes().equals(to[i].sizes())) return Status::Internal("supernet path and stand-alone network differ in a parameter's shape");
    to[i].copy_(from[i]);
  }
  network->to(from.front().device());
  return network;
}

std::vector<torch::Tensor> SupernetImpl::ArchitectureParameters() {
  std::vector<torch::Tensor> alphas;
  for (MixedOp& m : mixed_) alphas.push_back(m->alpha());
  return alphas;
}

std::optional<std::vector<int>> MostProbableWithinCost(const std::vector<std::vector<double>>& log_p,
                                                       const std::vector<std::vector<double>>& cost, double low, double high) {
  if (high < 0 || !(high > low)) return std::nullopt;
  const double width = std::max((high - low) / 1000, high / 1e6);  // at most a million bins
  const auto bins = static_cast<std::size_t>(high / width) + 1;
  struct Cell {
    bool reached = false;
    double log_p = 0, cost = 0;
    int choice = -1;
    std::size_t from = 0;  // the bin of the previous position
  };
  std::vector<std::vector<Cell>> table(log_p.size() + 1, std::vector<Cell>(bins));
  table[0][0].reached = true;
  for (std::size_t p = 0; p < log_p.size(); ++p) {
    for (std::size_t b = 0; b < bins; ++b) {
      const Cell& at = table[p][b];
      if (!at.reached) continue;
      for (std::size_t k = 0; k < log_p[p].size(); ++k) {
        const double c = at.cost + cost[p][k];
        if (c > high) continue;
        Cell& next = table[p + 1][std::min(bins - 1, static_cast<std::size_t>(c / width))];
        const double l = at.log_p + log_p[p][k];
        if (!next.reached || l > next.log_p) next = {true, l, c, static_cast<int>(k), b};
      }
    }
  }
  const std::vector<Cell>& last = table.back();
  std::optional<std::size_t> best;
  for (std::size_t b = 0; b < bins; ++b) {
    if (last[b].reached && last[b].cost >= low && (!best || last[b].log_p > last[*best].log_p)) best = b;
  }
  if (!best) return std::nullopt;
  std::vector<int> choice(log_p.size());
  for (std::size_t p = log_p.size(), b = *best; p > 0; --p) {
    choice[p - 1] = table[p][b].choice;
    b = table[p][b].from;
  }
  return choice;
}

}  // namespace hpcnas

#include "engine/nn/mixed_op.h"

#include <cmath>

namespace hpcnas {
namespace {

// Index drawn from `probabilities` by inverse CDF at u in [0, 1).
int DrawIndex(const std::vector<double>& probabilities, double u) {
  double total = 0;
  for (double p : probabilities) total += p;
  double cumulative = 0;
  for (std::size_t k = 0; k < probabilities.size(); ++k) {
    cumulative += probabilities[k] / total;
    if (u < cumulative) return static_cast<int>(k);
  }
  for (std::size_t k = probabilities.size(); k-- > 0;) {
    if (probabilities[k] > 0) return static_cast<int>(k);
  }
  return 0;
}

std::vector<double> ToVector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// y passes through unchanged; backward gives y its gradient and the gates
// dL/dg_k = sum(o_k(x) * dL/dy), re-running the other candidates on the saved input without
// autograd (the official ArchGradientFunction, without its nested autograd.grad).
struct GatePassThrough : public torch::autograd::Function<GatePassThrough> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor output, torch::Tensor gates,
                               torch::Tensor input, std::int64_t op_address) {
    ctx->save_for_backward({input.detach(), output.detach()});
    ctx->saved_data["op"] = op_address;
    ctx->saved_data["gates_dtype"] = static_cast<std::int64_t>(gates.scalar_type());
    return output;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    auto* op = reinterpret_cast<MixedOpImpl*>(ctx->saved_data["op"].toInt());
    const torch::Tensor& grad = grad_outputs[0];
    torch::Tensor gate_grads = torch::zeros({op->size()}, grad.options());
    {
      torch::NoGradGuard no_grad;
      for (int k = 0; k < op->size(); ++k) {
        const torch::Tensor out = k == op->active() ? saved[1] : op->candidate(k)->forward(saved[0]);
        gate_grads[k] = (out * grad).sum();
      }
    }
    return {grad, gate_grads.to(static_cast<torch::ScalarType>(ctx->saved_data["gates_dtype"].toInt())), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

StatusOr<GateMode> ParseGateMode(std::string_view name) {
  if (name == "full_v2") return GateMode::kFullV2;
  if (name == "two") return GateMode::kTwo;
  if (name == "full") return GateMode::kFull;
  return Status::InvalidInput("gate mode '" + std::string(name) + "' is not one of full_v2, two, full");
}

MixedOpImpl::MixedOpImpl(std::vector<ChainBlock> candidates, std::vector<int> ops, int zero_candidate)
    : candidates_(std::move(candidates)), ops_(std::move(ops)), zero_candidate_(zero_candidate) {
  for (std::size_t k = 0; k < candidates_.size(); ++k) register_module("candidate" + std::to_string(k), candidates_[k]);
  alpha_ = register_parameter("alpha", torch::zeros({static_cast<std::int64_t>(candidates_.size())}));
  gates_ = torch::zeros({static_cast<std::int64_t>(candidates_.size())}).requires_grad_(true);
}

void MixedOpImpl::InitializeAlpha(CounterRng& rng) {
  torch::NoGradGuard no_grad;
  for (int k = 0; k < size(); ++k) {
    const double u1 = 1.0 - rng.NextUniform(), u2 = rng.NextUniform();  // Box-Muller
    alpha_[k] = 1e-3 * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
}

torch::Tensor MixedOpImpl::Probabilities() const { return torch::softmax(alpha_.detach().to(torch::kCPU, torch::kFloat64), 0); }

int MixedOpImpl::ArgmaxCandidate() const { return static_cast<int>(alpha_.detach().argmax().item<std::int64_t>()); }

void MixedOpImpl::SetActive(int candidate) {
  active_ = candidate;
  inactive_ = -1;
  architecture_step_ = false;
}

void MixedOpImpl::Binarize(GateMode mode, CounterRng& rng, bool architecture_step, bool uniform) {
  mode_ = mode;
  architecture_step_ = architecture_step;
  const std::vector<double> p = uniform ? std::vector<double>(size(), 1.0) : ToVector(Probabilities());
  inactive_ = -1;
  if (mode == GateMode::kTwo && architecture_step && size() > 1) {
    // Two paths without replacement, then the active one by their renormalised probabilities.
    const int first = DrawIndex(p, rng.NextUniform());
    std::vector<double> rest = p;
    rest[first] = 0;
    const int second = DrawIndex(rest, rng.NextUniform());
    const double a = alpha_[first].item<double>(), b = alpha_[second].item<double>();
    const double first_share = 1.0 / (1.0 + std::exp(b - a));
    const bool first_active = rng.NextUniform() < first_share;
    active_ = first_active ? first : second;
    inactive_ = first_active ? second : first;
  } else {
    active_ = DrawIndex(p, rng.NextUniform());
  }
  torch::NoGradGuard no_grad;
  gates_ = torch::zeros({size()}, alpha_.options());
  gates_[active_] = 1.0;
  gates_.requires_grad_(true);
  for (torch::Tensor& weight : WeightParameters()) weight.mutable_grad() = torch::Tensor();
}

torch::Tensor MixedOpImpl::forward(const torch::Tensor& x) {
  if (!architecture_step_) return candidates_[active_]->forward(x);
  if (mode_ == GateMode::kFullV2) {
    const torch::Tensor y = candidates_[active_]->forward(x);
    return GatePassThrough::apply(y, gates_, x, reinterpret_cast<std::int64_t>(this));
  }
  torch::Tensor out = gates_[active_] * candidates_[active_]->forward(x);
  for (int k = 0; k < size(); ++k) {
    const bool runs = mode_ == GateMode::kFull ? k != active_ : k == inactive_;
    if (runs) out = out + gates_[k] * candidates_[k]->forward(x).detach();
  }
  return out;
}

void MixedOpImpl::SetArchitectureGradient() {
  pair_alpha_before_.clear();
  if (!gates_.grad().defined()) return;
  if (active_ == zero_candidate_) {
    alpha_.mutable_grad() = torch::Tensor();  // this step leaves alpha and its optimiser state alone
    return;
  }
  const std::vector<double> gate_grad = ToVector(gates_.grad());
  std::vector<double> grad(size(), 0.0);
  if (mode_ == GateMode::kTwo && inactive_ >= 0) {
    const int pair[2] = {active_, inactive_};
    const double a = alpha_[pair[0]].item<double>(), b = alpha_[pair[1]].item<double>();
    const double slice[2] = {1.0 / (1.0 + std::exp(b - a)), 1.0 / (1.0 + std::exp(a - b))};
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 2; ++j) grad[pair[i]] += gate_grad[pair[j]] * slice[j] * ((i == j) - slice[i]);
    }
    pair_alpha_before_ = {a, b};
  } else {
    const std::vector<double> p = ToVector(Probabilities());
    for (int i = 0; i < size(); ++i) {
      for (int j = 0; j < size(); ++j) grad[i] += gate_grad[j] * p[j] * ((i == j) - p[i]);
    }
  }
  torch::Tensor g = torch::tensor(grad, torch::kFloat64).to(alpha_.options());
  if (alpha_.grad().defined()) {
    alpha_.mutable_grad().add_(g);
  } else {
    alpha_.mutable_grad() = g;
  }
}

void MixedOpImpl::RescaleAfterStep() {
  if (pair_alpha_before_.empty()) return;
  torch::NoGradGuard no_grad;
  const int pair[2] = {active_, inactive_};
  const double new_sum = std::exp(alpha_[pair[0]].item<double>()) + std::exp(alpha_[pair[1]].item<double>());
  const double old_sum = std::exp(pair_alpha_before_[0]) + std::exp(pair_alpha_before_[1]);
  const double offset = std::log(new_sum / old_sum);
  for (int k : pair) alpha_[k] -= offset;
  pair_alpha_before_.clear();
}

std::vector<torch::Tensor> MixedOpImpl::WeightParameters() {
  std::vector<torch::Tensor> weights;
  for (ChainBlock& c : candidates_) {
    for (torch::Tensor& p : c->parameters()) weights.push_back(p);
  }
  return weights;
}

}  // namespace hpcnas

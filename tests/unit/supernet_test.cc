// The ProxylessNAS supernet's gradients (engine/nn/mixed_op.h, supernet.h): the re-run gate
// gradients against autograd, the alpha gradient's invariants, the expected-FLOPs gradient, the
// two-path rescaling, zero steps, and derived networks equal to the stand-alone ones.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "engine/nn/supernet.h"

namespace hpcnas {
namespace {

std::shared_ptr<SupernetImpl> MakeNet(const ChainSpace& space, std::int64_t resolution, std::uint64_t seed = 1) {
  torch::manual_seed(static_cast<std::uint64_t>(seed));  // the candidate weights
  ChainNetworkOptions options;
  options.resolution = resolution;
  options.num_classes = 10;
  if (space.name() == "proxyless") options.width_multiplier = 0.25;
  const StatusOr<SupernetPlan> plan = PlanSupernet(space, options);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  return SupernetImpl::Make(space, *plan, options, seed);
}

torch::Tensor Loss(SupernetImpl& net, std::int64_t resolution, std::int64_t batch = 4) {
  torch::manual_seed(7);
  const torch::Tensor x = torch::randn({batch, 3, resolution, resolution});
  const torch::Tensor labels = torch::randint(0, 10, {batch}, torch::kLong);
  return torch::nn::functional::cross_entropy(net.forward(x), labels);
}

std::vector<torch::Tensor> GateGradients(SupernetImpl& net) {
  std::vector<torch::Tensor> grads;
  for (MixedOp& m : net.mixed_ops()) grads.push_back(m->gates().grad().clone());
  return grads;
}

TEST(Supernet, ReRunGateGradientsEqualAutogradOfTheFullSum) {
  for (const auto& make : {MakeMacroSpace, MakeProxylessSpace}) {
    const auto space = make();
    const std::int64_t resolution = space->name() == "macro" ? 16 : 32;
    auto net = MakeNet(*space, resolution);
    net->train();
    net->Binarize(GateMode::kFull, 3, true);
    Loss(*net, resolution).backward();
    const auto reference = GateGradients(*net);
    const Architecture active = net->Active();
    net->zero_grad();
    net->Binarize(GateMode::kFullV2, 3, true);
    EXPECT_EQ(net->Active(), active) << "the same step samples the same paths in every mode";
    Loss(*net, resolution).backward();
    const auto rerun = GateGradients(*net);
    for (std::size_t p = 0; p < rerun.size(); ++p) {
      ASSERT_EQ(rerun[p].numel(), reference[p].numel());
      const double scale = reference[p].abs().max().item<double>();
      EXPECT_GT(scale, 0) << space->name() << " position " << p;
      EXPECT_LE((rerun[p] - reference[p]).abs().max().item<double>(), 1e-4 * scale + 1e-7)
          << space->name() << " position " << p << ": " << rerun[p] << " vs " << reference[p];
    }
  }
}

TEST(Supernet, AlphaGradientsSumToZeroAndZeroStepsLeaveAlphaAlone) {
  const auto space = MakeProxylessSpace();
  auto net = MakeNet(*space, 32);
  net->train();
  int zero_steps = 0, checked = 0;
  for (std::uint64_t step = 0; step < 6; ++step) {
    net->zero_grad();
    for (torch::Tensor& a : net->ArchitectureParameters()) a.mutable_grad() = torch::Tensor();
    net->Binarize(GateMode::kFullV2, step, true);
    Loss(*net, 32).backward();
    net->SetArchitectureGradients();
    for (MixedOp& m : net->mixed_ops()) {
      const bool zero = space->operation(m->active_op()).expand == 0;
      if (zero) {
        EXPECT_FALSE(m->alpha().grad().defined()) << "a sampled zero gives alpha no gradient";
        ++zero_steps;
        continue;
      }
      ASSERT_TRUE(m->alpha().grad().defined());
      const double sum = m->alpha().grad().to(torch::kFloat64).sum().item<double>();
      const double size = m->alpha().grad().abs().max().item<double>();
      EXPECT_LE(std::abs(sum), 1e-5 * size + 1e-9);
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
  EXPECT_GT(zero_steps, 0) << "some step should sample the zero operation";
  // Adam (beta1 0, as the official arch optimiser): a position whose alpha has no gradient keeps
  // its alpha and its optimiser state.
  net->zero_grad();
  for (torch::Tensor& a : net->ArchitectureParameters()) a.mutable_grad() = torch::Tensor();
  std::uint64_t step = 0;
  int zero_position = -1;
  for (; step < 50 && zero_position < 0; ++step) {
    net->Binarize(GateMode::kFullV2, step, true);
    for (std::size_t p = 0; p < net->mixed_ops().size(); ++p) {
      if (space->operation(net->mixed_ops()[p]->active_op()).expand == 0) zero_position = static_cast<int>(p);
    }
  }
  ASSERT_GE(zero_position, 0);
  Loss(*net, 32).backward();
  net->SetArchitectureGradients();
  torch::optim::Adam adam(net->ArchitectureParameters(), torch::optim::AdamOptions(1e-1).betas({0.0, 0.999}));
  const torch::Tensor before = net->mixed_ops()[zero_position]->alpha().detach().clone();
  adam.step();
  // (torch::optim::Adam skips a parameter without gradient before it touches its state.)
  EXPECT_FALSE(net->mixed_ops()[zero_position]->alpha().grad().defined());
  EXPECT_TRUE(torch::equal(before, net->mixed_ops()[zero_position]->alpha().detach()));
}

TEST(Supernet, ExpectedFlopsGradientIsProbabilityTimesDeviation) {
  const auto space = MakeMacroSpace();
  auto net = MakeNet(*space, 32);
  {
    torch::NoGradGuard no_grad;
    for (torch::Tensor& a : net->ArchitectureParameters()) a.normal_(0, 1);
  }
  torch::Tensor expected = net->ExpectedFlops();
  expected.backward();
  double by_hand = static_cast<double>(net->FixedFlops());
  for (MixedOp& m : net->mixed_ops()) {
    const torch::Tensor p = m->Probabilities();
    // The candidates' FLOPs: each candidate alone in an otherwise fixed network.
    std::vector<double> flops;
    for (int k = 0; k < m->size(); ++k) flops.push_back(static_cast<double>(m->candidate(k)->plan().Flops()));
    double mean = 0;
    for (int k = 0; k < m->size(); ++k) mean += p[k].item<double>() * flops[k];
    by_hand += mean;
    for (int k = 0; k < m->size(); ++k) {
      const double want = p[k].item<double>() * (flops[k] - mean);
      EXPECT_NEAR(m->alpha().grad()[k].item<double>(), want, 1e-4 * std::abs(mean));
    }
  }
  EXPECT_NEAR(expected.item<double>(), by_hand, 1e-6 * by_hand);
}

TEST(Supernet, TwoPathStepKeepsEveryUnsampledProbability) {
  const auto space = MakeProxylessSpace();
  auto net = MakeNet(*space, 32);
  net->train();
  torch::optim::Adam adam(net->ArchitectureParameters(), torch::optim::AdamOptions(0.5).betas({0.0, 0.999}));
  std::vector<torch::Tensor> before;
  for (MixedOp& m : net->mixed_ops()) before.push_back(m->Probabilities());
  net->Binarize(GateMode::kTwo, 11, true);
  Loss(*net, 32).backward();
  net->SetArchitectureGradients();
  adam.step();
  net->RescaleAfterStep();
  int moved = 0;
  for (std::size_t p = 0; p < net->mixed_ops().size(); ++p) {
    MixedOp& m = net->mixed_ops()[p];
    const torch::Tensor after = m->Probabilities();
    ASSERT_GE(m->inactive(), 0);
    for (int k = 0; k < m->size(); ++k) {
      if (k == m->active() || k == m->inactive()) continue;
      // Unchanged up to alpha's float32 rounding.
      EXPECT_NEAR(after[k].item<double>(), before[p][k].item<double>(), 1e-6 * before[p][k].item<double>())
          << "position " << p << " candidate " << k;
    }
    moved += (after - before[p]).abs().max().item<double>() > 1e-4;
  }
  EXPECT_GT(moved, 5);
}

TEST(Supernet, UniformWeightPathsIgnoreWhatAlphaFavours) {
  const auto space = MakeMacroSpace();
  auto net = MakeNet(*space, 16);
  {
    torch::NoGradGuard no_grad;
    for (MixedOp& m : net->mixed_ops()) m->alpha().copy_(torch::tensor({8.0f, 0.0f, 0.0f}));  // p_0 = 0.9993
  }
  constexpr int kSteps = 300;
  for (const bool uniform : {false, true}) {
    std::vector<int> count(3, 0);
    for (int step = 0; step < kSteps; ++step) {
      net->Binarize(GateMode::kFullV2, step, false, uniform);
      for (MixedOp& m : net->mixed_ops()) ++count[m->active()];
    }
    const int draws = kSteps * static_cast<int>(net->mixed_ops().size());
    if (uniform) {
      for (int k = 0; k < 3; ++k) EXPECT_NEAR(count[k], draws / 3.0, 0.05 * draws) << "candidate " << k;
    } else {
      EXPECT_GT(count[0], 0.99 * draws);
    }
  }
}

TEST(Supernet, ADerivedSubnetIsTheStandAloneNetwork) {
  for (const auto& make : {MakeMacroSpace, MakeProxylessSpace}) {
    const auto space = make();
    auto net = MakeNet(*space, 32);
    CounterRng rng(4, {0});
    for (int i = 0; i < 5; ++i) {
      const Architecture arch = space->Sample(rng);
      ASSERT_TRUE(net->SetArchitecture(arch).ok());
      EXPECT_EQ(net->Active(), arch);
      std::int64_t params = 0, flops = net->FixedFlops();
      for (const auto& item : net->named_parameters()) {
        const std::string& name = item.key();
        bool counted = name.rfind("position", 0) != 0;  // fixed blocks and classifier
        for (std::size_t p = 0; p < net->mixed_ops().size() && !counted; ++p) {
          counted = name.rfind("position" + std::to_string(p) + ".candidate" + std::to_string(net->mixed_ops()[p]->active()) + ".", 0) == 0;
        }
        if (counted) params += item.value().numel();
      }
      for (MixedOp& m : net->mixed_ops()) flops += m->candidate(m->active())->plan().Flops();
      ChainNetworkOptions options;
      options.resolution = 32;
      options.num_classes = 10;
      if (space->name() == "proxyless") options.width_multiplier = 0.25;
      auto plan = space->Plan(arch, options);
      ASSERT_TRUE(plan.ok());
      EXPECT_EQ(params, plan->Params()) << space->Format(arch);
      EXPECT_EQ(flops, plan->Flops()) << space->Format(arch);
    }
    EXPECT_FALSE(net->SetArchitecture(Architecture{{1, 2}}).ok());
  }
}

// supernet.derive = "target": the most probable choice within a cost band, against every
// choice of 8 positions x 3 candidates, and against random in-band choices of 21 x 7.
TEST(Supernet, MostProbableWithinCostIsTheBestChoiceInTheBand) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0, 1);
  const auto draw = [&](int positions, int candidates, std::vector<std::vector<double>>& log_p,
                        std::vector<std::vector<double>>& cost) {
    log_p.assign(positions, {});
    cost.assign(positions, {});
    for (int p = 0; p < positions; ++p) {
      for (int k = 0; k < candidates; ++k) {
        log_p[p].push_back(std::log(0.05 + unit(rng)));
        cost[p].push_back(k == 0 ? 0.0 : 2 + 13 * unit(rng));  // like identity, MB3, MB6 in MFLOPs
      }
    }
  };
  const auto sums = [](const std::vector<std::vector<double>>& table, const std::vector<int>& choice) {
    double total = 0;
    for (std::size_t p = 0; p < choice.size(); ++p) total += table[p][static_cast<std::size_t>(choice[p])];
    return total;
  };
  std::vector<std::vector<double>> log_p, cost;
  for (int trial = 0; trial < 20; ++trial) {
    draw(8, 3, log_p, cost);
    const double low = 40 + trial, high = low * 1.1 / 0.9;
    double best = -1e300;
    for (int code = 0; code < 6561; ++code) {
      std::vector<int> choice;
      for (int p = 0, c = code; p < 8; ++p, c /= 3) choice.push_back(c % 3);
      const double c = sums(cost, choice);
      if (c >= low && c <= high) best = std::max(best, sums(log_p, choice));
    }
    const std::optional<std::vector<int>> found = MostProbableWithinCost(log_p, cost, low, high);
    ASSERT_TRUE(found.has_value()) << trial;
    EXPECT_GE(sums(cost, *found), low);
    EXPECT_LE(sums(cost, *found), high);
    EXPECT_NEAR(sums(log_p, *found), best, 1e-12) << "trial " << trial;
  }
  EXPECT_FALSE(MostProbableWithinCost(log_p, cost, 1000, 1100).has_value());  // above every choice

  draw(21, 7, log_p, cost);
  const std::optional<std::vector<int>> found = MostProbableWithinCost(log_p, cost, 90, 110);
  ASSERT_TRUE(found.has_value());
  EXPECT_GE(sums(cost, *found), 90);
  EXPECT_LE(sums(cost, *found), 110);
  int in_band = 0;
  for (int sample = 0; sample < 20000; ++sample) {
    std::vector<int> choice;
    for (int p = 0; p < 21; ++p) choice.push_back(static_cast<int>(rng() % 7));
    const double c = sums(cost, choice);
    if (c < 90 || c > 110) continue;
    ++in_band;
    EXPECT_LE(sums(log_p, choice), sums(log_p, *found) + 1e-12);
  }
  EXPECT_GT(in_band, 100);
}

}  // namespace
}  // namespace hpcnas

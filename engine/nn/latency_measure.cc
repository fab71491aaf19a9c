#include "engine/nn/latency_measure.h"

#include <torch/cuda.h>

#include <chrono>
#include <fstream>
#include <map>

namespace hpcnas {
namespace {

// Count, mean and variance of `run`'s wall time in ms (Welford), after `warmup` untimed runs.
LatencyEntry Time(const std::function<void()>& run, torch::Device device, const LatencyMeasureOptions& m) {
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  for (int i = 0; i < m.warmup; ++i) run();
  sync();
  LatencyEntry e;
  double m2 = 0;
  for (int i = 0; i < m.repeats; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    run();
    sync();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
    ++e.count;
    const double delta = ms - e.mean_ms;
    e.mean_ms += delta / static_cast<double>(e.count);
    m2 += delta * (ms - e.mean_ms);
  }
  e.variance_ms2 = e.count > 1 ? m2 / static_cast<double>(e.count - 1) : 0;
  return e;
}

std::string DeviceName(torch::Device device) {
  if (device.is_cuda()) return "cuda";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) return line.substr(line.find(':') + 2);
  }
  return "cpu";
}

}  // namespace

StatusOr<LatencyTable> MeasureLatencyTable(const ChainSpace& space, const ChainNetworkOptions& options,
                                           torch::Device device, const LatencyMeasureOptions& measure) {
  torch::NoGradGuard no_grad;
  // Every block a network can hold: position p with each operation it allows (the other positions
  // at a base operation every position allows do not change p's input shape).
  const Architecture base{std::vector<std::uint8_t>(space.num_positions(), 1)};
  HPCNAS_ASSIGN_OR_RETURN(const NetworkPlan base_plan, space.Plan(base, options));
  std::map<std::string, BlockPlan> blocks;
  for (const BlockPlan& block : base_plan.blocks) blocks.emplace(BlockLatencyKey(block), block);
  for (int p = 0; p < space.num_positions(); ++p) {
    for (int op = 0; op < space.num_operations(); ++op) {
      Architecture arch = base;
      arch.choices[p] = static_cast<std::uint8_t>(op);
      if (!space.Validate(arch).ok()) continue;
      HPCNAS_ASSIGN_OR_RETURN(const NetworkPlan plan, space.Plan(arch, options));
      for (const BlockPlan& block : plan.blocks) {
        if (block.position == p) blocks.emplace(BlockLatencyKey(block), block);
      }
    }
  }
  LatencyTable table;
  table.space = space.name();
  table.resolution = base_plan.resolution;
  table.width_multiplier = options.width_multiplier;
  table.device = device.is_cuda() ? "cuda" : "cpu";
  table.device_name = DeviceName(device);
  table.threads = torch::get_num_threads();
  table.batch = measure.batch;
  for (const auto& [key, plan] : blocks) {
    ChainBlock block(plan, ChainBlockImpl::Options{base_plan.bn_eps, BatchNormMode::kRunningStatistics, false, false});
    block->to(device);
    block->eval();
    const torch::Tensor x = torch::randn({measure.batch, plan.in_channels, plan.in_size, plan.in_size}, torch::TensorOptions().device(device));
    LatencyEntry e = Time([&] { block->forward(x); }, device, measure);
    e.key = key;
    table.entries.push_back(std::move(e));
  }
  const BlockPlan& last = base_plan.blocks.back();
  torch::nn::Linear classifier(base_plan.classifier_in, base_plan.classifier_out);
  classifier->to(device);
  const torch::Tensor features = torch::randn({measure.batch, last.out_channels, last.out_size, last.out_size}, torch::TensorOptions().device(device));
  LatencyEntry e = Time([&] { PoolAndClassify(features, classifier); }, device, measure);
  e.key = ClassifierLatencyKey(base_plan.classifier_in, base_plan.classifier_out);
  table.entries.push_back(std::move(e));
  return table;
}

double MeasureNetworkLatency(ChainNetworkImpl& network, torch::Device device, const LatencyMeasureOptions& measure) {
  torch::NoGradGuard no_grad;
  network.to(device);
  network.eval();
  const std::int64_t size = network.plan().resolution;
  const torch::Tensor x = torch::randn({measure.batch, 3, size, size}, torch::TensorOptions().device(device));
  return Time([&] { network.forward(x); }, device, measure).mean_ms;
}

void FitLatencyCalibration(LatencyTable& table, const std::vector<double>& sum_of_blocks, const std::vector<double>& measured) {
  const auto n = static_cast<double>(sum_of_blocks.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < sum_of_blocks.size(); ++i) {
    sx += sum_of_blocks[i];
    sy += measured[i];
    sxx += sum_of_blocks[i] * sum_of_blocks[i];
    sxy += sum_of_blocks[i] * measured[i];
  }
  const double denominator = n * sxx - sx * sx;
  if (n < 2 || denominator <= 0) return;  // nothing to fit: keep the identity
  table.calibration_scale = (n * sxy - sx * sy) / denominator;
  table.calibration_offset_ms = (sy - table.calibration_scale * sx) / n;
  // A latency is positive and grows with the blocks: without a positive scale and a non-negative
  // offset (a few noisy networks) fit the scale alone.
  if (table.calibration_scale <= 0 || table.calibration_offset_ms < 0) {
    table.calibration_scale = sxx > 0 ? sxy / sxx : 1.0;
    table.calibration_offset_ms = 0;
  }
}

}  // namespace hpcnas

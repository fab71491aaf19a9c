#include "engine/nn/latency_measure.h"

#include <torch/cuda.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>

namespace hpcnas {
namespace {

// Count, mean and variance (Welford) of each of `runs`' wall time in ms, after `warmup` untimed
// runs of each. The runs are timed in rounds, one of each per round: a slow spell of a shared
// machine then lands on every run alike instead of on whichever was being timed, and no run
// finds its weights hot in the cache from its own previous repeat, as inside a whole network.
std::vector<LatencyEntry> TimeInterleaved(const std::vector<std::function<void()>>& runs, torch::Device device,
                                          const LatencyMeasureOptions& m) {
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  for (const auto& run : runs) {
    for (int i = 0; i < m.warmup; ++i) run();
  }
  sync();
  std::vector<LatencyEntry> entries(runs.size());
  std::vector<double> m2(runs.size(), 0);
  for (int round = 0; round < m.repeats; ++round) {
    for (std::size_t k = 0; k < runs.size(); ++k) {
      const auto begin = std::chrono::steady_clock::now();
      runs[k]();
      sync();
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
      LatencyEntry& e = entries[k];
      ++e.count;
      const double delta = ms - e.mean_ms;
      e.mean_ms += delta / static_cast<double>(e.count);
      m2[k] += delta * (ms - e.mean_ms);
    }
  }
  for (std::size_t k = 0; k < runs.size(); ++k) {
    entries[k].variance_ms2 = entries[k].count > 1 ? m2[k] / static_cast<double>(entries[k].count - 1) : 0;
  }
  return entries;
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
  std::vector<ChainBlock> modules;
  std::vector<torch::Tensor> inputs;
  std::vector<std::function<void()>> runs;
  for (const auto& [key, plan] : blocks) {
    modules.emplace_back(plan, ChainBlockImpl::Options{base_plan.bn_eps, BatchNormMode::kRunningStatistics, false, false});
    modules.back()->to(device);
    modules.back()->eval();
    inputs.push_back(torch::randn({measure.batch, plan.in_channels, plan.in_size, plan.in_size}, torch::TensorOptions().device(device)));
  }
  for (std::size_t k = 0; k < modules.size(); ++k) runs.push_back([&, k] { modules[k]->forward(inputs[k]); });
  const BlockPlan& last = base_plan.blocks.back();
  torch::nn::Linear classifier(base_plan.classifier_in, base_plan.classifier_out);
  classifier->to(device);
  const torch::Tensor features = torch::randn({measure.batch, last.out_channels, last.out_size, last.out_size}, torch::TensorOptions().device(device));
  runs.push_back([&] { PoolAndClassify(features, classifier); });
  table.entries = TimeInterleaved(runs, device, measure);
  auto key = blocks.begin();
  for (std::size_t k = 0; k < modules.size(); ++k, ++key) table.entries[k].key = key->first;
  table.entries.back().key = ClassifierLatencyKey(base_plan.classifier_in, base_plan.classifier_out);
  return table;
}

std::vector<double> MeasureNetworkLatencies(std::vector<ChainNetwork>& networks, torch::Device device,
                                            const LatencyMeasureOptions& measure) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> inputs;
  std::vector<std::function<void()>> runs;
  for (ChainNetwork& network : networks) {
    network->to(device);
    network->eval();
    const std::int64_t size = network->plan().resolution;
    inputs.push_back(torch::randn({measure.batch, 3, size, size}, torch::TensorOptions().device(device)));
  }
  for (std::size_t k = 0; k < networks.size(); ++k) runs.push_back([&, k] { networks[k]->forward(inputs[k]); });
  std::vector<double> means;
  for (const LatencyEntry& e : TimeInterleaved(runs, device, measure)) means.push_back(e.mean_ms);
  return means;
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

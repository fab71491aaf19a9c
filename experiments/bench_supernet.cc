// Benchmark: the claims of ProxylessNAS on hpcnas's supernet, one measurement per invocation
// (experiments/bench_supernet.py runs them all and writes the CSV).
//
//   build/experiments/bench_supernet --measure memory --mode full_v2 [--space proxyless]
//       [--resolution 128] [--width 1.0] [--batch 16] [--threads 1]
//     one training step in a fresh process; prints the growth of the peak resident memory
//     during it. Modes: weight (a weight step: the sampled path), full_v2 / two / full (an
//     architecture step in that gate mode, weights frozen as the trainer does), darts (every
//     path with autograd, the continuous relaxation the binary gates avoid).
//   build/experiments/bench_supernet --measure throughput ...
//     images/s of the supernet's weight steps (SupernetTrainer, one rank, the real step with its
//     augmentation and gradient packing) against training the same sampled networks alone
//     (plain LibTorch: forward, label-smoothed loss, backward, SGD Nesterov on a ready batch).
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <CLI/CLI.hpp>

#include "engine/comm/local_communicator.h"
#include "workers/supernet_trainer.h"

using namespace hpcnas;
using Clock = std::chrono::steady_clock;

namespace {

double CurrentRssMb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024;  // KiB on Linux
}

double SecondsSince(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"ProxylessNAS supernet: memory of a step by gate mode, and weight-step throughput"};
  std::string measure = "throughput", mode = "full_v2", space_name = "proxyless";
  std::int64_t resolution = 128, batch = 16;
  double width = 1.0;
  int threads = 1, steps = 8;
  app.add_option("--measure", measure, "memory | throughput")->capture_default_str();
  app.add_option("--mode", mode, "memory: weight | full_v2 | two | full | darts")->capture_default_str();
  app.add_option("--space", space_name, "macro | proxyless")->capture_default_str();
  app.add_option("--resolution", resolution, "input size")->capture_default_str();
  app.add_option("--width", width, "proxyless width multiplier")->capture_default_str();
  app.add_option("--batch", batch, "images per step")->capture_default_str();
  app.add_option("--steps", steps, "throughput: weight steps per timing")->capture_default_str();
  app.add_option("--threads", threads, "LibTorch intra-op threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  const auto space = space_name == "macro" ? MakeMacroSpace() : MakeProxylessSpace();

  SupernetConfig config;
  config.space = space_name;
  config.resolution = resolution;
  config.width_multiplier = space_name == "proxyless" ? width : 1.0;
  config.batch_size = static_cast<int>(batch);
  config.micro_batches = 1;
  config.train_images = batch * steps;
  config.valid_images = batch;
  config.recalibration_images = batch;
  config.warmup_epochs = 1;
  config.epochs = 1;
  if (config.train_images + config.valid_images > 256) {
    std::fprintf(stderr, "batch x (steps + 1) must be at most 256 (the embedded images)\n");
    return 2;
  }
  const SupernetData data = LoadSupernetData(config).value();

  if (measure == "memory") {
    ChainNetworkOptions options;
    options.resolution = resolution;
    options.num_classes = 10;
    if (space_name == "proxyless") options.width_multiplier = width;
    auto net = SupernetImpl::Make(*space, PlanSupernet(*space, options).value(), options, 1);
    net->train();
    const torch::Tensor x = data.Inputs(data.train_pixels.slice(0, 0, batch));
    const torch::Tensor y = data.train_labels.slice(0, 0, batch);
    const bool architecture_step = mode != "weight" && mode != "darts";
    if (architecture_step) {
      for (torch::Tensor& w : net->WeightParameters()) w.requires_grad_(false);
    }
    const double before = CurrentRssMb();
    const auto start = Clock::now();
    torch::Tensor logits;
    if (mode == "darts") {
      logits = net->ForwardAllPaths(x);
    } else {
      net->Binarize(mode == "weight" ? GateMode::kFullV2 : ParseGateMode(mode).value(), 0, architecture_step);
      logits = net->forward(x);
    }
    torch::nn::functional::cross_entropy(logits, y).backward();
    const double seconds = SecondsSince(start);
    std::printf("memory,%s,%s,%lld,%lld,%.3f,%.1f,%.1f\n", space_name.c_str(), mode.c_str(), static_cast<long long>(resolution),
                static_cast<long long>(batch), seconds, PeakRssMb() - before, before);
    return 0;
  }

  // Throughput: the trainer's warm-up epoch (weight steps only), then the same sampled networks
  // trained alone; twice each, alternating, the faster of each kept.
  LocalCommunicator comm(std::make_shared<LocalWorld>(1), 0);
  std::vector<Architecture> paths;
  double supernet_best = 0, fixed_best = 0;
  for (int trial = 0; trial < 2; ++trial) {
    auto trainer = SupernetTrainer::Make(*space, config, torch::kCPU).value();
    if (paths.empty()) {
      for (int s = 0; s < steps; ++s) {
        trainer->net().Binarize(GateMode::kFullV2, 2 * static_cast<std::uint64_t>(s), false);  // the trainer's keys
        paths.push_back(trainer->net().Active());
      }
    }
    auto start = Clock::now();
    if (!trainer->RunEpoch(comm, data, hpcnas::Seconds(600), nullptr, nullptr).value()) return 3;
    supernet_best = std::max(supernet_best, static_cast<double>(steps * batch) / SecondsSince(start));

    std::vector<ChainNetwork> networks;
    for (const Architecture& arch : paths) networks.push_back(trainer->net().ExtractNetwork(arch).value());
    double busy = 0;
    for (int s = 0; s < steps; ++s) {
      ChainNetwork& net = networks[static_cast<std::size_t>(s)];
      net->train();
      torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.025).momentum(0.9).nesterov(true).weight_decay(4e-5));
      start = Clock::now();  // the inputs are made inside the timing, as the trainer's are
      const torch::Tensor x = data.Inputs(data.train_pixels.slice(0, s * batch, (s + 1) * batch));
      const torch::Tensor y = data.train_labels.slice(0, s * batch, (s + 1) * batch);
      sgd.zero_grad();
      const torch::Tensor log_p = torch::log_softmax(net->forward(x), 1);
      const torch::Tensor loss = (0.9 * -log_p.gather(1, y.unsqueeze(1)).squeeze(1) - 0.1 * log_p.mean(1)).mean();
      loss.backward();
      sgd.step();
      busy += SecondsSince(start);
    }
    fixed_best = std::max(fixed_best, static_cast<double>(steps * batch) / busy);
  }
  std::printf("throughput,%s,%lld,%lld,%.2f,%.2f,%.3f\n", space_name.c_str(), static_cast<long long>(resolution),
              static_cast<long long>(batch), supernet_best, fixed_best, supernet_best / fixed_best);
  return 0;
}

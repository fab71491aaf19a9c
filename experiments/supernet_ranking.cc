// Experiment helper: how well a trained supernet ranks architectures, one line per
// (architecture, BatchNorm recalibration size, fine-tuning steps). Each architecture is cut out
// of the supernet with its inherited weights exactly as the search's supernet evaluator does
// (workers/supernet_evaluator.h) and evaluated on the supernet's held-out split; the line gives
// its held-out accuracy and mean cross-entropy. experiments/supernet_ranking.py draws the
// architectures, runs this and compares the rankings with the benchmark.
//
// With --from-scratch the checkpoint gives only the configuration (data, split, seed, schedule):
// each architecture starts from the supernet's initial weights, not its trained ones, so
// --finetune-steps N is a stand-alone training of N steps: the baseline that tells whether the
// supernet or the data decides a ranking. --augment crops and flips the images of those steps as
// the supernet's weight steps do (the search's fine-tuning does not).
//
//   build/experiments/supernet_ranking --supernet OUT_OF_HPCNAS_SUPERNET --archs FILE
//       [--recalibration 128,1024] [--finetune-steps 0] [--from-scratch] [--augment] [--threads 2] > ranking.csv
#include <cstdio>
#include <fstream>

#include <CLI/CLI.hpp>

#include "engine/space/chain_spaces.h"
#include "io/supernet_files.h"
#include "workers/supernet_trainer.h"

using namespace hpcnas;

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "supernet_ranking: error: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"held-out accuracy and loss of architectures with a supernet's inherited weights"};
  std::string supernet_dir, archs_path;
  std::vector<std::int64_t> recalibrations{128};
  std::vector<int> finetune_steps{0};
  int threads = 2;
  bool from_scratch = false, augment = false;
  app.add_option("--supernet", supernet_dir, "output directory of `hpcnas supernet`")->required();
  app.add_option("--archs", archs_path, "file of architecture strings, one per line")->required();
  app.add_option("--recalibration", recalibrations, "BatchNorm recalibration sizes (train images)")->delimiter(',');
  app.add_option("--finetune-steps", finetune_steps, "fine-tuning steps before the evaluation")->delimiter(',');
  app.add_flag("--from-scratch", from_scratch, "start every architecture from the initial weights, not the trained ones");
  app.add_flag("--augment", augment, "crop and flip the images of the fine-tuning steps");
  app.add_option("--threads", threads, "LibTorch intra-op threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);

  std::vector<std::string> warnings;
  StatusOr<std::pair<SupernetCheckpoint, std::string>> newest = LoadNewestSupernetCheckpoint(supernet_dir, warnings);
  if (!newest.ok()) return Fail(newest.status().message());
  const SupernetCheckpoint& checkpoint = newest->first;
  StatusOr<Config> config = ConfigFromToml(checkpoint.config_toml, "the supernet checkpoint's /config");
  if (!config.ok()) return Fail(config.status().message());
  const auto space = config->supernet.space == "macro" ? MakeMacroSpace() : MakeProxylessSpace();
  StatusOr<SupernetData> data = LoadSupernetData(config->supernet);
  if (!data.ok()) return Fail(data.status().message());

  std::vector<Architecture> archs;
  std::ifstream lines(archs_path);
  if (!lines) return Fail("cannot read '" + archs_path + "'");
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    StatusOr<Architecture> arch = space->Parse(line);
    if (!arch.ok()) return Fail("'" + archs_path + "': " + arch.status().message());
    archs.push_back(*arch);
  }

  std::printf("arch,recalibration_images,finetune_steps,valid_accuracy,valid_loss\n");
  for (const std::int64_t recalibration : recalibrations) {
    SupernetConfig variant = config->supernet;
    variant.recalibration_images = recalibration;
    StatusOr<std::unique_ptr<SupernetTrainer>> trainer = SupernetTrainer::Make(*space, variant, torch::kCPU);
    if (!trainer.ok()) return Fail(trainer.status().message());
    if (!from_scratch) {
      if (Status imported = (*trainer)->Import(checkpoint.state); !imported.ok()) return Fail(imported.message());
    }
    for (const int steps : finetune_steps) {
      for (const Architecture& arch : archs) {
        StatusOr<SubnetEvaluation> e = (*trainer)->EvaluateSubnet(*data, arch, steps, space->CanonicalHash(arch), augment);
        if (!e.ok()) return Fail(e.status().message());
        std::printf("%s,%lld,%d,%.4f,%.6f\n", space->Format(arch).c_str(), static_cast<long long>(recalibration), steps,
                    e->valid_accuracy, e->valid_loss);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

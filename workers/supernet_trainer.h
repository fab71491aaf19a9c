#pragma once
// What a rank does in `hpcnas supernet` (DESIGN section 4.4): ProxylessNAS's weight and
// architecture steps on a chain-space supernet, data-parallel over ranks.
//
// Every step, every rank
//   1. samples the same gates (SupernetImpl::Binarize, keyed by the seed and the step);
//   2. takes the same global batch (weight steps: an epoch permutation of the train split keyed
//      by seed and epoch, with crop-and-flip keyed by seed, epoch and image; architecture
//      steps: images of the held-out split drawn by seed and step) and cuts it into
//      micro_batches fixed micro-batches; micro-batch m is computed by rank m mod size, with
//      BatchNorm over that micro-batch;
//   3. packs each micro-batch's gradient (a weight step: the active path's weights; an
//      architecture step: every gate) with its loss sum and correct count into one flat slot;
//      ONE all-gather per step brings every slot to every rank, and each rank sums them in
//      micro-batch order: the same float arithmetic on any number of ranks;
//   4. applies the same update: SGD Nesterov on the active weights (a weight whose path did not
//      run gets no decay and no momentum that step), or Adam on alpha, position by position (a
//      position whose sampled path is zero keeps alpha and its Adam moments).
// Replicas therefore stay bitwise identical, and a run gives the same supernet on 1 to
// micro_batches ranks at a fixed number of intra-op threads per rank (a convolution's
// reduction order may depend on the thread count).
//
// Architecture loss with a target T and the expected cost E = sum_p sum_j p_j F(o_j) plus the
// fixed layers (FLOPs from the plans, or latency from a measured lookup table, calibrated):
// mul#log a CE (log E / log T)^b, add#linear CE + l (E - T) / T (the official forms; both pull
// towards cheaper paths wherever E is, so T does not set where E ends), add#abs
// CE + l |E - T| / T (TuNAS, Bender et al. 2020: below T it pulls towards dearer paths). The
// hardware term's gradient reaches alpha through p = softmax(alpha); the cross-entropy's through
// the gates.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/comm/communicator.h"
#include "engine/config/config.h"
#include "engine/nn/supernet.h"
#include "engine/space/latency_table.h"
#include "io/supernet_files.h"

namespace hpcnas {

// The train and held-out splits as read: pixels uint8 [N, 3, S, S], labels int64 [N]. Bytes,
// not floats, for a quarter of the memory on every rank (150 KB an image at 224 x 224 instead of
// 600 KB); Inputs() normalises the rows a step takes.
struct SupernetData {
  torch::Tensor train_pixels, train_labels;
  torch::Tensor valid_pixels, valid_labels;
  std::vector<float> mean, stddev;  // per channel, of x / 255
  std::int64_t resolution = 32;     // of the network's input; CIFAR records are resized to it
  // A hash of the records read (pixels as stored, labels): supernet.data_fingerprint.
  std::string fingerprint;

  // Rows of train_pixels or valid_pixels as the network takes them: float32 [n, 3, resolution,
  // resolution] on the CPU, (x / 255 - mean) / stddev, then bilinearly resized if S differs.
  torch::Tensor Inputs(const torch::Tensor& pixels) const;
  std::int64_t train_size() const { return train_labels.size(0); }
  std::int64_t valid_size() const { return valid_labels.size(0); }
};
// The first train_images records of supernet.data train, the next valid_images are held out.
// Other records than supernet.data_fingerprint names (when it is set) are bad input.
StatusOr<SupernetData> LoadSupernetData(const SupernetConfig& config);

// What a step reports for the progress line.
struct StepReport {
  std::int64_t step_in_epoch = 0, steps_per_epoch = 0;
  std::int64_t images = 0;  // images of weight and architecture steps since the epoch began
};

// The derived architecture, cut out, recalibrated and evaluated on the held-out split.
struct SubnetEvaluation {
  Architecture arch;
  double valid_accuracy = 0;  // %
  double valid_loss = 0;      // mean cross-entropy on the held-out split (no label smoothing)
  double mflops = 0;
};

// A cost of a supernet's architectures: every candidate's, the fixed layers', and a
// calibration; an architecture costs scale * (fixed + sum over positions of its choice's) + offset.
struct CostModel {
  std::vector<std::vector<double>> candidate;  // [position][k]
  double fixed = 0, scale = 1, offset = 0;
};
// The models of supernet.target_*, from the plans: FLOPs (millions), and latency (ms, with the
// table's calibration) where a table is given; a block the table lacks is an error.
struct SupernetCosts {
  CostModel mflops;
  std::optional<CostModel> latency_ms;
};
StatusOr<SupernetCosts> PriceSupernet(const SupernetPlan& plan, const LatencyTable* latency);
// The network a supernet of `space` is built as under `config` (resolution, classes, width).
ChainNetworkOptions SupernetNetworkOptions(const ChainSpace& space, const SupernetConfig& config);
// supernet.derive = "target" with a target that no architecture of the space meets within the
// band (supernet.derive_band_low/high) is bad input; priced from the plans, no network is made. Ok for the argmax rule.
Status CheckDeriveTarget(const ChainSpace& space, const SupernetConfig& config, const LatencyTable* latency);

class SupernetTrainer {
 public:
  // `latency` (may be null) prices every candidate for target_latency_ms and the reports; a
  // block it lacks is an error.
  static StatusOr<std::unique_ptr<SupernetTrainer>> Make(const ChainSpace& space, const SupernetConfig& config,
                                                         torch::Device device, const LatencyTable* latency = nullptr);

  // Runs the rest of the current epoch (warm-up while epochs_done < warmup_epochs), or until a
  // rank asks to stop (all ranks stop after the same step). Returns true if the epoch ended.
  StatusOr<bool> RunEpoch(Communicator& comm, const SupernetData& data, Seconds timeout,
                          const std::function<bool()>& stop_requested,
                          const std::function<void(const StepReport&)>& on_step);
  // Closes the epoch (call when RunEpoch returned true): its row (losses, accuracies, expected
  // cost, p per position, the derived architecture evaluated, `benchmark` of it) joins the
  // history. Every rank computes the same row.
  const SupernetEpoch& FinishEpoch(const SupernetData& data, double seconds,
                                   const std::function<double(const Architecture&)>& benchmark);
  SubnetEvaluation EvaluateDerived(const SupernetData& data);
  // The architecture the run reports under supernet.derive: the argmax per position, or
  // ("target") the most probable one whose cost under the target's model (FLOPs, or the
  // calibrated latency table) is within the band around the target; Make checks that one exists.
  Architecture Derive();
  // `arch` cut out of the supernet with its inherited weights (the replica is not changed),
  // fine-tuned for `finetune_steps` (batches keyed by `finetune_key`; with `finetune_augment`
  // cropped and flipped as the weight steps' are), its BatchNorm recalibrated on the first
  // recalibration_images train images, evaluated on the held-out split. Errors: an architecture
  // the supernet cannot hold.
  StatusOr<SubnetEvaluation> EvaluateSubnet(const SupernetData& data, const Architecture& arch, int finetune_steps,
                                            std::uint64_t finetune_key, bool finetune_augment = false);
  // Makes every rank's replica (weights, alphas, optimiser state, counters) equal to root's.
  Status BroadcastReplica(Communicator& comm, int root, Seconds timeout);

  bool in_warmup() const { return state_.epochs_done < config_.warmup_epochs; }
  int total_epochs() const { return config_.warmup_epochs + config_.epochs; }
  const SupernetConfig& config() const { return config_; }
  const SupernetTrainingState& state() const { return state_; }
  // The replica's weights, alphas and optimiser state (a checkpoint's content) and back.
  SupernetTrainingState Export() const;
  Status Import(const SupernetTrainingState& state);
  SupernetImpl& net() { return *net_; }
  double ExpectedMflops() { return Expected(costs_.mflops).item<double>(); }
  // NaN without a latency table.
  double ExpectedLatencyMs() { return costs_.latency_ms ? Expected(*costs_.latency_ms).item<double>() : std::nan(""); }

 private:
  torch::Tensor Expected(const CostModel& model);  // differentiable in alpha, float64 on the CPU
  SupernetTrainer(const ChainSpace& space, const SupernetConfig& config, torch::Device device);
  Status WeightStep(Communicator& comm, const SupernetData& data, const std::vector<std::int64_t>& order,
                    Seconds timeout, bool& stop);
  Status ArchitectureStep(Communicator& comm, const SupernetData& data, Seconds timeout, bool& stop);
  // Gathers the slots of this rank's micro-batches (plus its stop flag) and sums them in
  // micro-batch order into `sum`; `stop` becomes true if any rank asked to stop.
  Status SumOverMicroBatches(Communicator& comm, const std::vector<float>& mine, std::size_t slot, bool stop_here,
                             Seconds timeout, std::vector<float>& sum, bool& stop);
  double LearningRate() const;
  void FineTune(ChainNetworkImpl& network, const SupernetData& data, int steps, std::uint64_t key, bool augment);

  const ChainSpace& space_;
  SupernetConfig config_;
  torch::Device device_;
  GateMode mode_ = GateMode::kFullV2;
  std::shared_ptr<SupernetImpl> net_;
  std::vector<torch::Tensor> weights_;  // every weight, in WeightParameters order
  SupernetTrainingState state_;         // counters, optimiser state, epoch sums
  std::vector<torch::Tensor> momentum_;  // per weight; undefined until its first step
  SupernetCosts costs_;
  const LatencyTable* latency_table_ = nullptr;
  std::function<bool()> stop_requested_;
};

}  // namespace hpcnas

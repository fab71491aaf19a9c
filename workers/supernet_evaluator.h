#pragma once
// The "supernet" evaluator (search.evaluator = supernet): each architecture's accuracy with the
// weights it inherits from a supernet (ProxylessNAS, OFA-style one-shot evaluation). Every rank
// holds the supernet and the data of its [supernet] config; an architecture, on whichever rank
// the protocol gives it to, is cut out of the supernet, optionally fine-tuned
// (search.finetune_steps, batches keyed by its hash), its BatchNorm recalibrated on the first
// recalibration_images train images, and evaluated on the held-out split: the same label on any
// rank and any number of ranks (at a fixed thread count per rank). The label is the held-out
// accuracy, or with score_by_log_likelihood the held-out mean log-probability of the true class.
//
// The supernet is either a checkpoint of `hpcnas supernet` (Make), fixed for the whole search,
// or trained inside the search (MakeTrained, search.supernet = "train"): Prepare runs its
// [supernet] schedule data-parallel on all ranks (workers/supernet_trainer.h), the warm-up
// epochs before generation 0 and epochs_per_generation more epochs before each later
// generation, until its warmup_epochs + epochs are done. Its state travels in the search's
// checkpoints, so a resumed search continues it exactly.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "engine/space/chain_spaces.h"
#include "io/supernet_files.h"
#include "workers/spread_evaluator.h"
#include "workers/supernet_trainer.h"

namespace hpcnas {

class SupernetEvaluator : public SpreadEvaluator {
 public:
  // `data`: LoadSupernetData of the checkpoint's [supernet] (the caller loads it, once per
  // process). Errors: a checkpoint of another space or whose weights do not fit.
  static StatusOr<std::unique_ptr<SupernetEvaluator>> Make(const ChainSpace& space, const SupernetCheckpoint& checkpoint,
                                                           SupernetData data, int finetune_steps, torch::Device device,
                                                           const FaultInjection& fault, int rank, Seconds timeout);
  // A new supernet of `config` trained on `data` (LoadSupernetData(config)) by Prepare; `latency`
  // (may be null) as for SupernetTrainer::Make. Errors: a latency table without a block.
  static StatusOr<std::unique_ptr<SupernetEvaluator>> MakeTrained(const ChainSpace& space, const SupernetConfig& config,
                                                                  SupernetData data, int epochs_per_generation,
                                                                  const LatencyTable* latency, int finetune_steps, torch::Device device,
                                                                  const FaultInjection& fault, int rank, Seconds timeout);

  StatusOr<bool> Prepare(Communicator& comm, std::int32_t generation, const std::function<bool()>& stop_requested) override;
  // The trainer of a supernet trained inside the search (its state for the checkpoint, a
  // resumed state to restore); null for a fixed checkpoint.
  SupernetTrainer* training() { return epochs_per_generation_ >= 0 ? trainer_.get() : nullptr; }
  // Called on every rank after each epoch Prepare finishes (rank 0 prints it).
  std::function<void(const SupernetEpoch&)> on_epoch;
  // search.supernet_score = "log_likelihood": minus the held-out cross-entropy instead of the
  // accuracy (ranks a weak supernet's subnets better: experiments/supernet_ranking.py).
  bool score_by_log_likelihood = false;

 private:
  SupernetEvaluator(const ChainSpace& space, int finetune_steps, const FaultInjection& fault, int rank, Seconds timeout)
      : SpreadEvaluator(fault, rank, timeout), space_(space), finetune_steps_(finetune_steps), training_timeout_(timeout) {}
  Evaluation EvaluateOne(const Architecture& arch) override;

  const ChainSpace& space_;
  int finetune_steps_;
  Seconds training_timeout_;
  int epochs_per_generation_ = -1;  // -1: a fixed checkpoint, never trained
  SupernetData data_;
  std::unique_ptr<SupernetTrainer> trainer_;
};

}  // namespace hpcnas

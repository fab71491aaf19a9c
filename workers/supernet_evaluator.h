#pragma once
// The "supernet" evaluator (search.evaluator = supernet): each architecture's accuracy with the
// weights it inherits from a supernet trained by `hpcnas supernet` (ProxylessNAS, OFA-style
// one-shot evaluation). Every rank holds the supernet and the data of the checkpoint's
// [supernet] config; an architecture, on whichever rank the protocol gives it to, is cut out of
// the supernet, optionally fine-tuned (search.finetune_steps, batches keyed by its hash), its
// BatchNorm recalibrated on the first recalibration_images train images, and evaluated on the
// held-out split: the same accuracy on any rank and any number of ranks (at a fixed thread
// count per rank).

#include <torch/torch.h>

#include <memory>

#include "engine/space/chain_spaces.h"
#include "io/supernet_files.h"
#include "workers/spread_evaluator.h"
#include "workers/supernet_trainer.h"

namespace hpcnas {

class SupernetEvaluator : public SpreadEvaluator {
 public:
  // Errors: a checkpoint of another space or whose weights do not fit, unreadable data.
  static StatusOr<std::unique_ptr<SupernetEvaluator>> Make(const ChainSpace& space, const SupernetCheckpoint& checkpoint,
                                                           int finetune_steps, torch::Device device, const FaultInjection& fault,
                                                           int rank, Seconds timeout);

 private:
  SupernetEvaluator(const ChainSpace& space, int finetune_steps, const FaultInjection& fault, int rank, Seconds timeout)
      : SpreadEvaluator(fault, rank, timeout), space_(space), finetune_steps_(finetune_steps) {}
  Evaluation EvaluateOne(const Architecture& arch) override;

  const ChainSpace& space_;
  int finetune_steps_;
  SupernetData data_;
  std::unique_ptr<SupernetTrainer> trainer_;
};

}  // namespace hpcnas

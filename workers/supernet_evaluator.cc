#include "workers/supernet_evaluator.h"

#include <stdexcept>

namespace hpcnas {

StatusOr<std::unique_ptr<SupernetEvaluator>> SupernetEvaluator::Make(const ChainSpace& space, const SupernetCheckpoint& checkpoint,
                                                                     int finetune_steps, torch::Device device,
                                                                     const FaultInjection& fault, int rank, Seconds timeout) {
  if (checkpoint.space != space.name()) {
    return Status::InvalidInput("the supernet checkpoint is of space " + checkpoint.space + ", the search's is " +
                                std::string(space.name()));
  }
  HPCNAS_ASSIGN_OR_RETURN(const Config config, ConfigFromToml(checkpoint.config_toml, "the supernet checkpoint's /config"));
  std::unique_ptr<SupernetEvaluator> evaluator(new SupernetEvaluator(space, finetune_steps, fault, rank, timeout));
  HPCNAS_ASSIGN_OR_RETURN(evaluator->data_, LoadSupernetData(config.supernet));
  HPCNAS_ASSIGN_OR_RETURN(evaluator->trainer_, SupernetTrainer::Make(space, config.supernet, device));
  HPCNAS_RETURN_IF_ERROR(evaluator->trainer_->Import(checkpoint.state).WithContext("the supernet checkpoint's weights"));
  return evaluator;
}

Evaluation SupernetEvaluator::EvaluateOne(const Architecture& arch) {
  StatusOr<SubnetEvaluation> result = trainer_->EvaluateSubnet(data_, arch, finetune_steps_, space_.CanonicalHash(arch));
  if (!result.ok()) throw std::runtime_error("evaluating " + space_.Format(arch) + ": " + result.status().message());
  return {result->valid_accuracy, ""};
}

}  // namespace hpcnas

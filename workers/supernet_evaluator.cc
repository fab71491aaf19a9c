#include "workers/supernet_evaluator.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace hpcnas {

StatusOr<std::unique_ptr<SupernetEvaluator>> SupernetEvaluator::Make(const ChainSpace& space, const SupernetCheckpoint& checkpoint,
                                                                     SupernetData data, int finetune_steps, torch::Device device,
                                                                     const FaultInjection& fault, int rank, Seconds timeout) {
  if (checkpoint.space != space.name()) {
    return Status::InvalidInput("the supernet checkpoint is of space " + checkpoint.space + ", the search's is " +
                                std::string(space.name()));
  }
  HPCNAS_ASSIGN_OR_RETURN(const Config config, ConfigFromToml(checkpoint.config_toml, "the supernet checkpoint's /config"));
  HPCNAS_ASSIGN_OR_RETURN(std::unique_ptr<SupernetEvaluator> evaluator,
                          MakeTrained(space, config.supernet, std::move(data), 0, nullptr, finetune_steps, device, fault, rank, timeout));
  evaluator->epochs_per_generation_ = -1;
  HPCNAS_RETURN_IF_ERROR(evaluator->trainer_->Import(checkpoint.state).WithContext("the supernet checkpoint's weights"));
  return evaluator;
}

StatusOr<std::unique_ptr<SupernetEvaluator>> SupernetEvaluator::MakeTrained(const ChainSpace& space, const SupernetConfig& config,
                                                                            SupernetData data, int epochs_per_generation, const LatencyTable* latency,
                                                                            int finetune_steps, torch::Device device,
                                                                            const FaultInjection& fault, int rank, Seconds timeout) {
  std::unique_ptr<SupernetEvaluator> evaluator(new SupernetEvaluator(space, finetune_steps, fault, rank, timeout));
  evaluator->epochs_per_generation_ = epochs_per_generation;
  evaluator->data_ = std::move(data);
  HPCNAS_ASSIGN_OR_RETURN(evaluator->trainer_, SupernetTrainer::Make(space, config, device, latency));
  return evaluator;
}

StatusOr<bool> SupernetEvaluator::Prepare(Communicator& comm, std::int32_t generation, const std::function<bool()>& stop_requested) {
  SupernetTrainer* trainer = training();
  if (trainer == nullptr) return true;
  const std::int64_t target = std::min<std::int64_t>(
      trainer->total_epochs(), trainer->config().warmup_epochs + std::int64_t{generation} * epochs_per_generation_);
  while (trainer->state().epochs_done < target) {
    const auto start = std::chrono::steady_clock::now();
    HPCNAS_ASSIGN_OR_RETURN(const bool ended, trainer->RunEpoch(comm, data_, training_timeout_, stop_requested, nullptr));
    if (!ended) return false;
    // The search's supernet never looks at a benchmark table: the table is for reporting.
    const SupernetEpoch& row =
        trainer->FinishEpoch(data_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), nullptr);
    if (on_epoch) on_epoch(row);
  }
  return true;
}

Evaluation SupernetEvaluator::EvaluateOne(const Architecture& arch) {
  StatusOr<SubnetEvaluation> result = trainer_->EvaluateSubnet(data_, arch, finetune_steps_, space_.CanonicalHash(arch));
  if (!result.ok()) throw std::runtime_error("evaluating " + space_.Format(arch) + ": " + result.status().message());
  return {score_by_log_likelihood ? -result->valid_loss : result->valid_accuracy, ""};
}

}  // namespace hpcnas

#include "io/dataset_descriptions.h"

#include <map>
#include <string_view>

namespace hpcnas {
namespace {

using Table = std::map<std::string_view, DatasetDescription>;

// Keyed by the path without its leading '/'; a split of an image pack (train, val, ...) is
// looked up as "SPLIT/name".
const Table& Descriptions() {
  static const Table table = {
      // score.h5 (hpcnas score)
      {"arch", {"", "architecture (genotype string)"}},
      {"index", {"1", "row of the architecture in the space's truth table"}},
      {"canonical_arch", {"", "canonical form of the architecture: equal strings compute the same function"}},
      {"cell_function", {"", "the function the architecture computes (equal for equivalent cells)"}},
      {"epsilon", {"1", "epsilon zero-cost score (float32 path; NaN for constant or underflowed outputs)"}},
      {"epsilon_exact", {"1", "epsilon score as computed, before the NaN policy"}},
      {"epsilon_rank_key", {"1", "epsilon with NaN replaced by the rank key (nan_offset below the finite scores)"}},
      {"seconds", {"s", "wall time spent scoring the architecture"}},
      {"accuracy", {"%", "test accuracy from the truth table (the file's `column` attribute)"}},
      // search.h5 and search checkpoints
      {"queries/choices", {"1", "architecture as its choice per position, [query, position]"}},
      {"queries/arch", {"", "architecture of the query (genotype string)"}},
      {"queries/accuracy", {"%", "accuracy the query returned (NaN: the evaluation failed)"}},
      {"queries/failure", {"", "why the evaluation gave no accuracy; empty when it did"}},
      {"queries/generation", {"1", "generation (0-based) that made the query"}},
      {"generations/generation", {"1", "generation index (0-based)"}},
      {"generations/queries", {"1", "queries used so far"}},
      {"generations/best_accuracy", {"%", "best accuracy found so far"}},
      {"generations/best_query", {"1", "query (1-based) that found the best accuracy"}},
      {"generations/candidates", {"1", "architectures proposed in the generation"}},
      {"generations/newly_scored", {"1", "of them, architectures scored by epsilon for the first time"}},
      {"generations/population_epsilon_mean", {"1", "mean finite float32 epsilon over the population"}},
      {"generations/population_epsilon_median", {"1", "median finite float32 epsilon over the population"}},
      {"generations/population_epsilon_nan_share", {"1", "share of the population whose float32 epsilon is NaN"}},
      {"generations/predictor_tau_population", {"1", "Kendall tau, predictions vs accuracy over the population"}},
      {"generations/predictor_tau_evaluated", {"1", "Kendall tau over the generation's evaluated architectures, before their labels"}},
      {"generations/failed_evaluations", {"1", "evaluations of the generation that gave no accuracy"}},
      {"generations/population_mflops_mean", {"MFLOPs", "mean FLOPs (millions of multiply-accumulates) over the population"}},
      {"generations/population_mflops_max", {"MFLOPs", "largest FLOPs in the population"}},
      {"generations/population_latency_ms_mean", {"ms", "mean predicted latency over the population (search.latency_table)"}},
      {"generations/population_latency_ms_max", {"ms", "largest predicted latency in the population"}},
      {"generations/seconds_evaluator_training", {"s", "wall time training the evaluator's supernet before the generation (search.supernet = train)"}},
      {"generations/seconds_propose", {"s", "wall time proposing candidates"}},
      {"generations/seconds_score", {"s", "wall time scoring with epsilon"}},
      {"generations/seconds_predictor", {"s", "wall time training and running the predictor"}},
      {"generations/seconds_evaluate", {"s", "wall time evaluating the queries"}},
      {"generations/seconds_checkpoint", {"s", "wall time writing the previous generation's checkpoint"}},
      {"generations/seconds_total", {"s", "wall time of the generation"}},
      {"population", {"1", "the population after the generation, [member, position] choices"}},
      {"population_arch", {"", "the population's architectures (genotype strings)"}},
      {"epsilon/choices", {"1", "every architecture scored so far, [architecture, position] choices"}},
      {"epsilon/arch", {"", "every architecture scored so far (genotype strings)"}},
      {"epsilon/epsilon", {"1", "its float32 epsilon score (NaN kept)"}},
      {"epsilon/epsilon_exact", {"1", "its epsilon score in float64"}},
      {"predictor/parameter_names", {"", "names of the predictor's parameter tensors, in order"}},
      {"predictor/adam_first_moment", {"1", "Adam first moment of every predictor parameter, flattened in order"}},
      {"predictor/adam_second_moment", {"1", "Adam second moment of every predictor parameter, flattened in order"}},
      // predictor files (hpcnas train-predictor)
      {"model/parameter_names", {"", "names of the predictor's parameter tensors, in order"}},
      {"optimizer/first_moment", {"1", "Adam first moment of every parameter, flattened in order"}},
      {"optimizer/second_moment", {"1", "Adam second moment of every parameter, flattened in order"}},
      {"training/code", {"1", "index in the space of each training architecture"}},
      {"training/arch", {"", "each training architecture (genotype string)"}},
      {"training/accuracy", {"%", "accuracy each training architecture was trained towards"}},
      // supernet.h5 and supernet checkpoints
      {"candidate_names", {"", "candidate operation of each alpha column, per block ('block/op')"}},
      {"epochs/epoch", {"1", "epoch (1-based)"}},
      {"epochs/warmup", {"1", "1 for a warm-up epoch (weights only), 0 for a search epoch"}},
      {"epochs/derived", {"", "architecture derived at the end of the epoch (argmax per block)"}},
      {"epochs/train_loss", {"1", "mean cross-entropy of the weight steps (label smoothing 0.1)"}},
      {"epochs/train_accuracy", {"%", "accuracy of the weight steps' batches"}},
      {"epochs/arch_loss", {"1", "mean loss of the architecture steps, cost term included"}},
      {"epochs/arch_accuracy", {"%", "accuracy of the architecture steps' held-out batches"}},
      {"epochs/expected_mflops", {"MFLOPs", "expected FLOPs of the supernet under p = softmax(alpha)"}},
      {"epochs/expected_latency_ms", {"ms", "expected latency under p from the latency table (NaN without one)"}},
      {"epochs/derived_mflops", {"MFLOPs", "FLOPs of the derived architecture"}},
      {"epochs/derived_latency_ms", {"ms", "latency of the derived architecture from the table (NaN without one)"}},
      {"epochs/derived_valid_accuracy", {"%", "held-out accuracy of the derived subnet, BatchNorm recalibrated"}},
      {"epochs/benchmark_accuracy", {"%", "the derived architecture's accuracy in the space's benchmark (NaN without one)"}},
      {"epochs/seconds", {"s", "wall time of the epoch"}},
      {"epochs/images_per_second", {"images/s", "training images per second over all ranks"}},
      {"epochs/probabilities", {"1", "p = softmax(alpha) per candidate at the end of each epoch, [epoch, candidate]"}},
      {"epochs/entropy", {"nat", "entropy of each block's p, [epoch, block]"}},
      {"counters", {"1", "epochs done, step in the epoch, weight steps, architecture steps"}},
      {"epoch_sums", {"1", "running sums of the epoch in progress (losses, accuracies, counts)"}},
      {"architecture/candidates", {"1", "number of candidates of each block"}},
      {"architecture/alpha", {"1", "architecture parameters alpha, flattened block by block"}},
      {"architecture/adam_first", {"1", "Adam first moment of alpha"}},
      {"architecture/adam_second", {"1", "Adam second moment of alpha"}},
      {"architecture/adam_steps", {"1", "Adam steps taken by each block's alpha"}},
      {"weights/parameter_names", {"", "names of the supernet's parameter and buffer tensors, in order"}},
      {"momentum/parameter_names", {"", "names of the SGD momentum buffers, in order"}},
      // latency tables (hpcnas latency)
      {"entries/key", {"", "block key: op, input shape, stride, identity shortcut"}},
      {"entries/count", {"1", "timed runs of the entry"}},
      {"entries/mean_ms", {"ms", "mean latency of the entry"}},
      {"entries/variance_ms2", {"ms^2", "variance of the entry's latency"}},
      {"validation/arch", {"", "random whole network measured to check the table"}},
      {"validation/sum_of_blocks_ms", {"ms", "the table's prediction: sum of the network's entries"}},
      {"validation/predicted_ms", {"ms", "the calibrated prediction"}},
      {"validation/measured_ms", {"ms", "measured end-to-end latency of the network"}},
      // image packs (hpcnas data pack): index.h5
      {"classes", {"", "class names (WordNet ids), in label order"}},
      {"SPLIT/shard_file", {"", "file name of each shard of the split"}},
      {"SPLIT/shard_bytes", {"bytes", "size of each shard"}},
      {"SPLIT/shard_crc32", {"1", "CRC-32 of each shard"}},
      {"SPLIT/key", {"", "key of each image (its file name without extension)"}},
      {"SPLIT/shard", {"1", "shard that holds each image"}},
      {"SPLIT/offset", {"bytes", "offset of each image's JPEG data in its shard"}},
      {"SPLIT/size", {"bytes", "size of each image's JPEG data"}},
      {"SPLIT/label", {"1", "class label of each image (row of /classes)"}},
      {"SPLIT/id", {"1", "index of each image in the sorted source folder"}},
      {"SPLIT/crc32", {"1", "CRC-32 of each image's JPEG data"}},
  };
  return table;
}

const DatasetDescription kParameterTensor = {"1", "a parameter (or buffer) tensor of the model, named by its path"};

}  // namespace

const DatasetDescription* DescribeDataset(const std::string& path) {
  std::string_view key(path);
  if (!key.empty() && key.front() == '/') key.remove_prefix(1);
  // Model tensors: ".../parameters/NAME" in predictors, supernet weights and momentum buffers.
  if (key.find("parameters/") != std::string_view::npos) return &kParameterTensor;
  const Table& table = Descriptions();
  if (auto found = table.find(key); found != table.end()) return &found->second;
  // An image pack's split group: "train/offset" is "SPLIT/offset".
  if (const auto slash = key.find('/'); slash != std::string_view::npos) {
    const std::string split_key = "SPLIT" + std::string(key.substr(slash));
    if (auto found = table.find(split_key); found != table.end()) return &found->second;
  }
  return nullptr;
}

}  // namespace hpcnas

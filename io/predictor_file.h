#pragma once
// A trained predictor on disk (HDF5): weights, Adam state, target standardisation, the full
// config text and what it was trained on. Free of LibTorch: parameters are named float arrays;
// workers/predictor_worker.h turns them into a network and back. Layout: io/README.md.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/status.h"
#include "io/provenance.h"

namespace hpcnas {
namespace h5 {
class File;  // io/hdf5_file.h; declared here so that this header does not bring in <hdf5.h>
}  // namespace h5

inline constexpr int64_t kPredictorFileSchemaVersion = 1;
inline constexpr const char* kPredictorFileKind = "hpcnas.predictor.tnasp";

struct NamedArray {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct PredictorFile {
  std::string space = "nb201";
  std::string config_toml;                // the whole Config, as ToToml writes it
  std::vector<NamedArray> parameters;     // in the network's parameter order
  std::vector<float> adam_first_moment;   // flat, parameter order
  std::vector<float> adam_second_moment;
  int64_t adam_step = 0;
  double target_mean = 0, target_std = 1;  // predictions are standardised accuracies
  std::vector<int64_t> train_codes;        // NB201 codes of the labelled architectures
  std::vector<double> train_accuracy;
  double kendall_tau = 0;                  // over the evaluated architectures (NaN if none)
  int64_t num_evaluated = 0;
  double train_wall_seconds = 0;     // training, on the ranks that trained it
  double evaluate_wall_seconds = 0;  // predicting the evaluated architectures (sharded)
  int64_t world_size = 1;            // ranks that trained it
  std::vector<std::string> train_archs;    // the genotype of each code (written beside them, not read back)
  Provenance provenance;                   // written, not read back
};

// Named arrays under `group`: GROUP/parameter_names (in order) and GROUP/parameters/NAME, each
// with its shape. The predictor file and the search checkpoint store weights this way.
Status WriteNamedArrays(h5::File& file, const std::string& group, const std::vector<NamedArray>& arrays);
StatusOr<std::vector<NamedArray>> ReadNamedArrays(const h5::File& file, const std::string& group);

// Atomic: the file appears complete or not at all.
Status WritePredictorFile(const std::string& path, const PredictorFile& predictor);
// Checks the kind, schema version and space (`expected_space`; empty: any) and that every array
// is whole.
StatusOr<PredictorFile> ReadPredictorFile(const std::string& path, const std::string& expected_space);

}  // namespace hpcnas

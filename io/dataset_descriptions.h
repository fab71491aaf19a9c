#pragma once
// What every dataset hpcnas writes holds: its units and a one-line description, attached as the
// attributes `units` and `description` by h5::File::Write (io/README.md lists the layouts). One
// table for every file kind, keyed by the dataset's path.

#include <string>

namespace hpcnas {

struct DatasetDescription {
  const char* units;  // "1" for dimensionless numbers, "" for text
  const char* description;
};

// The description of the dataset at `path` ("/queries/accuracy", "/predictor/parameters/x"),
// or nullptr when the table has none (a test reads every file kind and fails on a gap).
const DatasetDescription* DescribeDataset(const std::string& path);

}  // namespace hpcnas

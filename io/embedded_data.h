#pragma once
// The default data set compiled into the executable (origins in data/README.md).

#include <string_view>

namespace hpcnas::embedded {

// 256 CIFAR-10 training images in CIFAR binary format: the epsinas reference batch.
std::string_view CifarEpsilonBatch();
// The NAS-Bench-201 ground-truth table (all 15,625 cells), CSV with a header row.
std::string_view Nb201Table();
// The NAS-Bench-Macro table (all 6,561 keys, 3,969 distinct networks), CSV with a header row.
std::string_view MacroTable();

inline constexpr std::string_view kName = "embedded";

}  // namespace hpcnas::embedded

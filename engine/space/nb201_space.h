#pragma once
// NAS-Bench-201 behind the SearchSpace interface: the bytes are the 6 edge operations in
// genotype-string order (engine/space/nb201.h), so the enumeration index is the cell code and the
// hash is nb201::Genotype::CanonicalHash (unchanged, so NB201 searches keep their streams).

#include <memory>

#include "engine/space/nb201.h"
#include "engine/space/search_space.h"

namespace hpcnas {

std::unique_ptr<SearchSpace> MakeNb201Space();

nb201::Genotype ToNb201(const Architecture& arch);  // precondition: a valid nb201 architecture
Architecture FromNb201(const nb201::Genotype& genotype);

}  // namespace hpcnas

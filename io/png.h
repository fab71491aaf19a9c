#pragma once
// A PNG writer for the plots the engine draws itself (the supernet's alpha heat-map), so a run
// leaves its picture without Python: 8-bit RGB, one zlib stream, written atomically.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace hpcnas {

// `rgb` holds height rows of width x 3 bytes.
Status WritePng(const std::string& path, int width, int height, const std::vector<std::uint8_t>& rgb);

// A colour for v in [0, 1] on a dark-blue to yellow scale (close to viridis); NaN is grey.
void HeatColour(double v, std::uint8_t* rgb);

}  // namespace hpcnas

#include "io/embedded_data.h"

extern "C" {
extern const char hpcnas_embedded_cifar_begin[];
extern const char hpcnas_embedded_cifar_end[];
extern const char hpcnas_embedded_nb201_begin[];
extern const char hpcnas_embedded_nb201_end[];
extern const char hpcnas_embedded_macro_begin[];
extern const char hpcnas_embedded_macro_end[];
}

namespace hpcnas::embedded {

std::string_view CifarEpsilonBatch() {
  return {hpcnas_embedded_cifar_begin, static_cast<std::size_t>(hpcnas_embedded_cifar_end - hpcnas_embedded_cifar_begin)};
}

std::string_view Nb201Table() {
  return {hpcnas_embedded_nb201_begin, static_cast<std::size_t>(hpcnas_embedded_nb201_end - hpcnas_embedded_nb201_begin)};
}

std::string_view MacroTable() {
  return {hpcnas_embedded_macro_begin, static_cast<std::size_t>(hpcnas_embedded_macro_end - hpcnas_embedded_macro_begin)};
}

}  // namespace hpcnas::embedded

#include "app/inspect_command.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <torch/torch.h>

#include "app/command_support.h"
#include "engine/nn/nb201_network.h"
#include "engine/space/chain_spaces.h"
#include "engine/space/nb201_space.h"
#include "io/hdf5_file.h"
#include "io/search_files.h"

namespace hpcnas {
namespace {

std::string WithThousands(std::int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (v < 0 ? "-" : "") + out;
}

void PrintRow(const std::string& layer, const std::string& op, const std::string& channels, const std::string& size,
              std::int64_t params, std::int64_t flops) {
  std::printf("  %-12s %-20s %-12s %-10s %12s %14s\n", layer.c_str(), op.c_str(), channels.c_str(), size.c_str(),
              WithThousands(params).c_str(), WithThousands(flops).c_str());
}

// NAS-Bench-201 (DESIGN section 4.1, C = 16, N = 5, 32 x 32, 10 classes): parameters counted on the
// LibTorch network, multiply-accumulates of every conv and the classifier, per stage.
int InspectNb201(const Architecture& arch) {
  const nb201::Genotype g = ToNb201(arch);
  Nb201Network network{Nb201NetworkOptions(g)};
  std::int64_t params = 0;
  for (const auto& p : network->parameters()) params += p.numel();
  struct Row {
    std::string layer, op, channels, size;
    std::int64_t params, flops;
  };
  std::vector<Row> rows = {{"stem", "conv3x3", "3->16", "32", 3 * 16 * 9 + 32, 3 * 16 * 9 * 32 * 32}};
  const std::int64_t width[3] = {16, 32, 64}, size[3] = {32, 16, 8};
  for (int s = 0; s < 3; ++s) {
    if (s > 0) {
      const std::int64_t in = width[s - 1], out = width[s], weights = in * out * 9 + out * out * 9 + in * out;
      rows.push_back({"reduction", "residual block", std::to_string(in) + "->" + std::to_string(out),
                      std::to_string(size[s - 1]) + "->" + std::to_string(size[s]), weights + 4 * out,
                      weights * size[s] * size[s]});
    }
    std::int64_t cell_params = 0, cell_flops = 0;
    for (nb201::Op op : g.ops) {
      const std::int64_t k = op == nb201::Op::kConv3x3 ? 3 : op == nb201::Op::kConv1x1 ? 1 : 0;
      if (k == 0) continue;
      cell_params += k * k * width[s] * width[s] + 2 * width[s];
      cell_flops += k * k * width[s] * width[s] * size[s] * size[s];
    }
    rows.push_back({"stage " + std::to_string(s + 1), "5 cells", std::to_string(width[s]), std::to_string(size[s]),
                    5 * cell_params, 5 * cell_flops});
  }
  rows.push_back({"head", "BN, pool, linear", "64->10", "8->1", 2 * 64 + 64 * 10 + 10, 64 * 10});
  std::int64_t flops = 0;
  for (const Row& r : rows) flops += r.flops;
  std::printf("network: NAS-Bench-201 cell network, C = 16, N = 5, input 32 x 32, 10 classes\n");
  std::printf("params: %lld\nflops: %lld\n", static_cast<long long>(params), static_cast<long long>(flops));
  std::printf("  %-12s %-20s %-12s %-10s %12s %14s\n", "layer", "operation", "channels", "size", "params", "flops");
  for (const Row& r : rows) PrintRow(r.layer, r.op, r.channels, r.size, r.params, r.flops);
  return 0;
}

int InspectChain(const ChainSpace& space, const Architecture& arch, const InspectRequest& request) {
  ChainNetworkOptions options;
  options.resolution = request.resolution;
  options.width_multiplier = request.width_multiplier;
  options.num_classes = request.num_classes;
  StatusOr<NetworkPlan> plan = space.Plan(arch, options);
  if (!plan.ok()) {
    LogError(plan.status().message());
    return 2;
  }
  std::printf("network: input %lld x %lld, width multiplier %g, %lld classes\n", static_cast<long long>(plan->resolution),
              static_cast<long long>(plan->resolution), request.width_multiplier,
              static_cast<long long>(plan->classifier_out));
  std::printf("params: %lld\n", static_cast<long long>(plan->Params()));
  std::printf("flops: %lld\n", static_cast<long long>(plan->Flops()));
  std::printf("  %-12s %-20s %-12s %-10s %12s %14s\n", "layer", "operation", "channels", "size", "params", "flops");
  for (const BlockPlan& b : plan->blocks) {
    PrintRow(b.label, b.op + (b.residual ? " +x" : ""), std::to_string(b.in_channels) + "->" + std::to_string(b.out_channels),
             std::to_string(b.in_size) + "->" + std::to_string(b.out_size), b.Params(), b.Flops());
  }
  PrintRow("classifier", "pool, linear", std::to_string(plan->classifier_in) + "->" + std::to_string(plan->classifier_out),
           "", plan->ClassifierParams(), plan->ClassifierFlops());
  return 0;
}

int InspectArchitecture(const InspectRequest& request) {
  auto space = MakeSearchSpace(request.space);
  if (!space.ok()) {
    LogError(space.status().message());
    return 2;
  }
  auto arch = (*space)->Parse(request.arch);
  if (!arch.ok()) {
    LogError(arch.status().message());
    return 2;
  }
  const SearchSpace& s = **space;
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(s.CanonicalHash(*arch)));
  std::printf("space: %s\n", std::string(s.name()).c_str());
  std::printf("arch: %s\n", s.Format(*arch).c_str());
  std::printf("canonical: %s\n", s.Format(s.Canonical(*arch)).c_str());
  std::printf("hash: %s\n", hash);
  if (const auto* chain = dynamic_cast<const ChainSpace*>(&s)) return InspectChain(*chain, *arch, request);
  return InspectNb201(*arch);
}

// An hpcnas HDF5 file: kind, schema, space, the best architecture, datasets, config.
int InspectFile(const std::string& path) {
  auto file = h5::File::OpenReadOnly(path);
  if (!file.ok()) {
    LogError(file.status().message());
    return 2;
  }
  auto kind = file->ReadStringAttribute("/", "kind");
  if (!kind.ok()) {
    LogError("'" + path + "' is an HDF5 file but not one of hpcnas (it has no 'kind' attribute)");
    return 2;
  }
  std::printf("file: %s\nkind: %s\n", path.c_str(), kind->c_str());
  if (auto schema = file->ReadInt64Attribute("/", "schema_version"); schema.ok()) {
    std::printf("schema: %lld\n", static_cast<long long>(*schema));
  }
  for (const char* name : {"space", "created_utc", "hpcnas_version", "command_line", "best_arch", "best_accuracy"}) {
    if (auto text = file->ReadStringAttribute("/", name); text.ok()) {
      std::printf("%s: %s\n", name, text->c_str());
    } else if (auto number = file->ReadDoubleAttribute("/", name); number.ok()) {
      std::printf("%s: %.10g\n", name, *number);
    }
  }
  if (*kind == "hpcnas.scores") {
    auto archs = file->ReadStrings("/arch");
    auto epsilon = file->ReadDoubles("/epsilon");
    auto accuracy = file->ReadDoubles("/accuracy");
    if (archs.ok() && epsilon.ok() && !archs->empty()) {
      std::size_t best = archs->size();
      for (std::size_t i = 0; i < archs->size(); ++i) {
        if (!std::isnan((*epsilon)[i]) && (best == archs->size() || (*epsilon)[i] > (*epsilon)[best])) best = i;
      }
      if (best < archs->size()) std::printf("best epsilon: %s (%.6g)\n", (*archs)[best].c_str(), (*epsilon)[best]);
      if (accuracy.ok()) {
        const auto top = std::max_element(accuracy->begin(), accuracy->end()) - accuracy->begin();
        std::printf("best accuracy: %s (%.4f)\n", (*archs)[top].c_str(), (*accuracy)[top]);
      }
    }
  }
  if (*kind == kSearchCheckpointKind) {
    auto checkpoint = ReadSearchCheckpoint(path);
    if (!checkpoint.ok()) {
      LogError(checkpoint.status().message());
      return 2;
    }
    const auto& queries = checkpoint->state.queries;
    std::printf("generations done: %d\nqueries: %zu\n", checkpoint->state.next_generation, queries.size());
    const auto best = std::max_element(queries.begin(), queries.end(),
                                       [](const Query& a, const Query& b) { return a.accuracy < b.accuracy; });
    if (best != queries.end()) {
      std::printf("best: %s (%.4f)\n", (*MakeSearchSpace(checkpoint->space))->Format(best->arch).c_str(), best->accuracy);
    }
  }
  if (auto names = file->DatasetNames(); names.ok()) {
    std::printf("datasets:\n");
    for (const std::string& name : *names) {
      std::string shape;
      if (auto dims = file->Shape(name); dims.ok()) {
        for (hsize_t d : *dims) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
      }
      std::printf("  %-40s [%s]\n", name.c_str(), shape.c_str());
    }
  }
  if (auto config = file->ReadStringAttribute("/", "config"); config.ok()) std::printf("config:\n%s\n", config->c_str());
  return 0;
}

int InspectSearchDirectory(const std::string& dir) {
  const std::vector<std::string> checkpoints = ListCheckpoints(dir);
  const std::string results = dir + "/search.h5";
  struct stat info {};
  const bool has_results = stat(results.c_str(), &info) == 0;
  if (checkpoints.empty() && !has_results) {
    LogError("directory '" + dir + "' is not an hpcnas search directory (no search.h5, no checkpoints/)");
    return 2;
  }
  std::printf("search directory: %s\ncheckpoints (newest first): %zu\n", dir.c_str(), checkpoints.size());
  for (const std::string& path : checkpoints) std::printf("  %s\n", path.c_str());
  return has_results ? InspectFile(results) : InspectFile(checkpoints.front());
}

}  // namespace

int RunInspectCommand(const InspectRequest& request) {
  try {
    if (!request.arch.empty()) return InspectArchitecture(request);
    struct stat info {};
    if (stat(request.path.c_str(), &info) != 0) {
      LogError("cannot inspect '" + request.path + "': no such file or directory");
      return 2;
    }
    return S_ISDIR(info.st_mode) ? InspectSearchDirectory(request.path) : InspectFile(request.path);
  } catch (const std::exception& e) {
    LogError(std::string("inspect failed: ") + e.what());
    return 3;
  }
}

}  // namespace hpcnas
